"""Patrols (巡查): start, GPS points in batches (attributed to their micro-grid), end, coverage.

A patrol belongs to a worker; its track is the LineString of its points in time order, rebuilt
on every upload so a live patrol shows its path so far. Points are timestamped on the device;
two points more than GAP_SECONDS apart are not joined: the answer's `segments` (a
MultiLineString) break there, `gaps` lists each break, and `length_m` counts only the segments.
Points outside the worker's areas are refused (all or nothing per batch), like incidents.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from psycopg import AsyncConnection

from gis.attribution import locate_select
from gis.crs import UnknownCRS, client_crs, to_wgs84
from gis.patrol_visits import RECORD_SQL as VISITS_RECORD_SQL
from gis.scope import Principal, scope_filter

MAX_POINTS = 5000


class PatrolError(ValueError):
    """A bad patrol request; `status` is the HTTP-like status, `errors` per bad point."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.errors = status, errors or []


GAP_SECONDS = 60  # points further apart in time are not joined: the track has a gap there

# The patrol's points in time order, numbered by segment: a new segment starts after a gap.
SEGMENTS_SQL = f"""
    SELECT q.t, q.id, q.geom, sum(q.brk) OVER (ORDER BY q.t, q.id) AS seg FROM (
        SELECT q.t, q.id, q.geom,
               CASE WHEN q.t - lag(q.t) OVER (ORDER BY q.t, q.id)
                         > interval '{GAP_SECONDS} seconds' THEN 1 ELSE 0 END AS brk
        FROM patrol_points q WHERE q.patrol_id = p.id) q"""
GAPS_SQL = f"""
    SELECT q.prev_t AS "from", q.t AS "to",
           extract(epoch FROM q.t - q.prev_t)::int AS seconds FROM (
        SELECT q.t, lag(q.t) OVER (ORDER BY q.t, q.id) AS prev_t
        FROM patrol_points q WHERE q.patrol_id = p.id) q
    WHERE q.t - q.prev_t > interval '{GAP_SECONDS} seconds'"""
LINES_SQL = f"""
    SELECT s.seg, ST_MakeLine(s.geom ORDER BY s.t, s.id) AS line FROM ({SEGMENTS_SQL}) s
    GROUP BY s.seg HAVING count(*) >= 2"""

PATROL_JSON = f"""json_build_object(
    'id', p.id, 'worker_id', p.worker_id,
    'worker', (SELECT name FROM workers WHERE id = p.worker_id),
    'started_at', p.started_at, 'ended_at', p.ended_at,
    'points', (SELECT count(*) FROM patrol_points q WHERE q.patrol_id = p.id),
    'length_m', (SELECT round(coalesce(sum(ST_Length(l.line::geography)), 0)::numeric, 1)
                 FROM ({LINES_SQL}) l),
    'segments', (SELECT ST_AsGeoJSON(ST_Multi(coalesce(ST_Collect(l.line ORDER BY l.seg),
                        'MULTILINESTRING EMPTY'::geometry)), 7)::json FROM ({LINES_SQL}) l),
    'gaps', (SELECT coalesce(json_agg(g ORDER BY g."from"), '[]'::json) FROM ({GAPS_SQL}) g),
    'micro_grids', (SELECT coalesce(json_agg(DISTINCT q.micro_grid_id), '[]'::json)
                    FROM patrol_points q WHERE q.patrol_id = p.id AND q.micro_grid_id IS NOT NULL),
    'track', ST_AsGeoJSON(p.track, 7)::json)"""

# The same answer cut to the points inside a confined caller's scope: the track is rebuilt
# from those points only, so no coordinate outside the caller's areas leaves the database.
SCOPED_PATROL_JSON = """(SELECT json_build_object(
    'id', p.id, 'worker_id', p.worker_id,
    'worker', (SELECT name FROM workers WHERE id = p.worker_id),
    'started_at', p.started_at, 'ended_at', p.ended_at,
    'points', count(*),
    'length_m', round(coalesce(ST_Length((CASE WHEN count(*) >= 2
                 THEN ST_MakeLine(q.geom ORDER BY q.t, q.id) END)::geography), 0)::numeric, 1),
    'micro_grids', coalesce(json_agg(DISTINCT q.micro_grid_id)
                            FILTER (WHERE q.micro_grid_id IS NOT NULL), '[]'::json),
    'track', ST_AsGeoJSON(CASE WHEN count(*) >= 2
                          THEN ST_MakeLine(q.geom ORDER BY q.t, q.id) END, 7)::json)
 FROM patrol_points q WHERE q.patrol_id = p.id AND {in_scope})"""


def _visible(principal: Principal) -> tuple[str, dict]:
    """Patrols the caller may see: their own, or any with a point in their scope."""
    if not principal.restricted:
        return "TRUE", {}
    where, params = scope_filter("patrol_points", "q", principal)
    own = "p.worker_id = %(me)s OR " if principal.worker_id else ""
    return (f"({own}EXISTS (SELECT 1 FROM patrol_points q WHERE q.patrol_id = p.id AND {where}))",
            {**params, "me": principal.worker_id})


def _answer(principal: Principal) -> str:
    """The patrol's JSON as the caller may see it: whole, or cut to the caller's scope."""
    if not principal.restricted:
        return PATROL_JSON
    return SCOPED_PATROL_JSON.format(in_scope=scope_filter("patrol_points", "q", principal)[0])


async def start(conn: AsyncConnection, principal: Principal,
                started_at: datetime | None) -> dict:
    """Open a patrol for the calling worker."""
    if principal.worker_id is None:
        raise PatrolError(403, "only an account linked to a worker patrols")
    cur = await conn.execute(
        "INSERT INTO patrols AS p (worker_id, started_at) VALUES (%s, coalesce(%s, now())) "
        "RETURNING id", (principal.worker_id, started_at))
    return await _json(conn, (await cur.fetchone())[0])


async def _json(conn: AsyncConnection, patrol_id: int) -> dict:
    """The whole patrol's answer (read apart from the write: Citus keeps subqueries out of
    INSERT and UPDATE, and the read is routed to the patrol's shard)."""
    cur = await conn.execute(f"SELECT {PATROL_JSON} FROM patrols p WHERE p.id = %s",
                             (patrol_id,))
    return (await cur.fetchone())[0]


async def _own_open(conn: AsyncConnection, principal: Principal, patrol_id: int) -> None:
    cur = await conn.execute("SELECT worker_id, ended_at FROM patrols WHERE id = %s FOR UPDATE",
                             (patrol_id,))
    row = await cur.fetchone()
    if row is None or row[0] != principal.worker_id:
        raise PatrolError(404, f"no patrol {patrol_id} of yours")
    if row[1] is not None:
        raise PatrolError(409, f"patrol {patrol_id} has ended")


TRACK_SQL = """
UPDATE patrols p SET track = (
    SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(q.geom ORDER BY q.t, q.id) END
    FROM patrol_points q WHERE q.patrol_id = p.id)
WHERE p.id = %(id)s
"""


async def add_points(conn: AsyncConnection, principal: Principal, patrol_id: int,
                     points: list[dict], max_points: int = MAX_POINTS) -> dict:
    """Attribute and store a batch of {t, lon, lat, crs, accuracy} (inside a transaction)."""
    if not points:
        raise PatrolError(422, "no points")
    if len(points) > max_points:
        raise PatrolError(422, f"a batch holds at most {max_points} points, got {len(points)}")
    await _own_open(conn, principal, patrol_id)
    lon, lat = np.empty(len(points)), np.empty(len(points))
    groups: dict[str, list[int]] = {}
    for i, pt in enumerate(points):
        try:
            groups.setdefault(client_crs(pt.get("crs")), []).append(i)
        except UnknownCRS as exc:
            raise PatrolError(422, str(exc), [{"index": i, "reason": str(exc)}]) from None
    for crs, idx in groups.items():
        lon[idx], lat[idx] = to_wgs84([points[i]["lon"] for i in idx],
                                      [points[i]["lat"] for i in idx], crs)
    bad = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180)
                           & (np.abs(lat) <= 90)))
    if bad.size:
        raise PatrolError(422, "coordinates out of range",
                          [{"index": int(i), "reason": "out of range"} for i in bad])
    in_scope, params = scope_filter("patrol_points", "l", principal)
    cur = await conn.execute(f"""
    WITH src AS (
        SELECT u.*, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
        FROM unnest(%(lon)s::float8[], %(lat)s::float8[], %(t)s::timestamptz[],
                    %(accuracy)s::real[]) WITH ORDINALITY AS u(lon, lat, t, accuracy, ord)
    ),
    l AS MATERIALIZED (SELECT src.*, {locate_select('src.geom')} FROM src),
    bad AS (SELECT ord - 1 AS idx FROM l WHERE NOT coalesce({in_scope}, FALSE)),
    ins AS (
        INSERT INTO patrol_points (patrol_id, t, accuracy, geom, micro_grid_id, grid_id,
                                   community_id, street_id)
        SELECT %(id)s, t, accuracy, geom, micro_grid_id, grid_id, community_id, street_id
        FROM l WHERE NOT EXISTS (SELECT 1 FROM bad) RETURNING t, micro_grid_id, street_id
    ),
    visits AS MATERIALIZED (
        SELECT (t AT TIME ZONE 'UTC')::date AS day, micro_grid_id, street_id, count(*) AS n
        FROM ins WHERE micro_grid_id IS NOT NULL GROUP BY 1, 2, 3
    )
    SELECT (SELECT array_agg(idx ORDER BY idx) FROM bad),
           (SELECT count(*) FROM ins),
           (SELECT coalesce(array_agg(DISTINCT micro_grid_id), '{{}}') FROM visits),
           (SELECT array_agg(day) FROM visits), (SELECT array_agg(micro_grid_id) FROM visits),
           (SELECT array_agg(street_id) FROM visits), (SELECT array_agg(n) FROM visits)
    """, {**params, "id": patrol_id, "lon": lon.tolist(), "lat": lat.tolist(),
          "t": [p["t"] for p in points], "accuracy": [p.get("accuracy") for p in points]})
    bad_idx, stored, micro_grids, *visits = await cur.fetchone()
    if bad_idx:
        raise PatrolError(403, "points outside your areas",
                          [{"index": i, "reason": "outside your areas"} for i in bad_idx])
    if visits[0]:  # the patrol rate's rollup (on one node its triggers have counted them)
        await conn.execute(VISITS_RECORD_SQL, dict(zip(("days", "micro_grids", "streets",
                                                        "counts"), visits, strict=True)))
    await conn.execute(TRACK_SQL, {"id": patrol_id})
    await conn.execute("SELECT wangge_touch('patrol_points')")  # see gis/changes.py
    return {"patrol_id": patrol_id, "stored": stored, "micro_grids": sorted(micro_grids)}


async def end(conn: AsyncConnection, principal: Principal, patrol_id: int,
              ended_at: datetime | None) -> dict:
    """Close a patrol (inside a transaction); returns it with its track."""
    await _own_open(conn, principal, patrol_id)
    await conn.execute(TRACK_SQL, {"id": patrol_id})
    # the clock is read first: Citus evaluates no now() next to a column in an UPDATE
    cur = await conn.execute("SELECT coalesce(%s::timestamptz, now())", (ended_at,))
    await conn.execute("UPDATE patrols p SET ended_at = greatest(%s, p.started_at) "
                       "WHERE p.id = %s", ((await cur.fetchone())[0], patrol_id))
    return await _json(conn, patrol_id)


async def get(conn: AsyncConnection, principal: Principal, patrol_id: int) -> dict | None:
    """A patrol with its track, if the caller may see it."""
    where, params = _visible(principal)
    cur = await conn.execute(f"SELECT {_answer(principal)} FROM patrols p WHERE p.id = %(id)s "
                             f"AND {where}", {**params, "id": patrol_id})
    row = await cur.fetchone()
    return row[0] if row else None


def coverage_sql(principal: Principal) -> tuple[str, dict]:
    """Micro-grids in scope visited in [start, end): by whom, how often, last visit."""
    where, params = scope_filter("patrol_points", "q", principal)
    return f"""
    SELECT coalesce(json_agg(x ORDER BY x.code), '[]'::json) FROM (
        SELECT m.id, m.code, m.name, count(DISTINCT q.patrol_id) AS patrols,
               count(*) AS points, max(q.t) AS last_at,
               array_agg(DISTINCT w.name ORDER BY w.name) AS workers
        FROM patrol_points q JOIN patrols p ON p.id = q.patrol_id
        JOIN workers w ON w.id = p.worker_id
        JOIN micro_grids m ON m.id = q.micro_grid_id
        WHERE q.t >= %(start)s AND q.t < %(end)s AND {where}
          AND (%(worker_id)s::bigint IS NULL OR p.worker_id = %(worker_id)s)
        GROUP BY m.id, m.code, m.name) x
    """, params
