"""Router: the installable worker app (/map/me): manifest, service worker, my tasks, who is
responsible here, my history."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, JSONResponse
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import require_roles
from api.problems import Problem
from gis import worker_app
from gis.scope import Principal

router = APIRouter(tags=["worker app"])
STATIC = Path(__file__).resolve().parent.parent / "static"
SCOPE = "/map/me"
readers = require_roles("admin", "commander", "worker")
workers_only = require_roles("worker")

MANIFEST = {
    "name": "网格员 Wangge grid worker",
    "short_name": "网格员",
    "description": "网格员工作台：任务、上报、巡查（离线可用） / Grid worker app, works offline",
    "lang": "zh-CN",
    "start_url": SCOPE,
    "scope": SCOPE,
    "display": "standalone",
    "orientation": "portrait",
    "background_color": "#ffffff",
    "theme_color": "#d81b60",
    "icons": [
        {"src": "/static/icons/worker-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/icons/worker-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/static/icons/worker-512.png", "sizes": "512x512", "type": "image/png",
         "purpose": "maskable"},
    ],
}


@router.get("/map/me/manifest.webmanifest", include_in_schema=False)
async def manifest() -> JSONResponse:
    return JSONResponse(MANIFEST, media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})


@router.get("/map/me/sw.js", include_in_schema=False)
async def service_worker() -> FileResponse:
    """The worker app's service worker, allowed to control /map/me itself."""
    return FileResponse(STATIC / "js" / "worker-sw.js", media_type="text/javascript",
                        headers={"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"})


@router.get("/map/me/tasks", summary="My tasks: open cases to handle, overdue first")
async def tasks(principal: Principal = Depends(workers_only),
                conn: AsyncConnection = Depends(get_conn)) -> dict:
    return {"items": await worker_app.tasks(conn, principal)}


@router.get("/map/me/responsible", summary="Who is responsible for a micro-grid or building")
async def responsible(micro_grid: str | None = Query(None, pattern=r"^[0-9]{18}$"),
                      building: int | None = Query(None, ge=1),
                      principal: Principal = Depends(readers),
                      conn: AsyncConnection = Depends(get_conn)) -> dict:
    """The micro-grid leader, the grid leader and the grid workers with their phone numbers
    (grid workers, commanders and admins; only inside the caller's areas)."""
    if (micro_grid is None) == (building is None):
        raise Problem(400, "Invalid request", "give exactly one of micro_grid or building")
    found = await worker_app.responsible(conn, principal, micro_grid, building)
    if found is None:
        raise Problem(404, "Not Found", "no such micro-grid or building in your areas")
    return found


@router.get("/map/me/history", summary="My reports and patrols of the last 30 days")
async def history(principal: Principal = Depends(workers_only),
                  conn: AsyncConnection = Depends(get_conn)) -> dict:
    return await worker_app.history(conn, principal)
