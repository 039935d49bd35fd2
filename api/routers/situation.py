"""The live situation for the command map (/map): workers' last positions, micro-grids not
patrolled in a period, staffing gaps, and one area's people, open cases and rates."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import require_roles
from api.problems import Problem
from api.routers.stats import area_report
from api.stats_query import StatsQuery, area_parent, period
from gis import situation
from gis.accounts import AccountError, level_of_code
from gis.cluster import is_citus
from gis.levels import LEVEL_ORDER, level
from gis.routing import area_streets
from gis.scope import Principal

router = APIRouter(tags=["situation"])
watchers = require_roles("admin", "commander")
LIVE_MINUTES = 10


async def _one(conn: AsyncConnection, sql: str, params: dict):
    cur = await conn.execute(sql, params)
    row = await cur.fetchone()
    return row[0] if row else None


@router.get("/map/live-positions", summary="Workers' last positions of the last minutes")
async def live_positions(minutes: int = Query(LIVE_MINUTES, ge=1, le=60),
                         principal: Principal = Depends(watchers),
                         conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Each worker's latest patrol point of the last `minutes` (10 by default) in your areas,
    with the worker's name and the time. Admins and commanders only."""
    sql, params = situation.live_positions_sql(principal)
    params["minutes"] = minutes
    return {"minutes": minutes, "positions": await _one(conn, sql, params)}


@router.get("/map/unpatrolled", summary="Micro-grids with no patrol point in a period")
async def unpatrolled(start: datetime | None = None, end: datetime | None = None,
                      area: str | None = Query(None, description="only under this area"),
                      principal: Principal = Depends(watchers),
                      conn: AsyncConnection = Depends(get_conn)) -> dict:
    """GeoJSON of the current micro-grids in your areas without a patrol point in [start, end)
    (default: the last 30 days), each with its assignees and its last patrol before end."""
    start, end = period(start, end)
    parent = await area_parent(conn, principal, area) if area else None
    sql, params = situation.unpatrolled_sql(principal, parent,
                                            distributed=await is_citus(conn))
    params.update(start=start, end=end)
    fc = await _one(conn, sql, params)
    return {**fc, "start": start, "end": end}


@router.get("/map/staffing", summary="Staffing gaps in your areas")
async def staffing(days: int = Query(7, ge=1, le=90),
                   principal: Principal = Depends(watchers),
                   conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Grids without a full-time worker and micro-grids without a micro-grid leader (GeoJSON
    features), assignments ending within `days` days, and workers with no current area."""
    sql, params = situation.staffing_sql(principal, days)
    return await _one(conn, sql, params)


@router.get("/map/areas-at", summary="The areas of every level at a point")
async def areas_at(lon: float = Query(..., ge=-180, le=180), lat: float = Query(..., ge=-90, le=90),
                   principal: Principal = Depends(watchers),
                   conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Street, community, grid and micro-grid (those in your areas) containing the point."""
    sql, params = situation.areas_at_sql(principal)
    params.update(lon=lon, lat=lat)
    return {"areas": await _one(conn, sql, params)}


@router.get("/map/area/{code}", summary="One area's people, open cases and rates")
async def area_info(code: str, start: datetime | None = None, end: datetime | None = None,
                    principal: Principal = Depends(watchers),
                    conn: AsyncConnection = Depends(get_conn)) -> dict:
    """The people assigned to the area, its open cases (the latest 200 and their count) and its
    row of GET /stats for the period."""
    try:
        lv = level_of_code(code)
    except AccountError as exc:
        raise Problem(400, "Bad area code", str(exc), i18n="err.bad_area") from None
    start, end = period(start, end)
    sql, params = situation.area_info_sql(principal, lv, await area_streets(conn, lv, code))
    params["code"] = code
    info = await _one(conn, sql, params)
    if info is None:
        raise Problem(404, "Not Found", f"no current {lv} {code} in your areas",
                      i18n="err.no_area")
    parent = None
    i = LEVEL_ORDER.index(lv)
    if i > 0:
        parent_code = code[:level(LEVEL_ORDER[i - 1]).code_digits]
        try:
            parent = await area_parent(conn, principal, parent_code)
        except Problem:
            parent = None  # the parent lies partly outside your scope: your areas only
    report = await area_report(conn, StatsQuery(lv, start, end, None, parent, [], principal))
    row = next((a for a in report["areas"] if a["code"] == code), None)
    return {**info, "start": start, "end": end, "stats": row}
