"""Report files (报): the statistics table and the case list of a period as CSV or XLSX, and
the month's report as one XLSX workbook (a sheet per level, the district's totals, per
category). Every file holds the figures GET /stats gives for the same query, in the caller's
scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from psycopg import AsyncConnection

from api.db import get_conn
from api.exports import XLSX_MAX_ROWS, XlsxBook, csv_response
from api.problems import Problem
from api.routers.stats import area_report, series_report
from api.stats_query import StatsQuery, area_parent, readers, stats_query
from gis.case_list import case_list_sql
from gis.levels import LEVEL_ORDER, LEVELS
from gis.report_columns import CASE_COLUMNS, STATS_COLUMNS, heading, stats_rows
from gis.routing import scope_streets
from gis.scope import Principal

router = APIRouter(tags=["statistics"])
FETCH = 5000
LANG = Query("zh-CN", pattern="^(zh-CN|en)$", description="language of the headings")


def _stamp(q: StatsQuery) -> str:
    return f"{q.start:%Y%m%d}-{q.end:%Y%m%d}"


async def _cases(request: Request, q: StatsQuery,
                 streets: tuple[int | None, ...] | None) -> AsyncIterator[tuple]:
    """The case list's rows from a server-side cursor on a connection of its own (it outlives
    the request's dependencies while the response streams)."""
    sql, params = case_list_sql(q.principal, q.start, q.end, q.parent, q.categories,
                                streets=streets)
    async with (request.app.state.pool.connection() as conn, conn.transaction(),
                conn.cursor(name="wangge_cases") as cur):
        await cur.execute(sql, params)
        while rows := await cur.fetchmany(FETCH):
            for row in rows:
                yield row


@router.get("/stats/export", summary="The statistics table or the case list as CSV or XLSX",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-"
                                         "officedocument.spreadsheetml.sheet": {}}}})
async def export(request: Request, q: StatsQuery = Depends(stats_query),
                 what: str = Query("table", pattern="^(table|cases)$",
                                   description="table: GET /stats's rows; cases: the incidents"),
                 fmt: str = Query("csv", alias="format", pattern="^(csv|xlsx)$"),
                 lang: str = LANG,
                 conn: AsyncConnection = Depends(get_conn)) -> StreamingResponse:
    """Streamed; the table's last row is the total. Headings in `lang`."""
    name = f"wangge-{what}-{q.level if what == 'table' else 'cases'}-{_stamp(q)}.{fmt}"
    if what == "table":
        header = [heading(lang, c.zh, c.en) for c in STATS_COLUMNS]
        rows = stats_rows(await area_report(conn, q))
        if fmt == "csv":
            return csv_response(header, rows, name)
        book = XlsxBook()
        book.sheet(heading(lang, "统计表", "Statistics"), header, rows)
        return book.response(name)
    header = [heading(lang, zh, en) for _k, zh, en, _e in CASE_COLUMNS]
    streets = await scope_streets(conn, q.principal)
    if fmt == "csv":
        return csv_response(header, _cases(request, q, streets), name)
    sql, params = case_list_sql(q.principal, q.start, q.end, q.parent, q.categories, count=True,
                                streets=streets)
    n = (await (await conn.execute(sql, params)).fetchone())[0]
    if n > XLSX_MAX_ROWS:
        raise Problem(400, "Too many rows", f"{n} cases exceed a sheet's {XLSX_MAX_ROWS} rows; "
                      "export CSV or a shorter period", i18n="err.too_many_rows")
    book = XlsxBook()
    try:
        await book.sheet_async(heading(lang, "案件清单", "Cases"), header,
                                 _cases(request, q, streets))
    except BaseException:
        book.discard()
        raise
    return book.response(name)


def month_period(month: str) -> tuple[datetime, datetime]:
    """[first day, first day of the next month) of `YYYY-MM`, in UTC."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    except ValueError:  # not YYYY-MM, or December 9999
        raise Problem(400, "Bad month", "month is YYYY-MM", i18n="err.bad_month") from None
    return start, end


async def month_queries(conn: AsyncConnection, principal: Principal, month: str,
                        area: str | None) -> list[StatsQuery]:
    """One statistics query per level below `area` (every level when none) for the month."""
    start, end = month_period(month)
    parent = await area_parent(conn, principal, area) if area else None
    first = LEVEL_ORDER.index(parent[0]) + 1 if parent else 0
    return [StatsQuery(lv, start, end, area, parent, [], principal)
            for lv in LEVEL_ORDER[first:]]


@router.get("/stats/month-report", summary="The month's report as one XLSX workbook",
            response_class=StreamingResponse,
            responses={200: {"content": {"application/vnd.openxmlformats-officedocument."
                                         "spreadsheetml.sheet": {}}}})
async def month_report(month: str = Query(..., description="YYYY-MM (UTC)"),
                       area: str | None = Query(None, description="only under this area"),
                       lang: str = LANG,
                       principal: Principal = Depends(readers),
                       conn: AsyncConnection = Depends(get_conn)) -> StreamingResponse:
    """A sheet per level (street, community, grid, micro-grid; each equal to GET /stats for
    the month), then the totals: the district's (or the area's) figures, per category and per
    day."""
    queries = await month_queries(conn, principal, month, area)
    if not queries:
        raise Problem(400, "Bad area", "a micro-grid has no areas below it",
                      i18n="err.level_below_area")
    header = [heading(lang, c.zh, c.en) for c in STATS_COLUMNS]
    book = XlsxBook()
    try:
        total = None
        for q in queries:
            report = await area_report(conn, q)
            total = report["total"]
            lv = LEVELS[q.level]
            book.sheet(heading(lang, lv.zh, lv.en), header, stats_rows(report))
        rates = ["total", "disposal_rate", "on_time_rate", "response_rate", "satisfaction_rate"]
        cat_rows = [[key] + [v[r] for r in rates]
                    for key, v in (total or {}).get("category_rates", {}).items()]
        book.sheet(heading(lang, "合计", "Totals"), header,
                   [[c.get(total) for c in STATS_COLUMNS]] + [[]] +
                   [[heading(lang, "类别", "Category")] + rates] + cat_rows)
        series = await series_report(conn, queries[0], "day")
        keys = ["start", "reports", "closures", "disposal_rate", "on_time_rate",
                "response_rate", "satisfaction_rate", "patrol_rate"]
        book.sheet(heading(lang, "逐日", "Per day"), keys,
                   [[s[k] for k in keys] for s in series])
    except BaseException:
        book.discard()
        raise
    return book.response(f"wangge-month-report-{month}.xlsx")
