"""Statistics (报) per area and period: counts by status and category, disposal and on-time rates,
time to close (mean, p90), overdue (督办), satisfaction (评价), patrol rate; density cells.

District-wide figures per street read the rollup tables kept exact by triggers (migration
0002_incident_rollup; on Citus by triggers on each incidents shard that write the co-located
rollup shards, migration 0012_citus_rollup) for whole UTC days and the incidents themselves for
the partial days at either end; every other query reads incidents through their area-id
indexes, confined to the caller's scope. Time to close is taken from a log histogram (bins 5 %
wide) so the p90 is merged cheaply from the rollup: it is the nearest-rank p90's bin, reported
at the bin's geometric middle (within 2.5 % of the exact value). Mean time to close is exact.
The patrol rate reads the visits rollup (patrol_visits, migration 0015_patrol_visits) for whole
UTC days at every level, and patrol_points for the partial days. A scoped caller's incident reads
name the streets that can hold its incidents (gis.routing), so Citus reads only their shards.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from gis.levels import level as level_spec
from gis.routing import street_condition
from gis.scope import Principal, scope_filter, scope_filter_hashed

BIN_RATIO = 1.05
ACCEPTED_OR_LATER = "('accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed')"
DONE = "('resolved', 'verified', 'closed')"
OPEN = "('reported', 'accepted', 'dispatched', 'in_progress')"
_AREA_COL = {"street": "street_id", "community": "community_id", "grid": "grid_id",
             "micro_grid": "micro_grid_id"}

# One incident's contribution (the same formula as the rollup triggers, migration 0006).
CONTRIB = """
SELECT {area} AS area_id, r.category, r.status, 1 AS n,
       (r.resolved_at IS NOT NULL AND r.due_at IS NOT NULL
        AND r.resolved_at <= r.due_at)::int AS n_on_time,
       (r.status = 'closed')::int AS n_closed,
       CASE WHEN r.status = 'closed'
            THEN extract(epoch FROM r.closed_at - r.reported_at) ELSE 0 END AS close_s,
       (r.satisfaction IS NOT NULL)::int AS n_sat, coalesce(r.satisfaction, 0) AS sat_sum,
       (r.accepted_at IS NOT NULL AND r.respond_by IS NOT NULL
        AND r.accepted_at <= r.respond_by)::int AS n_responded,
       (coalesce(r.satisfaction, 0) >= 4)::int AS n_sat_good,
       CASE WHEN r.status = 'closed' THEN wangge_close_bin(r.closed_at - r.reported_at) END AS bin
FROM incidents r WHERE {where}
"""


# CONTRIB's columns and types, no row: the partial days of a period of whole days. Not read from
# incidents at all, since on Citus even an empty multi-shard read costs a task per shard, each
# planning the caller's scope lists (thousands of ids for a district's commander).
NO_ROWS = """
SELECT NULL::bigint AS area_id, NULL::text AS category, NULL::text AS status, 1 AS n,
       0 AS n_on_time, 0 AS n_closed, 0::numeric AS close_s, 0 AS n_sat, 0 AS sat_sum,
       0 AS n_responded, 0 AS n_sat_good, NULL::smallint AS bin WHERE FALSE
"""


def bin_seconds(b: int) -> float:
    """The representative time to close of histogram bin `b`, in seconds."""
    return 30.0 if b <= 0 else 60.0 * BIN_RATIO ** (b - 0.5)


def _day_split(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The whole UTC days [d0, d1) inside [start, end), or None when there are none."""
    d0 = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if d0 < start:
        d0 += timedelta(days=1)
    d1 = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (d0, d1) if d0 < d1 else None


def incident_filters(principal: Principal | None, categories, params: dict,
                     routed: bool = False) -> tuple[list[str], str]:
    """The caller's scope and the category filter: conditions on incidents (alias r) and on
    the rollup; their parameters are added to `params`. `routed`: the caller ANDs a street
    condition (so the scope's street term must not hide it from Citus's shard pruning)."""
    scope_where, scope_params = scope_filter_hashed("incidents", "r", principal,
                                                    "street_id" if routed else None)
    params.update(scope_params)
    inc_where, roll_where = [scope_where], ""
    if categories:
        params["categories"] = list(categories)
        inc_where.append("r.category = ANY(%(categories)s)")
        roll_where = "AND category = ANY(%(categories)s)"
    return inc_where, roll_where


def _assigned_test() -> str:
    """Whether micro-grid m (in grid g, community c) had an assignment during the period: four
    hashed sets of the period's assigned areas, built once (not probed per micro-grid). Citus
    runs it the same way (assignments is a coordinator table; measured on the quick scale
    bench's region, 15,120 micro-grids: 86 ms, where a correlated EXISTS per micro-grid took
    674 ms, with the same rows)."""
    period = "s.starts_on < %(end)s AND (s.ends_on IS NULL OR s.ends_on >= %(start)s::date)"
    tests = [f"{key} IN (SELECT s.area_id FROM assignments s WHERE {period} "
             f"AND s.level = '{lv}')"
             for lv, key in (("micro_grid", "m.id"), ("grid", "g.id"), ("community", "c.id"),
                             ("street", "c.parent_id"))]
    return "(" + "\n               OR ".join(tests) + ")"


def _other_streets_in_scope(principal: Principal, area: str, categories,
                            streets: tuple[int | None, ...] | None = None) -> str:
    """UNION ALL parts: the whole days' incidents of streets outside the scope's streets (or of
    none) that lie in the scope by community, grid or micro-grid, each read through its own
    area index (one part per level, each leaving out the rows a part before it took), so the
    read follows the scope's areas, not the region's incidents. `streets`
    (gis.routing.scope_streets) names the streets that can hold such incidents, so Citus reads
    only their shards (none: no part at all); the parameter other_streets is set for them."""
    other = _other_streets(principal, streets)
    if other is not None and not other[0] and not other[1]:
        return ""  # every incident of the scope's areas lies in the scope's streets
    taken: list[str] = []
    parts = []
    for lv, col in (("community", "community_id"), ("grid", "grid_id"),
                    ("micro_grid", "micro_grid_id")):
        if not principal.scope.ids(lv):
            continue
        test = f"r.{col} = ANY(%(scope_{lv})s::bigint[])"
        where = [test, "r.reported_at >= %(d0)s", "r.reported_at < %(d1)s"]
        if other is None:
            where.append("(r.street_id IS NULL OR r.street_id <> ALL(%(scope_street)s::bigint[]))")
        else:  # outside the scope's streets by construction; no OR on street_id (see
            # scope_filter_hashed) unless NULL is among them (one node only)
            where.append("(r.street_id = ANY(%(other_streets)s::bigint[])"
                         + (" OR r.street_id IS NULL)" if other[1] else ")"))
        where += [f"NOT coalesce({t}, FALSE)" for t in taken]
        if categories:
            where.append("r.category = ANY(%(categories)s)")
        parts.append(" UNION ALL " + CONTRIB.format(area=area, where=" AND ".join(where)))
        taken.append(test)
    return "".join(parts)


def _other_streets(principal: Principal, streets: tuple[int | None, ...] | None
                   ) -> tuple[list[int], bool] | None:
    """The streets of `streets` outside the scope's own streets, and whether NULL is among
    them (one node); None when the caller's streets are not known."""
    if streets is None:
        return None
    own = set(principal.scope.street)
    return [s for s in streets if s is not None and s not in own], None in streets


def _patrolled(col: str, distributed: bool, days: tuple[datetime, datetime] | None = None,
               start: datetime | None = None, end: datetime | None = None) -> str:
    """CTE patrol_by_area: micro-grids assigned and patrolled per area (at least one patrol
    point in [start, end)). With `days` (the whole UTC days [v0, v1) of the period, parameters
    v0 and v1) the whole days are read from the visits rollup (patrol_visits, migration
    0015_patrol_visits) and only the partial days at either end from patrol_points; the
    rollup holds a row for every day and micro-grid with a point, so the answer is the same.
    One node probes the indexes per assigned micro-grid; Citus allows no correlated subquery
    over a CTE, so there the period's visited micro-grids among the assigned ones are
    collected first (the rollup on the coordinator; the partial days' points, a multi-shard
    DISTINCT) and joined."""
    if days is None:
        ranges, rolled = [("%(start)s", "%(end)s")], False
    else:
        ranges = [(a, b) for a, b, keep in (("%(start)s", "%(v0)s", start < days[0]),
                                             ("%(v1)s", "%(end)s", days[1] < end)) if keep]
        rolled = True
    in_rollup = "v.day >= %(v0)s::date AND v.day < %(v1)s::date"
    if not distributed:
        tests = [f"EXISTS (SELECT 1 FROM patrol_points p WHERE p.micro_grid_id = x.id "
                 f"AND p.t >= {a} AND p.t < {b})" for a, b in ranges]
        if rolled:
            tests.insert(0, "EXISTS (SELECT 1 FROM patrol_visits v WHERE "
                            f"v.micro_grid_id = x.id AND {in_rollup})")
        return f"""    patrol_by_area AS MATERIALIZED (
        SELECT x.{col} AS area_id, count(*) AS assigned,
               count(*) FILTER (WHERE {' OR '.join(tests)}) AS patrolled
        FROM assigned x GROUP BY 1
    ),"""
    parts = [f"SELECT DISTINCT p.micro_grid_id AS id FROM patrol_points p WHERE p.t >= {a} "
             f"AND p.t < {b} AND p.micro_grid_id IS NOT NULL" for a, b in ranges]
    if rolled:
        parts.insert(0, "SELECT DISTINCT v.micro_grid_id AS id FROM patrol_visits v "
                        f"WHERE {in_rollup} AND v.micro_grid_id IN (SELECT id FROM assigned)")
    return f"""    visited AS MATERIALIZED (
        {' UNION '.join(parts)}
    ),
    patrol_by_area AS MATERIALIZED (
        SELECT x.{col} AS area_id, count(*) AS assigned, count(v.id) AS patrolled
        FROM assigned x LEFT JOIN visited v ON v.id = x.id GROUP BY 1
    ),"""


def stats_sql(principal: Principal | None, level: str, start: datetime, end: datetime,
              parent: tuple[str, int] | None = None, rollup: bool = True,
              categories: list[str] | None = None, distributed: bool = False,
              streets: tuple[int | None, ...] | None = None) -> tuple[str, dict]:
    """One statement returning the report rows for every area of `level` (and a total).

    `categories` (when given) keeps only incidents of those categories; `rollup=False` reads
    incidents and patrol points only (the benchmarks' and the tests' baseline); `distributed`
    writes the patrol rate in a form Citus runs (see _patrolled); `streets`
    (gis.routing.scope_streets of a scoped caller) names the streets that can hold the
    caller's incidents, so Citus reads only their shards (same rows)."""
    lv = level_spec(level)
    col = _AREA_COL[lv.name]
    params: dict = {"start": start, "end": end}
    area_where = ["a.valid_to IS NULL"]
    routed = principal is not None and principal.restricted and streets is not None
    inc_where, roll_where = incident_filters(principal, categories, params, routed)
    if routed:
        route, route_params = street_condition("r", streets)
        inc_where.append(route)
        params.update(route_params)
        other = _other_streets(principal, streets)
        params["other_streets"] = other[0] if other else []
    if principal is not None and principal.restricted:
        area_where.append("a.id = ANY(%(scope_areas)s::bigint[])")
        params["scope_areas"] = list(principal.scope.ids(lv.name))
    if parent is not None:
        plevel, pid = parent
        params["parent_id"] = pid
        inc_where.append(f"r.{_AREA_COL[plevel]} = %(parent_id)s")
        chain = {"street": 0, "community": 1, "grid": 2, "micro_grid": 3}
        depth = chain[lv.name] - chain[plevel]
        if depth <= 0:
            raise ValueError(f"a {plevel} holds no {lv.name}s")
        path = "a.parent_id"
        for step in range(depth - 1):
            table = level_spec(["community", "grid", "micro_grid"][chain[plevel] + step]).table
            path = f"(SELECT p.parent_id FROM {table} p WHERE p.id = {path})"
        area_where.append(f"{path} = %(parent_id)s")
    inc = " AND ".join(inc_where)
    assigned_where = "TRUE"
    if principal is not None and principal.restricted:
        assigned_where = "m.id = ANY(%(scope_micro_grid)s::bigint[])"
    if parent is not None:
        parent_col = {"street": "c.parent_id", "community": "c.id", "grid": "g.id",
                      "micro_grid": "m.id"}[parent[0]]
        assigned_where += f" AND {parent_col} = %(parent_id)s"
    days = _day_split(start, end)
    patrol_days = days if rollup else None
    if patrol_days is not None:
        params.update(v0=days[0], v1=days[1])
    restricted = principal is not None and principal.restricted
    scope_streets = bool(restricted and principal.scope.street)
    use_rollup = (rollup and lv.name == "street" and parent is None and days is not None
                  and (not restricted or scope_streets))
    area = f"coalesce(r.{col}, 0)"
    if use_rollup:
        params.update(d0=days[0], d1=days[1])
        # the rollup holds the whole days of the streets read from it: every street, or the
        # scope's streets S; a scoped caller's incidents of other streets (or none) that lie in
        # the scope by their community, grid or micro-grid are read raw for those days too
        in_streets, roll_streets = "TRUE", ""
        if restricted:
            in_streets = "r.street_id = ANY(%(scope_street)s::bigint[])"
            roll_streets = "AND street_id = ANY(%(scope_street)s::bigint[])"
        partial = ("((r.reported_at >= %(start)s AND r.reported_at < %(d0)s) "
                   "OR (r.reported_at >= %(d1)s AND r.reported_at < %(end)s))")
        raw_sql = (NO_ROWS if days == (start, end)
                   else CONTRIB.format(area=area, where=f"({inc}) AND {partial}"))
        if restricted:
            raw_sql += _other_streets_in_scope(principal, area, categories, streets)
        rolled = f"""UNION ALL
            SELECT street_id, category, status, sum(n), sum(n_on_time), sum(n_closed),
                   sum(close_s), sum(n_sat), sum(sat_sum), sum(n_responded), sum(n_sat_good),
                   NULL::smallint FROM incident_rollup
            WHERE day >= %(d0)s::date AND day < %(d1)s::date {roll_where} {roll_streets}
            GROUP BY 1, 2, 3"""
        rolled_hist = f"""UNION ALL SELECT street_id, bin, sum(n) FROM incident_close_hist
            WHERE day >= %(d0)s::date AND day < %(d1)s::date {roll_streets} GROUP BY 1, 2"""
        if categories:  # the histogram has no category: read the whole days' closures raw
            rolled_hist = f"""UNION ALL SELECT coalesce(r.street_id, 0), wangge_close_bin(
                r.closed_at - r.reported_at), 1 FROM incidents r
            WHERE ({inc}) AND {in_streets} AND r.status = 'closed'
              AND r.reported_at >= %(d0)s AND r.reported_at < %(d1)s"""
    else:
        raw_sql = CONTRIB.format(area=area, where=(
            f"({inc}) AND r.reported_at >= %(start)s AND r.reported_at < %(end)s"))
        rolled = rolled_hist = ""
    sql = f"""
    WITH raw AS MATERIALIZED ({raw_sql}),
    parts0 AS (SELECT * FROM raw {rolled}),
    hist0 AS (SELECT area_id, bin, 1 AS n FROM raw WHERE bin IS NOT NULL {rolled_hist}),
    parts AS (SELECT * FROM parts0 UNION ALL SELECT -1, category, status, n, n_on_time,
              n_closed, close_s, n_sat, sat_sum, n_responded, n_sat_good, bin FROM parts0),
    hist AS (SELECT area_id, bin, sum(n) AS n FROM (
                 SELECT * FROM hist0 UNION ALL SELECT -1, bin, n FROM hist0) h
             GROUP BY 1, 2 HAVING sum(n) > 0),
    p90 AS (
        SELECT DISTINCT ON (area_id) area_id, bin FROM (
            SELECT area_id, bin, sum(n) OVER (PARTITION BY area_id ORDER BY bin) AS cum,
                   sum(n) OVER (PARTITION BY area_id) AS tot FROM hist) c
        WHERE cum >= ceil(0.9 * tot) ORDER BY area_id, bin
    ),
    by_status AS (
        SELECT area_id, jsonb_object_agg(status, n) AS j FROM (
            SELECT area_id, status, sum(n) AS n FROM parts GROUP BY 1, 2 HAVING sum(n) <> 0) s
        GROUP BY 1
    ),
    by_category AS (
        SELECT area_id, jsonb_object_agg(category, n) AS j FROM (
            SELECT area_id, category, sum(n) AS n FROM parts GROUP BY 1, 2
            HAVING sum(n) <> 0) s
        GROUP BY 1
    ),
    main AS (
        SELECT area_id, sum(n) AS total,
               sum(n) FILTER (WHERE status IN {ACCEPTED_OR_LATER}) AS accepted,
               sum(n) FILTER (WHERE status IN {DONE}) AS disposed,
               sum(n_on_time) FILTER (WHERE status IN {DONE}) AS on_time,
               sum(n_closed) AS closed, sum(close_s) AS close_s,
               sum(n_sat) AS n_sat, sum(sat_sum) AS sat_sum,
               sum(n_responded) AS responded, sum(n_sat_good) AS sat_good
        FROM parts GROUP BY 1
    ),
    cat_rates AS (
        SELECT area_id, jsonb_object_agg(category, jsonb_build_array(
                   total, accepted, disposed, on_time, responded, n_sat, sat_good)) AS j
        FROM (SELECT area_id, category, sum(n) AS total,
                     sum(n) FILTER (WHERE status IN {ACCEPTED_OR_LATER}) AS accepted,
                     sum(n) FILTER (WHERE status IN {DONE}) AS disposed,
                     sum(n_on_time) FILTER (WHERE status IN {DONE}) AS on_time,
                     sum(n_responded) AS responded, sum(n_sat) AS n_sat,
                     sum(n_sat_good) AS sat_good
              FROM parts GROUP BY 1, 2 HAVING sum(n) <> 0) c
        GROUP BY 1
    ),
    overdue_by_area AS MATERIALIZED (
        SELECT coalesce(r.{col}, 0) AS area_id, count(*) AS n FROM incidents r
        WHERE ({inc}) AND r.status IN {OPEN} AND r.due_at < now()
          AND r.reported_at >= %(start)s AND r.reported_at < %(end)s
        GROUP BY 1
    ),
    overdue AS (  -- per area and the total (NULL area), as GROUP BY ROLLUP gives on one node
        SELECT area_id, n FROM overdue_by_area
        UNION ALL SELECT NULL, coalesce(sum(n), 0) FROM overdue_by_area
    ),
    areas AS (
        SELECT a.id, a.code, a.name FROM {lv.table} a WHERE {' AND '.join(area_where)}
    ),
    assigned AS (
        SELECT m.id, m.parent_id AS grid_id, g.parent_id AS community_id,
               c.parent_id AS street_id, m.id AS micro_grid_id
        FROM micro_grids m JOIN grids g ON g.id = m.parent_id
        JOIN communities c ON c.id = g.parent_id
        WHERE m.valid_to IS NULL AND {assigned_where} AND {_assigned_test()}
    ),
{_patrolled(col, distributed, patrol_days, start, end)}
    patrol AS (
        SELECT area_id, assigned, patrolled FROM patrol_by_area
        UNION ALL SELECT NULL, coalesce(sum(assigned), 0), coalesce(sum(patrolled), 0)
        FROM patrol_by_area
    ),
    report AS (
        SELECT a.id, a.code, a.name, m.*, s.j AS by_status, k.j AS by_category,
               cr.j AS cat_rates,
               p.bin AS p90_bin, coalesce(o.n, 0) AS overdue,
               coalesce(pt.assigned, 0) AS mg_assigned, coalesce(pt.patrolled, 0) AS mg_patrolled
        FROM (SELECT id, code, name FROM areas
              UNION ALL SELECT -1, NULL, 'total') a
        LEFT JOIN main m ON m.area_id = a.id
        LEFT JOIN by_status s ON s.area_id = a.id
        LEFT JOIN by_category k ON k.area_id = a.id
        LEFT JOIN cat_rates cr ON cr.area_id = a.id
        LEFT JOIN p90 p ON p.area_id = a.id
        LEFT JOIN overdue o ON (a.id = -1 AND o.area_id IS NULL) OR o.area_id = a.id
        LEFT JOIN patrol pt ON (a.id = -1 AND pt.area_id IS NULL) OR pt.area_id = a.id
    )
    SELECT id, code, name, coalesce(total, 0), coalesce(accepted, 0), coalesce(disposed, 0),
           coalesce(on_time, 0), coalesce(closed, 0), coalesce(close_s, 0), coalesce(n_sat, 0),
           coalesce(sat_sum, 0), coalesce(by_status, '{{}}'), coalesce(by_category, '{{}}'),
           p90_bin, overdue, mg_assigned, mg_patrolled, coalesce(responded, 0),
           coalesce(sat_good, 0), coalesce(cat_rates, '{{}}')
    FROM report ORDER BY id = -1, code
    """
    return sql, params


def _ratio(a: float, b: float) -> float | None:
    return round(float(a) / float(b), 6) if b else None


def category_rates(cat_rates: dict) -> dict[str, dict]:
    """Per category: reports, disposal, on-time, response and satisfaction rates."""
    out = {}
    for key, (total, accepted, disposed, on_time, responded, n_sat, sat_good) in sorted(
            cat_rates.items()):
        accepted, disposed, total = accepted or 0, disposed or 0, int(total)
        out[key] = {"total": total, "disposal_rate": _ratio(disposed, accepted),
                    "on_time_rate": _ratio(on_time or 0, disposed),
                    "response_rate": _ratio(responded or 0, total),
                    "satisfaction_rate": _ratio(sat_good or 0, n_sat or 0)}
    return out


def shape(rows: list[tuple]) -> tuple[list[dict], dict]:
    """Turn stats_sql rows into (per-area reports, total report)."""
    out = []
    for (aid, code, name, total, accepted, disposed, on_time, closed, close_s, n_sat, sat_sum,
         by_status, by_category, p90_bin, overdue, mg_assigned, mg_patrolled, responded,
         sat_good, cat_rates) in rows:
        close_s, sat_sum, closed, n_sat = float(close_s), float(sat_sum), int(closed), int(n_sat)
        out.append({
            "id": aid if aid != -1 else None, "code": code, "name": name,
            "total": int(total), "by_status": {k: int(v) for k, v in by_status.items()},
            "by_category": {k: int(v) for k, v in by_category.items()},
            "accepted": int(accepted), "disposed": int(disposed),
            "disposal_rate": _ratio(disposed, accepted),
            "on_time_rate": _ratio(on_time, disposed),
            "closed": int(closed),
            "mean_close_hours": round(close_s / closed / 3600, 4) if closed else None,
            "p90_close_hours": (round(bin_seconds(p90_bin) / 3600, 4)
                                if p90_bin is not None else None),
            "overdue": int(overdue),
            "responded": int(responded), "response_rate": _ratio(responded, total),
            "satisfaction": {"count": int(n_sat),
                             "mean": round(sat_sum / n_sat, 4) if n_sat else None},
            "satisfied": int(sat_good),
            "satisfaction_rate": _ratio(sat_good, n_sat),
            "category_rates": category_rates(cat_rates),
            "patrol": {"assigned": int(mg_assigned), "patrolled": int(mg_patrolled),
                       "rate": _ratio(mg_patrolled, mg_assigned)},
        })
    return out[:-1], out[-1]


def density_sql(principal: Principal | None, zoom: int, cells_per_tile: int = 32
                ) -> tuple[str, dict, float]:
    """Incident counts on square cells (degrees) for a bbox: GeoJSON FeatureCollection."""
    size = 360.0 / (2 ** zoom) / cells_per_tile
    where, params = scope_filter("incidents", "i", principal)
    sql = f"""
    SELECT json_build_object('type', 'FeatureCollection', 'cell_degrees', %(size)s::float8,
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature',
            'geometry', ST_AsGeoJSON(ST_MakeEnvelope(cx * %(size)s, cy * %(size)s,
                        (cx + 1) * %(size)s, (cy + 1) * %(size)s, 4326), 7)::json,
            'properties', json_build_object('count', n))), '[]'::json))
    FROM (
        SELECT floor(ST_X(i.geom) / %(size)s)::bigint AS cx,
               floor(ST_Y(i.geom) / %(size)s)::bigint AS cy, count(*) AS n
        FROM incidents i
        WHERE i.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326) AND {where}
          AND (%(start)s::timestamptz IS NULL OR i.reported_at >= %(start)s)
          AND (%(end)s::timestamptz IS NULL OR i.reported_at < %(end)s)
          AND (cardinality(%(category)s::text[]) = 0 OR i.category = ANY(%(category)s))
        GROUP BY 1, 2
    ) c
    """
    params["size"] = size
    return sql, params, size


def cells_in(bbox: tuple[float, float, float, float], size: float) -> int:
    """How many cells a bbox spans at `size` degrees (to refuse absurd requests)."""
    return math.ceil((bbox[2] - bbox[0]) / size + 1) * math.ceil((bbox[3] - bbox[1]) / size + 1)
