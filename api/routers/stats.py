"""Statistics (报): per-area figures for a period, their time series, and incident density
cells for heat maps."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from psycopg import AsyncConnection

from api.db import get_conn
from api.problems import Problem
from api.stats_query import StatsQuery, readers, stats_query
from gis import stats, stats_series
from gis.cluster import is_citus
from gis.routing import scope_streets
from gis.scope import Principal

router = APIRouter(tags=["statistics"])
MAX_CELLS = 200_000


async def area_report(conn: AsyncConnection, q: StatsQuery) -> dict:
    """GET /stats's answer for a parsed query (also what the exports write)."""
    citus = await is_citus(conn)
    sql, params = stats.stats_sql(q.principal, q.level, q.start, q.end, q.parent,
                                  categories=q.categories, distributed=citus,
                                  streets=await scope_streets(conn, q.principal))
    cur = await conn.execute(sql, params)
    areas, total = stats.shape(await cur.fetchall())
    return {"level": q.level, "start": q.start, "end": q.end, "area": q.area,
            "categories": q.categories, "areas": areas, "total": total}


async def series_report(conn: AsyncConnection, q: StatsQuery, bucket: str) -> list[dict]:
    """The period's time series per bucket (day, week, month)."""
    sql, params = stats_series.series_sql(q.principal, q.start, q.end, bucket, q.parent,
                                          q.categories)
    cur = await conn.execute(sql, params)
    return stats_series.shape_series(await cur.fetchall())


@router.get("/stats", summary="Statistics per area and period")
async def area_stats(q: StatsQuery = Depends(stats_query),
                     conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Counts by status and category, disposal rate (resolved or later / accepted), on-time
    rate, response rate (accepted within the category's response time / reported), mean and
    p90 hours to close, overdue (督办), satisfaction (评价: mean, and the rate of ratings 4–5
    among rated) and patrol rate (micro-grids patrolled / micro-grids assigned), for each area
    you may see and in total; per category the same rates (`category_rates`). A period spans
    at most a year; an area outside your scope is a 403."""
    return await area_report(conn, q)


@router.get("/stats/series", summary="Statistics of a period per day, week or month")
async def series(q: StatsQuery = Depends(stats_query),
                 bucket: str = Query("day", pattern="^(day|week|month)$",
                                     description="day, week (ISO, from Monday) or month (UTC)"),
                 conn: AsyncConnection = Depends(get_conn)) -> dict:
    """Per bucket: reports, closures, disposal, on-time, response, satisfaction and patrol
    rates, counted as GET /stats counts the bucket's stretch of the period (`level` ignored)."""
    return {"start": q.start, "end": q.end, "area": q.area, "bucket": bucket,
            "categories": q.categories, "series": await series_report(conn, q, bucket)}


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
