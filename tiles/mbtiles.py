"""An area's vector tiles as one MBTiles file (SQLite, MBTiles 1.3) for phones and QGIS.

The area (a street, community, grid or micro-grid, by code) gives the bounding box; every tile of
the requested zooms that touches it is rendered with the same SQL as the tile endpoint (the
combined `all` tile, in the caller's scope when there is one), gzip-compressed as the spec asks
and stored with its TMS row. Empty tiles are left out. The metadata carries the vector_layers
JSON that GDAL's MBTiles/MVT drivers and map apps read. Limits (tile count, bytes) are checked
before and during the render, so an oversized request stops early with `TooLarge`.
"""

from __future__ import annotations

import gzip
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from gis.levels import LEVEL_ORDER
from gis.scope import Principal, scope_filter
from tiles.layers import LAYERS, layers_at, tile_params, tile_sql

TABLES = {"street": "streets", "community": "communities", "grid": "grids",
          "micro_grid": "micro_grids"}


class TooLarge(ValueError):
    """The export would pass a limit."""


class UnknownArea(LookupError):
    """No current area with that code (within the caller's scope)."""


@dataclass(frozen=True)
class Area:
    code: str
    name: str | None
    level: str
    bounds: tuple[float, float, float, float]  # lon/lat


def parse_zoom(text: str) -> tuple[int, int]:
    """'12-18' or '14' -> (min, max), within 0..22."""
    lo, _, hi = text.partition("-")
    try:
        zmin, zmax = int(lo), int(hi or lo)
    except ValueError:
        raise ValueError(f"zoom must look like 12-18, got {text!r}") from None
    if not 0 <= zmin <= zmax <= 22:
        raise ValueError(f"zoom range {text!r} must lie within 0-22, low to high")
    return zmin, zmax


def find_area(conn: psycopg.Connection, code: str, principal: Principal | None = None) -> Area:
    """The current area with `code` at any level, if the caller may see it."""
    for level in LEVEL_ORDER:
        table = TABLES[level]
        where, params = scope_filter(table, "t", principal)
        row = conn.execute(
            f"SELECT t.name, ST_XMin(t.geom), ST_YMin(t.geom), ST_XMax(t.geom), ST_YMax(t.geom) "
            f"FROM {table} t WHERE t.code = %(code)s AND t.valid_to IS NULL AND {where}",
            {**params, "code": code}).fetchone()
        if row:
            return Area(code, row[0], level, tuple(row[1:]))
    raise UnknownArea(f"no current street, community, grid or micro-grid with code {code!r}"
                      + (" in your areas" if principal is not None and principal.restricted
                         else ""))


def _xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    lat = max(min(lat, 85.0511287798), -85.0511287798)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_in(bounds: tuple[float, float, float, float], zmin: int,
             zmax: int) -> Iterator[tuple[int, int, int]]:
    """(z, x, y) of every XYZ tile touching the lon/lat bounds."""
    w, s, e, n = bounds
    for z in range(zmin, zmax + 1):
        x1, y1 = _xy(w, n, z)
        x2, y2 = _xy(e, s, z)
        for x in range(x1, x2 + 1):
            for y in range(y1, y2 + 1):
                yield z, x, y


def count_tiles(bounds: tuple[float, float, float, float], zmin: int, zmax: int) -> int:
    total = 0
    for z in range(zmin, zmax + 1):
        x1, y1 = _xy(bounds[0], bounds[3], z)
        x2, y2 = _xy(bounds[2], bounds[1], z)
        total += (x2 - x1 + 1) * (y2 - y1 + 1)
    return total


def _metadata(area: Area, zmin: int, zmax: int) -> dict[str, str]:
    w, s, e, n = area.bounds
    layers = [{"id": lay.id, "fields": lay.fields, "minzoom": max(lay.minzoom, zmin),
               "maxzoom": zmax} for lay in LAYERS.values() if lay.minzoom <= zmax]
    return {
        "name": f"Wangge {area.code}" + (f" {area.name}" if area.name else ""),
        "format": "pbf", "type": "overlay", "version": "1",
        "description": f"Vector tiles of {area.level} {area.code}, z{zmin}-{zmax}",
        "minzoom": str(zmin), "maxzoom": str(zmax),
        "bounds": ",".join(f"{v:.7f}" for v in area.bounds),
        "center": f"{(w + e) / 2:.7f},{(s + n) / 2:.7f},{zmin}",
        "json": json.dumps({"vector_layers": layers}),
    }


def write(conn: psycopg.Connection, path: Path, area: Area, zmin: int, zmax: int,
          principal: Principal | None = None, max_tiles: int = 0,
          max_bytes: int = 0) -> tuple[int, int]:
    """Render the area's tiles into a new MBTiles file; returns (tiles stored, bytes stored).
    A limit of 0 means none."""
    planned = count_tiles(area.bounds, zmin, zmax)
    if max_tiles and planned > max_tiles:
        raise TooLarge(f"{area.code} at z{zmin}-{zmax} is {planned:,} tiles, over the limit of "
                       f"{max_tiles:,}: ask for fewer zoom levels or a smaller area")
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
        for z, x, y in tiles_in(area.bounds, zmin, zmax):
            drawn = layers_at("all", z)
            if not drawn:
                continue
            sql, params = tile_sql(drawn, principal, z)
            data = conn.execute(sql, {**params, **tile_params(z, x, y)}, binary=True).fetchone()[0]
            if not data:
                continue
            blob = gzip.compress(bytes(data), mtime=0)
            size += len(blob)
            if max_bytes and size > max_bytes:
                raise TooLarge(f"the tiles of {area.code} pass {max_bytes:,} bytes: ask for "
                               "fewer zoom levels or a smaller area")
            db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, blob))
            stored += 1
        db.commit()
    except BaseException:
        db.close()
        path.unlink(missing_ok=True)
        raise
    db.close()
    return stored, size
