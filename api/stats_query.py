"""The statistics request, parsed once: level, period, area, categories and the caller.

Shared by GET /stats, its time series and the exports, so a file holds exactly the figures of the
API for the same query. Every refusal is a problem document with an `i18n` key the pages show in
their language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Depends, Query
from psycopg import AsyncConnection

from api.db import get_conn
from api.deps import get_settings, require_roles
from api.problems import Problem
from gis.accounts import AccountError, level_of_code
from gis.categories import load_categories
from gis.levels import LEVEL_ORDER, level
from gis.scope import Principal, area_touches_scope
from gis.settings import Settings

MAX_PERIOD_DAYS = 366
readers = require_roles("admin", "planner", "commander", "worker")


@dataclass(frozen=True)
class StatsQuery:
    """A validated statistics request."""

    level: str
    start: datetime
    end: datetime
    area: str | None
    parent: tuple[str, int] | None
    categories: list[str]
    principal: Principal


def period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period [start, end) in UTC (default: the last 30 days), at most MAX_PERIOD_DAYS."""
    end = end or datetime.now(UTC)
    try:
        start = start or end - timedelta(days=30)
    except OverflowError:
        raise Problem(400, "Bad period", "end is too early", i18n="err.period_order") from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if start >= end:
        raise Problem(400, "Bad period", "start must be before end", i18n="err.period_order")
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise Problem(400, "Period too long",
                      f"a period spans at most {MAX_PERIOD_DAYS} days",
                      i18n="err.period_too_long", max_days=MAX_PERIOD_DAYS)
    return start, end


async def area_parent(conn: AsyncConnection, principal: Principal, area: str
                      ) -> tuple[str, int]:
    """(level, id) of the current area `area`; 404 when unknown or outside the caller's scope
    (the same answer, so no caller learns whether an area outside its scope exists)."""
    try:
        plevel = level_of_code(area)
    except AccountError as exc:
        raise Problem(400, "Bad area code", str(exc), i18n="err.bad_area") from None
    in_scope, params = area_touches_scope("a", plevel, principal)
    cur = await conn.execute(f"SELECT a.id FROM {level(plevel).table} a WHERE a.code = "
                             f"%(code)s AND a.valid_to IS NULL AND {in_scope}",
                             {**params, "code": area})
    row = await cur.fetchone()
    if row is None:  # unknown, or outside your areas: the same answer (no existence oracle)
        raise Problem(404, "Not Found", f"no current {plevel} {area}", i18n="err.no_area")
    return plevel, row[0]


async def stats_query(
        level_name: str = Query("street", alias="level", description=", ".join(LEVEL_ORDER)),
        start: datetime | None = Query(None, description="default: 30 days before end"),
        end: datetime | None = Query(None, description=f"default: now; at most "
                                     f"{MAX_PERIOD_DAYS} days after start"),
        area: str | None = Query(None, description="only areas under this area code"),
        category: list[str] = Query([], description="only these categories (repeatable)"),
        principal: Principal = Depends(readers),
        conn: AsyncConnection = Depends(get_conn),
        settings: Settings = Depends(get_settings)) -> StatsQuery:
    """Parse and check the query parameters shared by the statistics endpoints."""
    try:
        lv = level(level_name).name
    except KeyError as exc:
        raise Problem(400, "Unknown level", str(exc.args[0]), i18n="err.unknown_level") from None
    start, end = period(start, end)
    known = load_categories(settings.categories_file)
    unknown = [c for c in category if c not in known]
    if unknown:
        raise Problem(400, "Unknown category", f"unknown category {unknown[0]!r}: one of "
                      f"{', '.join(known)}", i18n="err.unknown_category")
    parent = await area_parent(conn, principal, area) if area else None
    if parent is not None and LEVEL_ORDER.index(parent[0]) >= LEVEL_ORDER.index(lv):
        raise Problem(400, "Bad level", f"a {parent[0]} holds no {lv}s",
                      i18n="err.level_below_area")
    return StatsQuery(lv, start, end, area, parent, sorted(set(category)), principal)
