"""The scale bench's incidents, patrols and patrol points: deterministic, set-based SQL.

Every generated value is a function of the row's id (pseudo-random numbers are hashes of it,
`hashint8`), never of `random()` or of the order rows are made in, so the single node and each
Citus shard run the SAME statement and hold exactly the same rows; nothing is copied through the
coordinator. A statement takes the rows of the micro-grids (or grids) whose code starts with one
of the given county codes, optionally only those whose distribution key hashes into a shard's
range (`hashint8`, Citus's hash of a bigint key), and writes them into the named table, a
shard's own table on a worker included (`tables` maps each table to the name to use).

- incidents: each micro-grid of a district gets n // M of the district's n incidents (the first
  n % M micro-grids, by id, one more); the j-th one of micro-grid m has id (j - 1) * STRIDE +
  m.id, lies inside m's box, and its category, state, times and rating follow from the id, in the
  same proportions as bench/stats_bench.bulk_incidents;
- patrols: one a day per grid's worker, `days` days from 1 January, id (grid id - 1) * days + day;
- patrol points: `per_patrol` a patrol, 5 minutes apart, each inside one of its grid's
  micro-grids (id (patrol id - 1) * per_patrol + k).

The bulk load runs with the row triggers off (`session_replication_role = replica`: the foreign
keys' checks and the rollup's statement triggers), the tables' plain indexes dropped and built
after, and the rollup filled once, afterwards, by the rollup trigger's own SQL (read from the
database), so it stays exact; the patrol visits (the patrol rate's rollup) are recounted from
the points by the migration's own function (fill_visits).
"""

from __future__ import annotations

import concurrent.futures as cf
import re
import time
from collections.abc import Sequence

import psycopg
from psycopg.conninfo import make_conninfo

from gis.categories import load_categories
from gis.patrol_visits import REBUILD_SQL as VISITS_REBUILD_SQL

STRIDE = 100_000  # above every micro-grid id: an incident's id is (j - 1) * STRIDE + m.id
MIN_MICRO = 1_000  # micro-grids in a district at least (7,560 here): bounds the ids
TABLES = ("incidents", "patrols", "patrol_points")
BUILT_AFTER = ("incidents", "patrol_points")  # their plain indexes are built after the load
# a uniform number in [0, 1) from a bigint expression
U = "((hashint8({x})::float8 + 2147483648.0) / 4294967296.0)"

# per table: exact, order-independent figures both databases must agree on after the load
CHECKSUMS = {
    "streets": "count(*), sum(id), sum(hashtext(code))",
    "communities": "count(*), sum(id), sum(parent_id)",
    "grids": "count(*), sum(id), sum(parent_id)",
    "micro_grids": "count(*), sum(id), sum(parent_id), sum(hashtext(ST_AsEWKB(geom)::text))",
    "buildings": "count(*), sum(id), sum(micro_grid_id), sum(households)",
    "workers": "count(*), sum(id), sum(hashtext(name))",
    "incidents": ("count(*), sum(id), sum(street_id), sum(micro_grid_id), "
                  "sum(hashtext(code || category || status)), "
                  "sum(floor(extract(epoch FROM reported_at)))::bigint, "
                  "sum(floor(extract(epoch FROM coalesce(closed_at, due_at))))::bigint, "
                  "sum(coalesce(satisfaction, 0)), "
                  "sum(round(ST_X(geom) * 1e7)::bigint + round(ST_Y(geom) * 1e7)::bigint)"),
    "incident_rollup": ("count(*), sum(n), sum(n_on_time), sum(n_closed), sum(n_sat), "
                        "sum(sat_sum), sum(n_responded), sum(n_sat_good), "
                        "round(sum(close_s) / 1000)::bigint, "
                        "sum(hashtext(day::text || street_id || category || status))"),
    "incident_close_hist": "count(*), sum(n), sum(bin * n), sum(street_id * n)",
    "patrols": ("count(*), sum(id), sum(worker_id), "
                "sum(floor(extract(epoch FROM started_at)))::bigint"),
    "patrol_points": ("count(*), sum(id), sum(patrol_id), sum(micro_grid_id), sum(street_id), "
                      "sum(floor(extract(epoch FROM t)))::bigint, "
                      "sum(round(ST_X(geom) * 1e7)::bigint + round(ST_Y(geom) * 1e7)::bigint)"),
    "patrol_visits": ("count(*), sum(n), sum(micro_grid_id * n), sum(street_id * n), "
                      "sum((day - date '2000-01-01') * n)"),
}


def u(expr: str) -> str:
    """SQL for a pseudo-random number in [0, 1) determined by the bigint `expr`."""
    return U.format(x=expr)


def _names(tables: dict[str, str] | None) -> dict[str, str]:
    names = {t: t for t in ("streets", "communities", "grids", "micro_grids", "workers",
                            *TABLES)}
    names.update(tables or {})
    return names


def _hash_filter(column: str, hash_range: tuple[int, int] | None) -> str:
    if hash_range is None:
        return ""
    lo, hi = hash_range
    return f" AND hashint8({column}) BETWEEN {int(lo)} AND {int(hi)}"


def incidents_sql(per_district: int, year: int, *, tables: dict[str, str] | None = None,
                  hash_range: tuple[int, int] | None = None) -> tuple[str, dict]:
    """(INSERT statement, parameters) for the incidents of the counties in %(counties)s (a
    text[] of LIKE patterns), `per_district` in each district, over `year`."""
    t = _names(tables)
    cats = load_categories()
    keys = list(cats)
    resp = [cats[k].response_hours for k in keys]
    sql = f"""
    INSERT INTO {t['incidents']} (id, code, category, title, geom, reported_at, source, status,
        due_at, respond_by, accepted_at, resolved_at, closed_at, satisfaction, street_id,
        community_id, grid_id, micro_grid_id)
    SELECT id, 'D' || (substr(county, 5, 2)::int - 1) || '-' || id, (%(cats)s::text[])[1 + id %% 8],
           'bench', ST_SetSRID(ST_MakePoint(x0 + (0.02 + 0.96 * {u('id * 8 + 1')}) * dx,
                                            y0 + (0.02 + 0.96 * {u('id * 8 + 2')}) * dy), 4326),
           rep, 'app', st, rep + interval '24 hours',
           rep + make_interval(secs => (%(resp)s::float8[])[1 + id %% 8] * 3600),
           CASE WHEN st NOT IN ('reported', 'rejected') THEN rep + acc END,
           CASE WHEN st IN ('resolved', 'verified', 'closed') THEN rep + acc + res END,
           CASE WHEN st = 'closed' THEN rep + acc + res + interval '6 hours' END,
           CASE WHEN st = 'closed' AND id %% 3 > 0 THEN 1 + id %% 5 END,
           street_id, community_id, grid_id, micro_grid_id
    FROM (
        SELECT i.id, m.*,
               make_timestamptz({int(year)}, 1, 1, 0, 0, 0, 'UTC')
                   + ({u('i.id * 8 + 3')} * 364) * interval '1 day' AS rep,
               CASE WHEN i.id %% 50 = 0
                    THEN (ARRAY['in_progress', 'dispatched', 'accepted', 'reported'])[1 + i.id %% 4]
                    ELSE (ARRAY['closed', 'closed', 'closed', 'closed', 'closed', 'closed',
                                'verified', 'resolved', 'rejected'])[1 + (i.id * 7) %% 9]
               END AS st,
               ({u('i.id * 8 + 4')} * 6) * interval '1 hour' AS acc,
               ({u('i.id * 8 + 5')} * 48) * interval '1 hour' AS res
        FROM (
            SELECT mg.id AS micro_grid_id, mg.parent_id AS grid_id, g.parent_id AS community_id,
                   c.parent_id AS street_id, left(mg.code, 6) AS county,
                   ST_XMin(mg.geom) AS x0, ST_YMin(mg.geom) AS y0,
                   ST_XMax(mg.geom) - ST_XMin(mg.geom) AS dx,
                   ST_YMax(mg.geom) - ST_YMin(mg.geom) AS dy,
                   %(n)s / count(*) OVER w
                   + (row_number() OVER (w ORDER BY mg.id) <= %(n)s %% count(*) OVER w)::int
                       AS n_here
            FROM {t['micro_grids']} mg JOIN {t['grids']} g ON g.id = mg.parent_id
            JOIN {t['communities']} c ON c.id = g.parent_id
            WHERE mg.code LIKE ANY (%(counties)s::text[])
            WINDOW w AS (PARTITION BY left(mg.code, 6))) m
        CROSS JOIN LATERAL (SELECT (j - 1) * {STRIDE}::bigint + m.micro_grid_id AS id
                            FROM generate_series(1, m.n_here) j) i
        WHERE true{_hash_filter('m.street_id', hash_range)}) x
    """
    return sql, {"cats": keys, "resp": resp, "n": per_district}


def buildings_sql(per_micro_grid: int, *, tables: dict[str, str] | None = None) -> str:
    """INSERT of small footprints (up to 8) in every micro-grid of %(counties)s, 6-24
    households each; the b-th one of micro-grid m has id (m.id - 1) * 8 + b."""
    t = _names({"buildings": "buildings", **(tables or {})})
    if not 1 <= per_micro_grid <= 8:
        raise ValueError("1 to 8 buildings a micro-grid")
    return f"""
    INSERT INTO {t['buildings']} (id, code, micro_grid_id, grid_id, households, floors, geom)
    SELECT (m.id - 1) * 8 + b, m.code || lpad(b::text, 3, '0'), m.id, m.parent_id,
           6 + (m.id + b) %% 19, 6,
           ST_Multi(ST_MakeEnvelope(x0 + w * (0.05 + ((b - 1) %% 4) * 0.24),
                                    y0 + h * (0.08 + ((b - 1) / 4) * 0.5),
                                    x0 + w * (0.22 + ((b - 1) %% 4) * 0.24),
                                    y0 + h * (0.42 + ((b - 1) / 4) * 0.5), 4326))
    FROM {t['micro_grids']} m
    CROSS JOIN LATERAL (SELECT ST_XMin(m.geom) AS x0, ST_YMin(m.geom) AS y0,
                               ST_XMax(m.geom) - ST_XMin(m.geom) AS w,
                               ST_YMax(m.geom) - ST_YMin(m.geom) AS h) box
    CROSS JOIN generate_series(1, {int(per_micro_grid)}) b
    WHERE m.code LIKE ANY (%(counties)s::text[])"""


def _patrol_rows(t: dict[str, str], year: int, days: int) -> str:
    """SELECT of (pid, worker_id, grid, started_at) for the grids of %(counties)s."""
    return f"""
    SELECT (g.id - 1) * {int(days)} + d AS pid, w.id AS worker_id, g.id AS grid_id,
           g.parent_id AS community_id, g.code AS grid_code,
           make_timestamptz({int(year)}, 1, 1, 9, 0, 0, 'UTC') + (d - 1) * interval '1 day'
               AS started_at
    FROM {t['grids']} g JOIN {t['workers']} w ON w.name = 'W' || g.code
    CROSS JOIN generate_series(1, {int(days)}) d
    WHERE g.code LIKE ANY (%(counties)s::text[])"""


def patrols_sql(year: int, days: int, *, tables: dict[str, str] | None = None,
                hash_range: tuple[int, int] | None = None) -> str:
    """INSERT of a patrol a day per grid's worker (the grids of %(counties)s)."""
    t = _names(tables)
    return f"""
    INSERT INTO {t['patrols']} (id, worker_id, started_at, ended_at)
    SELECT pid, worker_id, started_at, started_at + interval '2 hours'
    FROM ({_patrol_rows(t, year, days)}) p
    WHERE true{_hash_filter('p.pid', hash_range)}"""


def patrol_points_sql(year: int, days: int, per_patrol: int, micro: int, *,
                      tables: dict[str, str] | None = None,
                      hash_range: tuple[int, int] | None = None) -> str:
    """INSERT of `per_patrol` points a patrol, each inside one of its grid's `micro`
    micro-grids (the grids of %(counties)s)."""
    t = _names(tables)
    pt = f"(p.pid - 1) * {int(per_patrol)} + k"
    return f"""
    INSERT INTO {t['patrol_points']} (id, patrol_id, t, geom, micro_grid_id, grid_id,
                                      community_id, street_id)
    SELECT {pt}, p.pid, p.started_at + k * interval '5 minutes',
           ST_SetSRID(ST_MakePoint(
               ST_XMin(m.geom) + (0.05 + 0.9 * {u(f'({pt}) * 4 + 1')})
                                 * (ST_XMax(m.geom) - ST_XMin(m.geom)),
               ST_YMin(m.geom) + (0.05 + 0.9 * {u(f'({pt}) * 4 + 2')})
                                 * (ST_YMax(m.geom) - ST_YMin(m.geom))), 4326),
           m.id, p.grid_id, p.community_id, c.parent_id
    FROM ({_patrol_rows(t, year, days)}) p
    JOIN {t['communities']} c ON c.id = p.community_id
    CROSS JOIN generate_series(1, {int(per_patrol)}) k
    JOIN {t['micro_grids']} m ON m.parent_id = p.grid_id
         AND m.code = p.grid_code || lpad((1 + (p.pid + k * 3) %% {int(micro)})::text, 3, '0')
    WHERE true{_hash_filter('p.pid', hash_range)}"""


def plain_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint."""
    return [tuple(r) for r in conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)", (table,))]


def drop_plain_indexes(conn: psycopg.Connection,
                       tables: Sequence[str] = BUILT_AFTER) -> list[str]:
    """Drop the tables' plain indexes (on Citus, from the coordinator: every shard's); their
    definitions, for build_indexes."""
    saved = [d for t in tables for d in plain_indexes(conn, t)]
    for name, _ in saved:
        conn.execute(f"DROP INDEX {name}")
    return [definition for _, definition in saved]


def build_indexes(conn: psycopg.Connection, definitions: Sequence[str]) -> None:
    """Build the indexes drop_plain_indexes dropped (once each, over all rows)."""
    for definition in definitions:
        conn.execute(definition)


def rollup_fill_sql(conn: psycopg.Connection, source: str) -> str | None:
    """The rollup trigger's own statement with its transition table replaced by `source` (a
    subquery of incidents), or None when the database keeps no rollup trigger."""
    row = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = "
                       "'wangge_incident_rollup_ins'").fetchone()
    has_trigger = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal "
                               "AND tgfoid = 'wangge_incident_rollup_ins'::regproc)"
                               ).fetchone()[0] if row else False
    if not row or not has_trigger:
        return None
    body = re.sub(r"RETURN\s+NULL\s*;\s*END\s*;?\s*$", "",
                  re.sub(r"^\s*BEGIN", "", row[0].strip()), flags=re.S).strip()
    if "new_rows" not in body:
        raise RuntimeError("the rollup trigger no longer reads new_rows: fill_rollup needs "
                           "updating")
    return re.sub(r"\bnew_rows\b", f"({source})", body)


def _insert_facts(dsn: str, counties: Sequence[str], per_district: int, year: int, days: int,
                  per_patrol: int, micro: int) -> dict[str, float]:
    """One connection's share: the three INSERTs for `counties`, row triggers off."""
    params = {"counties": [c + "%" for c in counties]}
    inc_sql, inc_params = incidents_sql(per_district, year)
    took: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for step, sql, extra in (
                ("incidents", inc_sql, inc_params),
                ("patrols", patrols_sql(year, days), {}),
                ("points", patrol_points_sql(year, days, per_patrol, micro), {})):
            t0 = time.perf_counter()
            conn.execute(sql, {**params, **extra})
            took[step] = time.perf_counter() - t0
    return took


def _rollup_share(dsn: str, counties: Sequence[str], per_district: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        fill_rollup(conn, counties, per_district)


def load_facts(conn: psycopg.Connection, counties: Sequence[str], per_district: int, year: int,
               days: int, per_patrol: int, micro: int, parallel: int = 2) -> dict[str, float]:
    """The incidents, patrols and points of `counties` into a single-node database: triggers
    off, plain indexes built after, the rollup filled once; the counties shared out over
    `parallel` connections (one per core). Seconds per step (the slowest connection's)."""
    check_ids(conn, counties, per_district)
    dsn = make_conninfo(conn.info.dsn, password=conn.info.password)
    groups = [list(counties[k::parallel]) for k in range(min(parallel, len(counties)))]
    took: dict[str, float] = {}
    indexes = drop_plain_indexes(conn)
    with cf.ThreadPoolExecutor(len(groups)) as pool:
        for share in pool.map(lambda g: _insert_facts(dsn, g, per_district, year, days,
                                                      per_patrol, micro), groups):
            for step, seconds in share.items():
                took[step] = max(took.get(step, 0.0), seconds)
        t0 = time.perf_counter()
        build_indexes(conn, indexes)
        took["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(lambda g: _rollup_share(dsn, g, per_district), groups))
        took["rollup"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if fill_visits(conn):
        took["visits"] = time.perf_counter() - t0
    move_sequences(conn, per_district)
    return took


def fill_rollup(conn: psycopg.Connection, counties: Sequence[str], per_district: int) -> bool:
    """Add the generated incidents of `counties` to the rollup with the rollup trigger's SQL
    (exact, as if they had been inserted with it on); False when there is no rollup trigger."""
    fill = rollup_fill_sql(conn, "SELECT i.* FROM incidents i JOIN micro_grids m ON m.id = "
                           "i.micro_grid_id WHERE m.code LIKE ANY (%(counties)s::text[]) "
                           f"AND i.id < {max_generated_id(per_district)}")
    if fill is None:
        return False
    conn.execute(fill.replace("%", "%%").replace("%%(counties)s", "%(counties)s"),
                 {"counties": [c + "%" for c in counties]})
    return True


def fill_visits(conn: psycopg.Connection) -> bool:
    """Recount the patrol rate's rollup (patrol_visits) from every stored patrol point with the
    migration's own function (the load ran with its triggers off; Citus has none); False when
    the database keeps no such rollup."""
    if conn.execute("SELECT to_regproc('wangge_patrol_visits_rebuild') IS NULL").fetchone()[0]:
        return False
    conn.execute(VISITS_REBUILD_SQL)
    return True


def max_generated_id(per_district: int) -> int:
    """Above every generated incident's id (micro-grid ids below STRIDE, at least MIN_MICRO
    micro-grids a district); below 10^9, the nine digits an incident's code gives its id."""
    return (per_district // MIN_MICRO + 2) * STRIDE


def check_ids(conn: psycopg.Connection, counties: Sequence[str], per_district: int) -> None:
    """Refuse a region whose ids the generator cannot keep apart (see max_generated_id)."""
    top, fewest = conn.execute(
        "SELECT max(id), min(n) FROM micro_grids, (SELECT count(*) AS n FROM micro_grids "
        "WHERE code LIKE ANY (%s::text[]) GROUP BY left(code, 6)) c",
        ([c + "%" for c in counties],)).fetchone()
    if top >= STRIDE or fewest < MIN_MICRO or max_generated_id(per_district) >= 10**9:
        raise SystemExit(f"scale: {top} micro-grid ids, {fewest} micro-grids a district and "
                         f"{per_district} incidents a district: the generator's ids need "
                         f"ids below {STRIDE}, {MIN_MICRO} micro-grids a district and fewer "
                         "incidents")


def move_sequences(conn: psycopg.Connection, per_district: int) -> None:
    """Identity sequences past the generated ids: new incidents get ids above every generated
    one, of every district, so later districts' rows never meet the intake's."""
    for table, floor in (("incidents", max_generated_id(per_district)), ("patrols", 0),
                         ("patrol_points", 0), ("buildings", 0)):
        seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
        conn.execute(f"SELECT setval(%s, greatest(%s, (SELECT coalesce(max(id), 0) "
                     f"FROM {table})) + 1, false)", (seq, floor))


def checksums(conn: psycopg.Connection, tables: Sequence[str]) -> dict[str, tuple]:
    """Per table, the CHECKSUMS figures (count, sums of ids and of hashed values)."""
    return {t: tuple(conn.execute(f"SELECT {CHECKSUMS[t]} FROM {t}").fetchone()) for t in tables}
