"""An area's vector tiles for a file export: the area by code, the zoom range, the tiles.

The area (a street, community, grid or micro-grid, by code, in the caller's scope) gives the
bounding box; every tile of the requested zooms that touches it is rendered with the same SQL as
the tile endpoint (the combined `all` tile, in the caller's scope when there is one) and
gzip-compressed. Empty tiles are left out. Limits (tile count, bytes) are checked before and
during the render, so an oversized request stops early with `TooLarge`. The writers
(tiles.mbtiles, tiles.pmtiles_file) store what :func:`render` yields.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from dataclasses import dataclass

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


def vector_layers(zmin: int, zmax: int) -> list[dict]:
    """The TileJSON vector_layers of the export (the layers drawn within the zooms)."""
    return [{"id": lay.id, "fields": lay.fields, "minzoom": max(lay.minzoom, zmin),
             "maxzoom": zmax} for lay in LAYERS.values() if lay.minzoom <= zmax]


def describe(area: Area, zmin: int, zmax: int) -> dict[str, str]:
    """Name and description of the export."""
    return {"name": f"Wangge {area.code}" + (f" {area.name}" if area.name else ""),
            "description": f"Vector tiles of {area.level} {area.code}, z{zmin}-{zmax}"}


def render(conn: psycopg.Connection, area: Area, zmin: int, zmax: int,
           principal: Principal | None = None, max_tiles: int = 0,
           max_bytes: int = 0) -> Iterator[tuple[int, int, int, bytes]]:
    """(z, x, y, gzip-compressed tile) of every non-empty XYZ tile over the area, zoom by zoom
    in row-major order. A limit of 0 means none."""
    planned = count_tiles(area.bounds, zmin, zmax)
    if max_tiles and planned > max_tiles:
        raise TooLarge(f"{area.code} at z{zmin}-{zmax} is {planned:,} tiles, over the limit of "
                       f"{max_tiles:,}: ask for fewer zoom levels or a smaller area")
    size = 0
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
        yield z, x, y, blob
