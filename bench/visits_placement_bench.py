"""Where the patrol visits (patrol_visits, migration 0015_patrol_visits) live on Citus: measured.

A shard trigger on patrol_points cannot keep a table that is not co-located with patrols, so the
upload writes the visits itself; the table can then live on the coordinator (as built) or be
distributed by street, co-located with incidents. On a Citus database that holds the scale
bench's region (`bench/scale_bench.py --quick --keep`), this copies the built table into a
scratch table distributed by street (`visits_by_street`, dropped at the end) and times, p50 of
R runs each, on the same rows:

- street: the period's patrolled micro-grids among one street's (district 1's streets in turn):
  `raw` a DISTINCT over the period's patrol points (every shard: the read before 0015),
  `coordinator` the built table, `by_street` the scratch table with `street_id = <street>`;
- region: the same for every micro-grid of the region;
- write: an upload's visits (a batch of 100 day/micro-grid/street counts of one street, added
  to existing rows) in a transaction rolled back: `coordinator` by wangge_patrol_visits_add,
  `by_street` by INSERT ... ON CONFLICT into the scratch table.

The street and region reads must give the same counts on all three (`mismatches`). The last
line holds the figures (ms) and the ratios of each placement to the coordinator's; a run with
errors or mismatches prints no ratio:

    visits_placement: street_raw_ms=... street_coordinator_ms=... street_by_street_ms=...
    region_...  write_coordinator_ms=... write_by_street_ms=... vs_coordinator: ... errors=0

Usage: .venv/bin/python bench/visits_placement_bench.py [--quick] [--citus-url URL]
(default URL: the newest kept `wangge_bench_scale_*` database on the local Citus cluster;
--quick: 5 runs of each instead of 25.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import say  # noqa: E402
from gis import citus_local  # noqa: E402
from gis.database import libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402

STREET_MG = ("SELECT m.id FROM micro_grids m JOIN grids g ON g.id = m.parent_id "
             "JOIN communities c ON c.id = g.parent_id WHERE c.parent_id = %(street)s "
             "AND m.valid_to IS NULL")
READS = {
    "raw": ("SELECT count(*) FROM (SELECT DISTINCT micro_grid_id FROM patrol_points "
            "WHERE t >= %(d0)s::date AT TIME ZONE 'UTC' AND t < %(d1)s::date AT TIME ZONE 'UTC' "
            "AND micro_grid_id IN ({mg})) v"),
    "coordinator": ("SELECT count(DISTINCT micro_grid_id) FROM patrol_visits WHERE day >= "
                    "%(d0)s::date AND day < %(d1)s::date AND micro_grid_id IN ({mg})"),
    "by_street": ("SELECT count(DISTINCT micro_grid_id) FROM visits_by_street WHERE day >= "
                  "%(d0)s::date AND day < %(d1)s::date AND micro_grid_id IN ({mg}) {street}"),
}
WRITES = {
    "coordinator": ("SELECT wangge_patrol_visits_add(%(days)s::date[], %(mgs)s::bigint[], "
                    "%(streets)s::bigint[], %(counts)s::bigint[])"),
    "by_street": ("INSERT INTO visits_by_street AS v (day, micro_grid_id, street_id, n) "
                  "SELECT * FROM unnest(%(days)s::date[], %(mgs)s::bigint[], "
                  "%(streets)s::bigint[], %(counts)s::bigint[]) "
                  "ON CONFLICT (micro_grid_id, day, street_id) DO UPDATE SET n = v.n + "
                  "EXCLUDED.n"),
}


def kept_database() -> str:
    """The coordinator URL of the newest kept scale bench database on the local cluster."""
    settings = Settings()
    with psycopg.connect(libpq_url(citus_local.coordinator_url(settings, "postgres"))) as conn:
        row = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE "
                           "'wangge_bench_scale_%' ORDER BY oid DESC LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("visits_placement: no kept scale bench database on the local Citus "
                         "cluster: run bench/scale_bench.py --quick --keep first")
    return citus_local.coordinator_url(settings, row[0])


def timed(conn: psycopg.Connection, sql: str, params: dict) -> tuple[float, object]:
    t0 = time.perf_counter()
    cur = conn.execute(sql, params)
    value = cur.fetchone()[0] if cur.description else cur.rowcount
    return (time.perf_counter() - t0) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of each (< 5 min)")
    parser.add_argument("--citus-url", help="a Citus database holding the scale bench's region")
    args = parser.parse_args()
    runs = 5 if args.quick else 25
    url = args.citus_url or kept_database()
    errors = mismatches = 0
    figures: dict[str, float] = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("SET jit = off")
        conn.execute("DROP TABLE IF EXISTS visits_by_street")
        conn.execute("CREATE TABLE visits_by_street (LIKE patrol_visits INCLUDING ALL)")
        conn.execute("SELECT create_distributed_table('visits_by_street', 'street_id', "
                     "colocate_with => 'incidents')")
        conn.execute("INSERT INTO visits_by_street SELECT * FROM patrol_visits")
        conn.execute("ANALYZE visits_by_street")
        try:
            d0, d1 = conn.execute("SELECT min(day), max(day) + 1 FROM patrol_visits").fetchone()
            streets = [r[0] for r in conn.execute(
                "SELECT id FROM streets WHERE code LIKE '330201%' ORDER BY code")]
            say(f"visits_placement: {len(streets)} streets, days {d0} to {d1}, {runs} runs")
            for scope in ("street", "region"):
                answers: dict[str, list] = {}
                for name, template in READS.items():
                    ms, got = [], []
                    for i in range(runs + 1):
                        street = streets[i % len(streets)]
                        sql = template.format(
                            mg=STREET_MG if scope == "street" else "SELECT id FROM micro_grids",
                            street="AND street_id = %(street)s" if scope == "street" else "")
                        try:
                            took, value = timed(conn, sql, {"d0": d0, "d1": d1,
                                                            "street": street})
                        except psycopg.Error as exc:
                            errors += 1
                            say(f"{scope} {name}: {exc}")
                            continue
                        if i:  # the first is a warm-up
                            ms.append(took)
                            got.append(value)
                    answers[name] = got
                    figures[f"{scope}_{name}"] = statistics.median(ms) if ms else float("nan")
                mismatches += sum(1 for v in answers.values() if v != answers["raw"])
            batch = conn.execute(
                "SELECT array_agg(day), array_agg(micro_grid_id), array_agg(street_id), "
                "array_agg(1::bigint) FROM (SELECT * FROM patrol_visits WHERE street_id = %s "
                "ORDER BY micro_grid_id, day LIMIT 100) v", (streets[0],)).fetchone()
            params = dict(zip(("days", "mgs", "streets", "counts"), batch, strict=True))
            for name, sql in WRITES.items():
                ms = []
                for i in range(runs + 1):
                    try:
                        with conn.transaction(force_rollback=True):
                            took, _ = timed(conn, sql, params)
                    except psycopg.Error as exc:
                        errors += 1
                        say(f"write {name}: {exc}")
                        continue
                    if i:
                        ms.append(took)
                figures[f"write_{name}"] = statistics.median(ms) if ms else float("nan")
        finally:
            conn.execute("DROP TABLE IF EXISTS visits_by_street")
    line = " ".join(f"{k}_ms={v:.1f}" for k, v in figures.items())
    tail = f"errors={errors} mismatches={mismatches} load1={os.getloadavg()[0]:.1f}"
    if errors or mismatches:
        print(f"visits_placement: {line} {tail}")
        raise SystemExit(1)
    ratios = " ".join(f"{k}={figures[k] / figures[k.split('_', 1)[0] + '_coordinator']:.2f}x"
                      for k in figures if not k.endswith("_coordinator"))
    print(f"visits_placement: {line} vs_coordinator: {ratios} {tail}")


if __name__ == "__main__":
    main()
