"""GET /exports/tiles/{code}.mbtiles (or .pmtiles)?zoom=12-18: an area's vector tiles as one file,
in the caller's scope, within WANGGE_MAX_EXPORT_TILES and WANGGE_MAX_EXPORT_BYTES."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import anyio
import psycopg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import get_principal
from api.ogc.export import stream_file
from api.problems import Problem
from gis.database import database_url, libpq_url
from gis.scope import Principal
from tiles import area_tiles, mbtiles, pmtiles_file

router = APIRouter(tags=["Vector tiles"])
MEDIA_TYPE = "application/vnd.mapbox-vector-tile+mbtiles"
PMTILES_TYPE = "application/vnd.pmtiles"
WRITERS = {"mbtiles": mbtiles.write, "pmtiles": pmtiles_file.write}


def _render(request: Request, code: str, zmin: int, zmax: int, principal: Principal,
            kind: str) -> Path:
    settings = request.app.state.settings
    fd, name = tempfile.mkstemp(prefix="wangge-tiles-", suffix=f".{kind}")
    os.close(fd)
    path = Path(name)
    try:
        with psycopg.connect(libpq_url(database_url(settings))) as conn:
            conn.execute(f"SET statement_timeout = {int(settings.statement_timeout_ms)}")
            area = area_tiles.find_area(conn, code, principal)
            WRITERS[kind](conn, path, area, zmin, zmax, principal,
                          max_tiles=settings.max_export_tiles,
                          max_bytes=settings.max_export_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def _download(code: str, zoom: str, request: Request, principal: Principal,
                    kind: str, media_type: str) -> StreamingResponse:
    try:
        zmin, zmax = area_tiles.parse_zoom(zoom)
    except ValueError as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
    try:
        path = await anyio.to_thread.run_sync(_render, request, code, zmin, zmax, principal,
                                              kind)
    except area_tiles.UnknownArea as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    except area_tiles.TooLarge as exc:
        raise Problem(413, "Content Too Large", str(exc)) from None
    except pmtiles_file.NothingToDraw as exc:
        raise Problem(422, "Nothing to draw", str(exc)) from None
    return StreamingResponse(stream_file(str(path)), media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{code}-z{zmin}-{zmax}.{kind}"'})


ZOOM = Query("12-18", description="zoom range, e.g. 12-18")


@router.get("/exports/tiles/{code}.mbtiles", summary="An area's vector tiles as MBTiles",
            response_class=StreamingResponse,
            responses={200: {"content": {MEDIA_TYPE: {}}, "description": "an MBTiles file"}})
async def area_mbtiles(code: str, request: Request, zoom: str = ZOOM,
                       principal: Principal = Depends(get_principal)) -> StreamingResponse:
    return await _download(code, zoom, request, principal, "mbtiles", MEDIA_TYPE)


@router.get("/exports/tiles/{code}.pmtiles", summary="An area's vector tiles as PMTiles",
            response_class=StreamingResponse,
            responses={200: {"content": {PMTILES_TYPE: {}}, "description": "a PMTiles v3 file"}})
async def area_pmtiles(code: str, request: Request, zoom: str = ZOOM,
                       principal: Principal = Depends(get_principal)) -> StreamingResponse:
    return await _download(code, zoom, request, principal, "pmtiles", PMTILES_TYPE)
