"""Vector tiles (MVT) built by PostGIS, TileJSON, and their cache headers."""
