"""People benchmark: a worker's "my cases" list, dispatch suggestions and the roster import.

Builds its own database with the incidents benchmark's generated district (3 streets, 15
communities, 150 grids, 1,200 micro-grids) holding N incidents, one worker account per
micro-grid (a micro-grid leader), and dispatches every open case to its micro-grid's worker.
It measures, on one connection, the SQL the API runs:

- my_cases: GET /incidents?assignee=me for a random worker (overdue first, then due time),
  against its peer, the same worker's plain list of the cases in its area (newest first);
- assignees: GET /incidents/{id}/assignees (who covers a random open case);
- import: `wangge import workers` rows per second for a 2,000-row roster (checked, then written
  in one transaction; rolled back so every run starts alike).

The last line holds the figures:

    people: my_cases_ms_median=... scope_list_ms_median=... my_cases_vs_scope=... ...

Usage: .venv/bin/python bench/people_bench.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.incidents_bench import build_district, bulk_incidents  # noqa: E402
from gis import localdb, migrate  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.dispatch import suggestions  # noqa: E402
from gis.incidents import list_sql  # noqa: E402
from gis.roster import import_workers  # noqa: E402
from gis.scope import EXPAND_SCOPE_SQL, Principal, Scope  # noqa: E402
from gis.settings import Settings  # noqa: E402

ADMIN = Principal(0, "bench", "admin")


def add_workers(conn: psycopg.Connection) -> int:
    """One micro-grid leader with an account per micro-grid; open cases dispatched to them."""
    conn.execute("""
    WITH m AS (SELECT id, code FROM micro_grids),
    w AS (INSERT INTO workers (code, name) SELECT 'W' || code, '微网格长' || right(code, 6)
          FROM m RETURNING id, code),
    s AS (INSERT INTO assignments (worker_id, level, area_id, role, starts_on)
          SELECT w.id, 'micro_grid', m.id, 'micro_grid_leader', DATE '2020-01-01'
          FROM w JOIN m ON w.code = 'W' || m.code)
    INSERT INTO accounts (username, password_hash, role, worker_id)
    SELECT 'w' || code, '!', 'worker', id FROM w""")
    conn.execute("""
    UPDATE incidents i SET status = 'dispatched', assignee_account_id = a.id,
           due_at = now() + (i.id % 96 - 24) * interval '1 hour'
    FROM assignments s JOIN accounts a ON a.worker_id = s.worker_id
    WHERE s.level = 'micro_grid' AND s.area_id = i.micro_grid_id
      AND i.status IN ('accepted', 'dispatched', 'in_progress', 'reported')""")
    conn.execute("VACUUM ANALYZE incidents")
    conn.execute("VACUUM ANALYZE accounts")
    return conn.execute("SELECT count(*) FROM incidents WHERE assignee_account_id IS NOT NULL"
                        ).fetchone()[0]


def roster_rows(conn: psycopg.Connection, n: int) -> list[dict]:
    codes = [c for (c,) in conn.execute("SELECT code FROM micro_grids ORDER BY code")]
    return [{"code": f"IMP{i:05d}", "name": f"导入{i:05d}", "phone": f"137{i:08d}",
             "username": f"imp{i:05d}", "role": "part_time", "area": codes[i % len(codes)],
             "starts_on": "2026-01-01", "ends_on": ""} for i in range(n)]


async def timed(conn, sql: str, params: dict) -> float:
    t0 = time.perf_counter()
    cur = await conn.execute(sql, params)
    await cur.fetchall()
    return (time.perf_counter() - t0) * 1000


async def measure(url: str, runs: int, import_rows: list[dict]) -> dict:
    rng = random.Random(7)
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        workers = await (await conn.execute(
            "SELECT id FROM accounts WHERE role = 'worker' ORDER BY id")).fetchall()
        open_cases = await (await conn.execute(
            "SELECT id FROM incidents WHERE status = 'dispatched' ORDER BY id")).fetchall()
        mine, scoped, suggest = [], [], []
        for _ in range(runs):
            (account_id,) = rng.choice(workers)
            row = await (await conn.execute(EXPAND_SCOPE_SQL, {"account_id": account_id}))\
                .fetchone()
            principal = Principal(account_id, "w", "worker", None,
                                  Scope(*(tuple(ids) for ids in row[1:])))
            page = {"limit": 100, "offset": 0}
            sql, params = list_sql(principal, [], [], None, None, None, None, account_id)
            mine.append(await timed(conn, sql, {**params, **page}))
            sql, params = list_sql(principal, [], [], None, None, None, None)
            scoped.append(await timed(conn, sql, {**params, **page}))
            (case,) = rng.choice(open_cases)
            t0 = time.perf_counter()
            await suggestions(conn, case)
            suggest.append((time.perf_counter() - t0) * 1000)
        await conn.set_autocommit(False)
        t0 = time.perf_counter()
        result = await import_workers(conn, ADMIN, import_rows)
        seconds = time.perf_counter() - t0
        await conn.rollback()
        if result.issues:
            raise SystemExit(f"import rejected rows: {result.issues[:3]}")
    return {"mine": statistics.median(mine), "scoped": statistics.median(scoped),
            "suggest": statistics.median(suggest),
            "import_per_s": len(import_rows) / seconds, "import_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (under 5 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n_incidents = 200_000 if args.quick else 1_000_000
    runs = 41 if args.quick else 201
    n_import = 2000
    base = Settings()
    if not base.database_url:
        localdb.up(base, lambda _msg: None)
    server = database_url(base)
    name = f"wangge_bench_people_{os.getpid()}"
    url = server.rsplit("/", 1)[0] + "/" + name
    localdb.drop_database(server, name)
    localdb.create_database(server, name)
    try:
        migrate.upgrade(url)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            build_district(conn)
            load_s = bulk_incidents(conn, n_incidents, 2026)
            dispatched = add_workers(conn)
            rows = roster_rows(conn, n_import)
        print(f"district: {n_incidents} incidents loaded in {load_s:.1f} s, {dispatched} "
              f"dispatched to 1,200 micro-grid workers")
        fig = asyncio.run(measure(url, runs, rows))
        print(f"my cases (assignee=me, overdue first): median {fig['mine']:.2f} ms over {runs}")
        print(f"peer, the same worker's area list (newest first): median "
              f"{fig['scoped']:.2f} ms")
        print(f"dispatch suggestions: median {fig['suggest']:.2f} ms")
        print(f"import of {n_import} workers: {fig['import_s']:.2f} s")
        print(f"people: my_cases_ms_median={fig['mine']:.2f} "
              f"scope_list_ms_median={fig['scoped']:.2f} "
              f"my_cases_vs_scope={fig['mine'] / fig['scoped']:.2f} "
              f"assignees_ms_median={fig['suggest']:.2f} "
              f"import_rows_per_s={fig['import_per_s']:.0f}")
    finally:
        if not args.keep:
            localdb.drop_database(server, name)


if __name__ == "__main__":
    main()
