"""Routing migrations on a large incidents table: 0013 (the id map and the area pairs filled from
the incidents) and 0014 (the id map partitioned by id range, the actors' report streets filled
from the report events), timed on a scratch database of N generated incidents.

A scratch database is migrated to 0012, then N incidents (one report event each, 500 actors,
18 streets with a community, grid and micro-grid each) are generated with set-based SQL, their
ids spread over 5 * ROUTE_IDS ids (five partitions of the map, as five years of a province at
10^7 incidents a year would be). Then it times:

- migrate_0013_s: `upgrade 0013_incident_routing` (wangge_route_rebuild over the incidents);
- probe_flat_us: p50 of the map's primary-key probe (street_of's first statement) in the flat
  table of 0013, for 2,000 random ids;
- migrate_0014_s: `upgrade 0014_routing_archive` (the map copied into its partitions, the
  report streets filled from the events);
- probe_partitioned_us: the same probe in the partitioned map (partitioned_vs_flat: the ratio
  of the two p50s, above 1 is slower);
- drop_s: `wangge_route_drop(2 * ROUTE_IDS)`, the archive of the first two ranges;
- fallback_us: p50 of gis.routing.street_of's two statements for ids whose map rows were
  dropped (the map misses, the incidents answer: on Citus a lookup on every shard).

With --citus the same runs on the local Citus cluster (`wangge db up --citus`), after the one
node, in the same line. The last line holds the figures:

    routing_migration: rows=... single: ... citus: ... errors=0

Usage: .venv/bin/python bench/routing_migration_bench.py [--rows N] [--quick] [--citus]
(default N = 10^6; --quick: N = 10^5.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gis import citus_local, localdb, migrate  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.routing import MAPPED_SQL, ROUTE_IDS, UNMAPPED_SQL  # noqa: E402
from gis.settings import Settings  # noqa: E402

STREETS = 18
ACTORS = 500
PROBES = 2000
BOX = ("ST_Multi(ST_MakeEnvelope(109.0 + {i} * 0.01, 34.0, 109.01 + {i} * 0.01, 34.01, "
       "4326))")


def scratch(citus: bool, name: str) -> tuple[str, Callable[[], None]]:
    """(URL of an empty scratch database at revision 0012, its clean-up)."""
    settings = Settings()
    if citus:
        citus_local.up(settings, lambda _m: None)
        citus_local.drop_database(settings, name)
        citus_local.create_database(settings, name)
        url = citus_local.coordinator_url(settings, name)
        drop = lambda: citus_local.drop_database(settings, name)  # noqa: E731
    else:
        if not settings.database_url:
            localdb.up(settings, lambda _m: None)
        server = database_url(settings)
        localdb.drop_database(server, name)
        localdb.create_database(server, name)
        url = server.rsplit("/", 1)[0] + "/" + name
        drop = lambda: localdb.drop_database(server, name)  # noqa: E731
    migrate.upgrade(url, "0012_citus_rollup")
    return url, drop


def generate(url: str, rows: int) -> None:
    """The areas, then `rows` incidents with ids spread over 5 * ROUTE_IDS, one report event
    each (on one node with the row triggers off: the foreign keys and the rollup)."""
    step = 5 * ROUTE_IDS // rows
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction():
        for i in range(STREETS):
            code = f"610199{i + 1:03d}"
            street = conn.execute(f"INSERT INTO streets (code, name, parent_code, geom) VALUES "
                                  f"(%s, %s, '610199', {BOX.format(i=i)}) RETURNING id",
                                  (code, code)).fetchone()[0]
            community = conn.execute(f"INSERT INTO communities (code, name, parent_code, "
                                     f"parent_id, geom) VALUES (%s, %s, %s, %s, "
                                     f"{BOX.format(i=i)}) RETURNING id",
                                     (code + "001", code, code, street)).fetchone()[0]
            grid = conn.execute(f"INSERT INTO grids (code, name, parent_code, parent_id, geom) "
                                f"VALUES (%s, %s, %s, %s, {BOX.format(i=i)}) RETURNING id",
                                (code + "001001", code, code + "001", community)).fetchone()[0]
            conn.execute(f"INSERT INTO micro_grids (code, name, parent_code, parent_id, geom) "
                         f"VALUES (%s, %s, %s, %s, {BOX.format(i=i)})",
                         (code + "001001001", code, code + "001001", grid))
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("""
        INSERT INTO incidents (id, code, category, title, geom, reported_at, source, street_id,
                               community_id, grid_id, micro_grid_id)
        SELECT g * %(step)s, 'B' || g, 'garbage', 'bench',
               ST_SetSRID(ST_MakePoint(109.005 + s.k * 0.01, 34.005), 4326),
               now() - make_interval(secs => g %% 2592000), 'worker', s.street, s.community,
               s.grid, s.micro
        FROM generate_series(1, %(rows)s) g
        JOIN (SELECT row_number() OVER (ORDER BY st.id) - 1 AS k, st.id AS street,
                     c.id AS community, gr.id AS grid, m.id AS micro
              FROM streets st JOIN communities c ON c.parent_id = st.id
              JOIN grids gr ON gr.parent_id = c.id JOIN micro_grids m ON m.parent_id = gr.id
             ) s ON s.k = g %% %(streets)s
        """, {"step": step, "rows": rows, "streets": STREETS})
        conn.execute("""
        INSERT INTO incident_events (incident_id, street_id, at, actor, action, to_status)
        SELECT id, street_id, reported_at, 'worker_' || (id / %(step)s %% %(actors)s),
               'report', 'reported' FROM incidents
        """, {"step": step, "actors": ACTORS})
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE incidents")
        conn.execute("ANALYZE incident_events")


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def probe_us(url: str, ids: list[int], statements: tuple[str, ...]) -> float:
    """p50 in microseconds of running `statements` in turn for each id until one finds a row
    (as gis.routing.street_of does)."""
    times = []
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for i in ids[:50]:  # warm the cache and the prepared statements
            for sql in statements:
                conn.execute(sql, (i,), prepare=True).fetchone()
        for i in ids:
            started = time.perf_counter()
            for sql in statements:
                if conn.execute(sql, (i,), prepare=True).fetchone() is not None:
                    break
            times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def run(citus: bool, rows: int) -> dict[str, str]:
    """The figures of one kind of database."""
    name = f"wangge_bench_route_{'citus' if citus else 'single'}_{os.getpid()}"
    url, drop = scratch(citus, name)
    try:
        gen_s = timed(lambda: generate(url, rows))
        print(f"{'citus' if citus else 'single'}: generated {rows} incidents in {gen_s:.1f} s",
              flush=True)
        m13 = timed(lambda: migrate.upgrade(url, "0013_incident_routing"))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM incident_streets TABLESAMPLE SYSTEM (5) LIMIT %s", (PROBES,))]
        random.Random(1).shuffle(ids)
        flat = probe_us(url, ids, (MAPPED_SQL,))
        m14 = timed(lambda: migrate.upgrade(url, "0014_routing_archive"))
        part = probe_us(url, ids, (MAPPED_SQL,))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            mapped, parts, actors = conn.execute(
                "SELECT (SELECT count(*) FROM incident_streets), (SELECT count(*) FROM "
                "pg_inherits WHERE inhparent = 'incident_streets'::regclass), "
                "(SELECT count(*) FROM incident_actor_streets)").fetchone()
            assert mapped == rows and actors > 0, (mapped, actors)
            drop_s = timed(lambda: conn.execute("SELECT wangge_route_drop(%s)",
                                                (2 * ROUTE_IDS,)))
            left = conn.execute("SELECT count(*) FROM incident_streets").fetchone()[0]
        dropped = [i for i in ids if i < 2 * ROUTE_IDS][:200]
        fallback = probe_us(url, dropped, (MAPPED_SQL, UNMAPPED_SQL))
        return {"generate_s": f"{gen_s:.1f}", "migrate_0013_s": f"{m13:.1f}",
                "migrate_0014_s": f"{m14:.1f}", "partitions": str(parts),
                "probe_flat_us": f"{flat:.0f}", "probe_partitioned_us": f"{part:.0f}",
                "partitioned_vs_flat": f"{part / flat:.2f}x", "drop_s": f"{drop_s:.2f}",
                "map_rows_left": str(left), "fallback_us": f"{fallback:.0f}"}
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="incidents generated (default 10^6)")
    parser.add_argument("--quick", action="store_true", help="10^5 incidents (< 5 min)")
    parser.add_argument("--citus", action="store_true",
                        help="also on the local Citus cluster, after the one node")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    if rows < 1000 or rows > 5 * ROUTE_IDS:
        parser.error(f"--rows must lie between 1000 and {5 * ROUTE_IDS}")
    parts, errors = [f"routing_migration: rows={rows}"], 0
    for citus in (False, True) if args.citus else (False,):
        try:
            figures = run(citus, rows)
            parts.append(f"{'citus' if citus else 'single'}: "
                         + " ".join(f"{k}={v}" for k, v in figures.items()))
        except Exception as exc:  # reported on the line: a run with errors prints no figures
            errors += 1
            print(f"{'citus' if citus else 'single'}: failed: {exc!r}", flush=True)
    parts.append(f"errors={errors}")
    print(" ".join(parts))


if __name__ == "__main__":
    main()
