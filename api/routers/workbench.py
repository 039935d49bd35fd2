"""Router: data the planner workbench (/map/plan) needs beyond /plans — one area's panel."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import require_roles
from api.pages.area_info import area_info
from api.problems import Problem
from gis.editing import plan_scope
from gis.scope import Principal

router = APIRouter(tags=["pages"])


@router.get("/map/plan/area/{level}/{code}", summary="One area for the planner's area panel")
async def plan_area(level: str, code: str,
                    principal: Principal = Depends(require_roles("planner", "admin")),
                    conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Code, name, households, version, grid kind or community class, parent and the workers
    assigned to it; an area outside a bound planner's areas answers like an unknown one."""
    if not await plan_scope.code_inside(conn, principal, code):
        raise Problem(404, "Not Found", f"no current {level} {code}")
    try:
        info = await area_info(conn, level, code)
    except KeyError as exc:
        raise Problem(404, "Not Found", str(exc)) from None
    if info is None:
        raise Problem(404, "Not Found", f"no current {level} {code}")
    return info
