"""Feature exports: a collection, with the items filters and in the caller's scope, as GeoJSON,
CSV (geometry as WKT) or GeoPackage, streamed.

GeoJSON and CSV rows come from a server-side cursor (a named cursor in a read-only transaction on
a pooled connection), BATCH rows at a time, and each batch is sent as it arrives: memory stays
flat whatever the size, and a client that goes away closes the cursor. A GeoPackage cannot be
written as a stream, so its rows go batch by batch into a temporary file through pyogrio (GDAL);
the finished file is then streamed and deleted.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import anyio
import numpy as np
from psycopg_pool import AsyncConnectionPool

from api.ogc import features
from api.ogc.registry import Collection
from gis.scope import Principal

BATCH = 2000
CHUNK = 1 << 16


@dataclass(frozen=True)
class Format:
    """One export format: its media type and file suffix."""

    name: str
    media_type: str
    suffix: str


FORMATS = {f.name: f for f in (
    Format("geojson", "application/geo+json", "geojson"),
    Format("csv", "text/csv; charset=utf-8", "csv"),
    Format("gpkg", "application/geopackage+sqlite3", "gpkg"),
)}


async def _rows(pool: AsyncConnectionPool, sql: str, params: dict) -> AsyncIterator[list]:
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SET TRANSACTION READ ONLY")
        async with conn.cursor(name="wangge_export") as cur:
            await cur.execute(sql, params)
            while batch := await cur.fetchmany(BATCH):
                yield batch


async def geojson(pool: AsyncConnectionPool, c: Collection, principal: Principal,
                  q: features.Query) -> AsyncIterator[bytes]:
    """A FeatureCollection, written feature by feature."""
    sql, params = features.export_sql(c, principal, q, "feature")
    head = '{"type":"FeatureCollection"'
    if q.crs.srid != 4326 or q.crs.lat_first:
        head += f',"crs":{{"type":"name","properties":{{"name":' \
                f'"urn:ogc:def:crs:EPSG::{q.crs.srid}"}}}}'
    yield (head + ',"features":[').encode()
    first = True
    async for batch in _rows(pool, sql, params):
        text = ",".join(row[0] for row in batch)
        yield (text if first else "," + text).encode()
        first = False
    yield b"]}"


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


async def csv_rows(pool: AsyncConnectionPool, c: Collection, principal: Principal,
                   q: features.Query) -> AsyncIterator[bytes]:
    """CSV with a header: id, the properties, wkt. UTF-8 with a BOM so Excel reads Chinese."""
    sql, params = features.export_sql(c, principal, q, "wkt")
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", *c.properties, "wkt"])
    yield ("\ufeff" + buf.getvalue()).encode()
    async for batch in _rows(pool, sql, params):
        buf.seek(0)
        buf.truncate()
        writer.writerows([_cell(v) for v in row] for row in batch)
        yield buf.getvalue().encode()


def _columns(c: Collection, batch: list) -> list[np.ndarray]:
    """Field arrays for pyogrio: numbers stay numbers (NaN for NULL), the rest text."""
    out = []
    for k, name in enumerate(["id", *c.properties]):
        values = [row[k] for row in batch]
        kind = "integer" if name == "id" else c.types.get(name, "string")
        if kind in ("integer", "number") and all(v is not None for v in values):
            out.append(np.array(values, dtype="int64" if kind == "integer" else "float64"))
        elif kind in ("integer", "number"):
            out.append(np.array([np.nan if v is None else float(v) for v in values]))
        else:
            out.append(np.array([None if v is None else str(_cell(v)) for v in values],
                                dtype=object))
    return out


async def write_gpkg(pool: AsyncConnectionPool, c: Collection, principal: Principal,
                     q: features.Query) -> str:
    """Write the rows into a temporary GeoPackage (layer named after the collection); its path."""
    from pyogrio.raw import write

    sql, params = features.export_sql(c, principal, q, "wkb")
    fd, path = tempfile.mkstemp(prefix="wangge-export-", suffix=".gpkg")
    os.close(fd)
    os.unlink(path)  # GDAL creates it
    fields = ["id", *c.properties]
    crs = f"EPSG:{q.crs.srid}"
    layer = c.id.replace("-", "_")
    kind = {"Point": "Point", "MultiPolygon": "MultiPolygon"}.get(c.geometry, "Unknown")
    written = False
    try:
        async for batch in _rows(pool, sql, params):
            geoms = np.array([bytes(row[-1]) for row in batch], dtype=object)
            columns = _columns(c, batch)
            await anyio.to_thread.run_sync(lambda g=geoms, cols=columns, a=written: write(
                path, g, cols, fields, layer=layer, driver="GPKG", geometry_type=kind,
                crs=crs, append=a))
            written = True
        if not written:
            empty = [np.array([], dtype=object) for _ in fields]
            await anyio.to_thread.run_sync(lambda: write(
                path, np.array([], dtype=object), empty, fields, layer=layer, driver="GPKG",
                geometry_type=kind, crs=crs))
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise
    return path


async def stream_file(path: str) -> AsyncIterator[bytes]:
    """The file's bytes in chunks; the file is deleted afterwards (or when the client leaves)."""
    try:
        async with await anyio.open_file(path, "rb") as f:
            while chunk := await f.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)
