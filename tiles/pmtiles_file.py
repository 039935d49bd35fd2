"""An area's vector tiles as one PMTiles v3 file: a single file that a static web server (or a
phone) serves by HTTP range requests, with no tile server and no SQLite.

Tiles come from tiles.area_tiles.render (gzip-compressed MVT) and are written with the `pmtiles`
package's writer, in tile-id order (clustered); identical tiles are stored once. The metadata
holds the vector_layers that MapLibre and GDAL's PMTiles driver read.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from gis.scope import Principal
from tiles.area_tiles import Area, describe, render, vector_layers


class NothingToDraw(ValueError):
    """No tile over the area has data at those zooms (a PMTiles file needs one)."""


def _e7(value: float) -> int:
    return int(round(value * 10_000_000))


def write(conn: psycopg.Connection, path: Path, area: Area, zmin: int, zmax: int,
          principal: Principal | None = None, max_tiles: int = 0,
          max_bytes: int = 0) -> tuple[int, int]:
    """Render the area's tiles into a new PMTiles file; returns (tiles stored, bytes stored).
    A limit of 0 means none; nothing is left behind when a limit stops the render."""
    tiles = sorted((zxy_to_tileid(z, x, y), blob) for z, x, y, blob in
                   render(conn, area, zmin, zmax, principal, max_tiles, max_bytes))
    if not tiles:
        raise NothingToDraw(f"{area.code} has nothing to draw at z{zmin}-{zmax}: ask for zooms "
                            "where its layers show, e.g. 12-18")
    w, s, e, n = area.bounds
    header = {
        "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
        "min_lon_e7": _e7(w), "min_lat_e7": _e7(s), "max_lon_e7": _e7(e), "max_lat_e7": _e7(n),
        "center_zoom": zmin, "center_lon_e7": _e7((w + e) / 2), "center_lat_e7": _e7((s + n) / 2),
    }
    metadata = {**describe(area, zmin, zmax), "vector_layers": vector_layers(zmin, zmax),
                "attribution": "Wangge"}
    path.unlink(missing_ok=True)
    try:
        with path.open("wb") as out:
            writer = Writer(out)
            for tile_id, blob in tiles:
                writer.write_tile(tile_id, blob)
            writer.finalize(header, metadata)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return len(tiles), sum(len(blob) for _, blob in tiles)
