"""An area's vector tiles as one MBTiles file (SQLite, MBTiles 1.3) for phones, QGIS and GDAL.

Tiles come from tiles.area_tiles.render (gzip-compressed as the spec asks) and are stored with
their TMS row; the metadata carries the vector_layers JSON that GDAL's MBTiles/MVT drivers and
map apps read.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psycopg

from gis.scope import Principal
from tiles.area_tiles import Area, describe, render, vector_layers


def _metadata(area: Area, zmin: int, zmax: int) -> dict[str, str]:
    w, s, e, n = area.bounds
    return {
        **describe(area, zmin, zmax),
        "format": "pbf", "type": "overlay", "version": "1",
        "minzoom": str(zmin), "maxzoom": str(zmax),
        "bounds": ",".join(f"{v:.7f}" for v in area.bounds),
        "center": f"{(w + e) / 2:.7f},{(s + n) / 2:.7f},{zmin}",
        "json": json.dumps({"vector_layers": vector_layers(zmin, zmax)}),
    }


def write(conn: psycopg.Connection, path: Path, area: Area, zmin: int, zmax: int,
          principal: Principal | None = None, max_tiles: int = 0,
          max_bytes: int = 0) -> tuple[int, int]:
    """Render the area's tiles into a new MBTiles file; returns (tiles stored, bytes stored).
    A limit of 0 means none; nothing is left behind when a limit stops the render."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    stored = size = 0
    try:
        db.executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);")
        db.executemany("INSERT INTO metadata VALUES (?, ?)",
                       _metadata(area, zmin, zmax).items())
        for z, x, y, blob in render(conn, area, zmin, zmax, principal, max_tiles, max_bytes):
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, blob))
            stored += 1
            size += len(blob)
        db.commit()
    except BaseException:
        db.close()
        path.unlink(missing_ok=True)
        raise
    db.close()
    return stored, size
