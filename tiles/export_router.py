"""GET /exports/tiles/{code}.mbtiles?zoom=12-18: an area's vector tiles as an MBTiles download,
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
from tiles import mbtiles

router = APIRouter(tags=["Vector tiles"])
MEDIA_TYPE = "application/vnd.mapbox-vector-tile+mbtiles"


def _render(request: Request, code: str, zmin: int, zmax: int, principal: Principal) -> Path:
    settings = request.app.state.settings
    fd, name = tempfile.mkstemp(prefix="wangge-tiles-", suffix=".mbtiles")
    os.close(fd)
    path = Path(name)
    try:
        with psycopg.connect(libpq_url(database_url(settings))) as conn:
            conn.execute(f"SET statement_timeout = {int(settings.statement_timeout_ms)}")
            area = mbtiles.find_area(conn, code, principal)
            mbtiles.write(conn, path, area, zmin, zmax, principal,
                          max_tiles=settings.max_export_tiles,
                          max_bytes=settings.max_export_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


@router.get("/exports/tiles/{code}.mbtiles", summary="An area's vector tiles as MBTiles",
            response_class=StreamingResponse,
            responses={200: {"content": {MEDIA_TYPE: {}}, "description": "an MBTiles file"}})
async def area_mbtiles(code: str, request: Request,
                       zoom: str = Query("12-18", description="zoom range, e.g. 12-18"),
                       principal: Principal = Depends(get_principal)) -> StreamingResponse:
    try:
        zmin, zmax = mbtiles.parse_zoom(zoom)
    except ValueError as exc:
        raise Problem(400, "Bad Request", str(exc)) from None
    try:
        path = await anyio.to_thread.run_sync(_render, request, code, zmin, zmax, principal)
    except mbtiles.UnknownArea as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    except mbtiles.TooLarge as exc:
        raise Problem(413, "Content Too Large", str(exc)) from None
    return StreamingResponse(stream_file(str(path)), media_type=MEDIA_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{code}-z{zmin}-{zmax}.mbtiles"'})
