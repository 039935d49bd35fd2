"""Statistics (报): per-area figures for a period, and incident density cells for heat maps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import require_roles
from api.problems import Problem
from gis import stats
from gis.accounts import AccountError, level_of_code
from gis.levels import LEVEL_ORDER, level
from gis.scope import Principal, area_touches_scope

router = APIRouter(tags=["statistics"])
readers = require_roles("admin", "planner", "commander", "worker")
MAX_CELLS = 200_000


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start >= end:
        raise Problem(400, "Bad period", "start must be before end")
    return start, end


@router.get("/stats", summary="Statistics per area and period")
async def area_stats(
        level_name: str = Query("street", alias="level", description=", ".join(LEVEL_ORDER)),
        start: datetime | None = Query(None, description="default: 30 days before end"),
        end: datetime | None = Query(None, description="default: now"),
        area: str | None = Query(None, description="only areas under this area code"),
        principal: Principal = Depends(readers),
        conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Counts by status and category, disposal rate (resolved or later / accepted), on-time
    rate, mean and p90 hours to close, overdue (督办), satisfaction (评价) and patrol rate
    (micro-grids patrolled / micro-grids assigned), for each area you may see and in total."""
    try:
        lv = level(level_name).name
    except KeyError as exc:
        raise Problem(400, "Unknown level", str(exc.args[0])) from None
    start, end = _period(start, end)
    parent = None
    if area:
        try:
            plevel = level_of_code(area)
        except AccountError as exc:
            raise Problem(400, "Bad area code", str(exc)) from None
        in_scope, params = area_touches_scope("a", plevel, principal)
        cur = await conn.execute(f"SELECT a.id FROM {level(plevel).table} a WHERE a.code = "
                                 f"%(code)s AND a.valid_to IS NULL AND {in_scope}",
                                 {**params, "code": area})
        row = await cur.fetchone()
        if row is None:  # unknown, or outside your areas: the same answer (no existence oracle)
            raise Problem(404, "Not Found", f"no current {plevel} {area}")
        parent = (plevel, row[0])
    try:
        sql, params = stats.stats_sql(principal, lv, start, end, parent)
    except ValueError as exc:
        raise Problem(400, "Bad level", str(exc)) from None
    cur = await conn.execute(sql, params)
    areas, total = stats.shape(await cur.fetchall())
    return {"level": lv, "start": start, "end": end, "area": area, "areas": areas,
            "total": total}


@router.get("/stats/density", summary="Incident counts on square cells for a heat map")
async def density(bbox: str = Query(..., description="minlon,minlat,maxlon,maxlat"),
                  zoom: int = Query(..., ge=0, le=22),
                  start: datetime | None = None, end: datetime | None = None,
                  category: list[str] = Query([]),
                  principal: Principal = Depends(readers),
                  conn: AsyncConnection = Depends(get_conn)) -> dict:
    """A GeoJSON FeatureCollection of cells (1/32 of a web-map tile wide) with `count`."""
    try:
        box = tuple(float(v) for v in bbox.split(","))
        if len(box) != 4 or not (-180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
            raise ValueError
    except ValueError:
        raise Problem(400, "Bad bbox", "bbox is minlon,minlat,maxlon,maxlat") from None
    sql, params, size = stats.density_sql(principal, zoom)
    if stats.cells_in(box, size) > MAX_CELLS:
        raise Problem(400, "Too many cells", "zoom in or shrink the bbox")
    params.update(zip(("x0", "y0", "x1", "y1"), box, strict=True))
    params.update(start=start, end=end, category=category)
    cur = await conn.execute(sql, params)
    return (await cur.fetchone())[0]
