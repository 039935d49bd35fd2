"""Time series of the report (报): per day, week or month, the district's (or an area's) reports,
closures, disposal, on-time, response and satisfaction rates and patrol rate.

Buckets are UTC calendar days, ISO weeks (from Monday) or months, clipped to the period. Each
bucket's figures are those GET /stats gives for the bucket's stretch of the period: incidents
are counted by the time they were reported (a closure counts in the bucket its case came in),
and the patrol rate is the micro-grids patrolled in the bucket over those assigned during it.
An unrestricted district-wide series reads the daily rollup for whole days, like the table.
"""

from __future__ import annotations

from datetime import datetime

from gis.scope import Principal
from gis.stats import (
    _AREA_COL,
    ACCEPTED_OR_LATER,
    CONTRIB,
    DONE,
    _day_split,
    _ratio,
    incident_filters,
)

BUCKETS = ("day", "week", "month")


def series_sql(principal: Principal | None, start: datetime, end: datetime, bucket: str,
               parent: tuple[str, int] | None = None, categories: list[str] | None = None,
               rollup: bool = True) -> tuple[str, dict]:
    """One statement: a row per bucket (bucket start, counts, patrol figures).

    `rollup=False` reads incidents only (the benchmark's baseline)."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}: one of {', '.join(BUCKETS)}")
    params: dict = {"start": start, "end": end, "bucket": bucket}
    inc_where, roll_where = incident_filters(principal, categories, params)
    assigned_where = "TRUE"
    restricted = principal is not None and principal.restricted
    if restricted:
        assigned_where = "m.id = ANY(%(scope_micro_grid)s)"
    if parent is not None:
        params["parent_id"] = parent[1]
        inc_where.append(f"r.{_AREA_COL[parent[0]]} = %(parent_id)s")
        parent_col = {"street": "c.parent_id", "community": "c.id", "grid": "g.id",
                      "micro_grid": "m.id"}[parent[0]]
        assigned_where += f" AND {parent_col} = %(parent_id)s"
    inc = " AND ".join(inc_where)
    days = _day_split(start, end)
    if rollup and days is not None and parent is None and not restricted:
        params.update(d0=days[0], d1=days[1])
        raw_where = (f"({inc}) AND ((r.reported_at >= %(start)s AND r.reported_at < %(d0)s) "
                     "OR (r.reported_at >= %(d1)s AND r.reported_at < %(end)s))")
        rolled = f"""UNION ALL
            SELECT date_trunc(%(bucket)s, day::timestamp), status, sum(n), sum(n_on_time),
                   sum(n_closed), sum(n_sat), sum(n_responded), sum(n_sat_good)
            FROM incident_rollup WHERE day >= %(d0)s::date AND day < %(d1)s::date {roll_where}
            GROUP BY 1, 2"""
    else:
        raw_where = f"({inc}) AND r.reported_at >= %(start)s AND r.reported_at < %(end)s"
        rolled = ""
    raw = CONTRIB.format(area="date_trunc(%(bucket)s, r.reported_at AT TIME ZONE 'UTC')",
                         where=raw_where)
    sql = f"""
    WITH raw AS ({raw}),
    parts AS (
        SELECT area_id AS b, status, n, n_on_time, n_closed, n_sat, n_responded, n_sat_good
        FROM raw {rolled}
    ),
    counts AS (
        SELECT b, sum(n) AS total,
               sum(n) FILTER (WHERE status IN {ACCEPTED_OR_LATER}) AS accepted,
               sum(n) FILTER (WHERE status IN {DONE}) AS disposed,
               sum(n_on_time) FILTER (WHERE status IN {DONE}) AS on_time,
               sum(n_closed) AS closed, sum(n_responded) AS responded,
               sum(n_sat) AS n_sat, sum(n_sat_good) AS sat_good
        FROM parts GROUP BY 1
    ),
    buckets AS (
        SELECT b, greatest(b AT TIME ZONE 'UTC', %(start)s) AS bs,
               least((b + ('1 ' || %(bucket)s)::interval) AT TIME ZONE 'UTC', %(end)s) AS be
        FROM generate_series(date_trunc(%(bucket)s, %(start)s AT TIME ZONE 'UTC'),
                             %(end)s AT TIME ZONE 'UTC' - interval '1 microsecond',
                             ('1 ' || %(bucket)s)::interval) AS b
    ),
    mg AS MATERIALIZED (
        SELECT m.id, g.id AS grid_id, c.id AS community_id, c.parent_id AS street_id
        FROM micro_grids m JOIN grids g ON g.id = m.parent_id
        JOIN communities c ON c.id = g.parent_id
        WHERE m.valid_to IS NULL AND {assigned_where}
    ),
    held AS MATERIALIZED (
        SELECT s.level, s.area_id, s.starts_on, s.ends_on FROM assignments s
        WHERE s.starts_on < %(end)s AND (s.ends_on IS NULL OR s.ends_on >= %(start)s::date)
    ),
    assigned AS MATERIALIZED (  -- one equality join per level (an OR join scans every pair)
        SELECT m.id, h.starts_on, h.ends_on FROM mg m
        JOIN held h ON h.level = 'micro_grid' AND h.area_id = m.id
        UNION ALL SELECT m.id, h.starts_on, h.ends_on FROM mg m
        JOIN held h ON h.level = 'grid' AND h.area_id = m.grid_id
        UNION ALL SELECT m.id, h.starts_on, h.ends_on FROM mg m
        JOIN held h ON h.level = 'community' AND h.area_id = m.community_id
        UNION ALL SELECT m.id, h.starts_on, h.ends_on FROM mg m
        JOIN held h ON h.level = 'street' AND h.area_id = m.street_id
    ),
    assigned_b AS (
        SELECT DISTINCT k.b, a.id FROM buckets k JOIN assigned a
            ON a.starts_on < k.be AND (a.ends_on IS NULL OR a.ends_on >= k.bs::date)
    ),
    visited AS (
        SELECT DISTINCT date_trunc(%(bucket)s, p.t AT TIME ZONE 'UTC') AS b, p.micro_grid_id
        FROM patrol_points p JOIN (SELECT DISTINCT id FROM assigned) a ON a.id = p.micro_grid_id
        WHERE p.t >= %(start)s AND p.t < %(end)s
    ),
    patrol AS (
        SELECT a.b, count(*) AS assigned, count(v.micro_grid_id) AS patrolled
        FROM assigned_b a LEFT JOIN visited v ON v.b = a.b AND v.micro_grid_id = a.id
        GROUP BY 1
    )
    SELECT k.bs, k.be, coalesce(c.total, 0), coalesce(c.accepted, 0), coalesce(c.disposed, 0),
           coalesce(c.on_time, 0), coalesce(c.closed, 0), coalesce(c.responded, 0),
           coalesce(c.n_sat, 0), coalesce(c.sat_good, 0), coalesce(p.assigned, 0),
           coalesce(p.patrolled, 0)
    FROM buckets k LEFT JOIN counts c ON c.b = k.b LEFT JOIN patrol p ON p.b = k.b
    ORDER BY k.b
    """
    return sql, params


def shape_series(rows: list[tuple]) -> list[dict]:
    """Turn series_sql rows into one dict per bucket with counts and rates."""
    out = []
    for (bs, be, total, accepted, disposed, on_time, closed, responded, n_sat, sat_good,
         assigned, patrolled) in rows:
        out.append({
            "start": bs, "end": be, "reports": int(total), "closures": int(closed),
            "accepted": int(accepted), "disposed": int(disposed),
            "disposal_rate": _ratio(disposed, accepted), "on_time_rate": _ratio(on_time, disposed),
            "response_rate": _ratio(responded, total), "satisfaction_rate": _ratio(sat_good, n_sat),
            "patrol_rate": _ratio(patrolled, assigned),
        })
    return out
