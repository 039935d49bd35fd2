"""Offline basemap: OSM roads, railways, water, parks and landuse, buildings and place labels.

Stored in EPSG:3857 (tiles are their only use), each row with the lowest zoom that draws it
(generalization by zoom is decided at import). basemap_loads numbers each load; the newest id is
the basemap's version in tile ETags.

Revision ID: 0009_basemap
Revises: 0008_api_keys
Create Date: 2026-11-30
"""

from alembic import op

revision = "0009_basemap"
down_revision = "0008_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE basemap (
        id bigserial PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('landuse', 'park', 'water', 'building', 'railway',
                                           'road', 'place')),
        class text,
        name text,
        minzoom smallint NOT NULL CHECK (minzoom BETWEEN 0 AND 22),
        geom geometry(Geometry, 3857) NOT NULL
    );
    CREATE INDEX basemap_geom_gist ON basemap USING gist (geom);
    CREATE TABLE basemap_loads (
        id serial PRIMARY KEY,
        loaded_at timestamptz NOT NULL DEFAULT now(),
        source text NOT NULL,
        features integer NOT NULL
    );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE basemap_loads; DROP TABLE basemap;")
