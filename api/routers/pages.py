"""Router: the map pages (public HTML shells) and the page-only data endpoints (token-scoped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse
from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.db import get_conn
from api.deps import get_principal, get_settings, require_roles
from api.pages import builders, preview, queries
from api.problems import Problem
from gis.scope import Principal
from gis.settings import Settings

router = APIRouter(tags=["pages"])
NO_STORE = {"Cache-Control": "no-cache"}
STATIC = Path(__file__).resolve().parent.parent / "static"


BUILDERS = {"login": builders.login_page, "command": builders.command_page,
            "worker": builders.worker_page, "planner": builders.planner_page,
            "account": builders.account_page}
_cache: dict[tuple[str, int], str] = {}


def _render(page: str, settings: Settings) -> str:
    """The page's HTML, built once per settings object (the shells carry no data)."""
    key = (page, id(settings))
    if key not in _cache:
        _cache[key] = BUILDERS[page](settings)
    return _cache[key]


def _html(page: str, settings: Settings) -> HTMLResponse:
    return HTMLResponse(_render(page, settings), headers=NO_STORE)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("login", settings)


@router.get("/map", response_class=HTMLResponse, summary="Command center map page")
async def command_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("command", settings)


@router.get("/map/me", response_class=HTMLResponse, summary="Grid worker map page")
async def worker_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("worker", settings)


@router.get("/map/plan", response_class=HTMLResponse, summary="Planner map page")
async def planner_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("planner", settings)


@router.get("/admin/people", response_class=HTMLResponse, summary="Roster page (人员管理)")
async def people_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    from api.pages.people_page import people_page_html

    key = ("people", id(settings))
    if key not in _cache:
        _cache[key] = people_page_html(settings)
    return HTMLResponse(_cache[key], headers=NO_STORE)
@router.get("/account", response_class=HTMLResponse, summary="Account page: API keys")
async def account_page(settings: Settings = Depends(get_settings)) -> HTMLResponse:
    return _html("account", settings)


@router.get("/map/context", summary="The caller's map context")
async def map_context(principal: Principal = Depends(get_principal),
                      conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Who the caller is, the bounds of what they see, their areas and (when confined) the
    outline of their assigned areas. A worker without an assignment gets `assigned: false`."""
    context = await queries.map_context(conn, principal)
    assigned = not principal.restricted or not principal.scope.empty
    return {"username": principal.username, "role": principal.role,
            "restricted": principal.restricted, "assigned": assigned, **context}


@router.get("/map/plan/checks", summary="Violations of the current boundaries")
async def plan_checks(principal: Principal = Depends(require_roles("admin", "planner")),
                      conn: AsyncConnection = Depends(get_conn),
                      settings: Settings = Depends(get_settings)) -> dict:
    """Areas outside the household bounds or their parent, and buildings without a micro-grid."""
    bounds = {"grid_min": settings.grid_min, "grid_max": settings.grid_max,
              "micro_grid_min": settings.micro_grid_min,
              "micro_grid_max": settings.micro_grid_max}
    return await queries.plan_checks(conn, principal, bounds)


class SplitPreviewIn(BaseModel):
    """Which area to divide and the household bounds of its parts."""

    code: str = Field(pattern=r"^[0-9]{12}([0-9]{3})?$",
                      description="a grid code (into micro-grids) or a community code (into grids)")
    min_households: int | None = Field(None, ge=1, le=100_000)
    max_households: int | None = Field(None, ge=1, le=100_000)
    seed: int = Field(1, ge=0, le=2**31 - 1)


@router.post("/map/plan/preview-split", summary="Preview the split of a grid (nothing written)")
async def preview_split(body: SplitPreviewIn,
                        principal: Principal = Depends(require_roles("admin", "planner")),
                        conn: AsyncConnection = Depends(get_conn),
                        settings: Settings = Depends(get_settings)) -> dict:
    """The split engine's parts for one grid (or community) as GeoJSON, with a quality report."""
    level = "micro_grid" if len(body.code) == 15 else "grid"
    lo = body.min_households or getattr(settings, f"{level}_min")
    hi = body.max_households or getattr(settings, f"{level}_max")
    if lo > hi:
        raise Problem(422, "Invalid bounds", f"min_households {lo} exceeds max_households {hi}")
    inputs = await queries.split_inputs(conn, principal, level, body.code)
    if inputs is None:
        raise Problem(404, "Not Found", f"no area {body.code} in your scope")
    if not inputs["buildings"]:
        raise Problem(422, "Nothing to split", f"area {body.code} has no buildings")
    return await asyncio.to_thread(preview.preview, inputs, lo, hi, body.seed, level)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")
