"""Incidents benchmark: batched intake through the API, and district-wide statistics.

Builds its own database with a generated district of box-shaped areas (3 streets, 15
communities, 150 grids, 1,200 micro-grids), serves the API with uvicorn in a separate process,
and measures:

- intake: incidents/s through POST /incidents/batch (1,000 a batch, 4 concurrent clients, every
  incident attributed to street, community, grid and micro-grid), against a baseline of the same
  kind of incidents sent one per request to POST /incidents by the same 4 concurrent clients, so
  the ratio is batching alone; then every incident is read back and its stored micro-grid
  compared with the current micro-grid containing it (ST_Contains): the mismatches are printed
  and must be 0 (else the bench exits 1 without figures);
- statistics: the median time of GET /stats?level=street over a year holding 1,000,000 incidents
  (the rollup path), against the same report computed from the incidents table alone.

The last line holds the figures:

    incidents: intake_per_s=... single_per_s=... batch_vs_single_same_clients=...x clients=4
    attribution_mismatches=0 stats_ms_median=... ...

Usage: .venv/bin/python bench/incidents_bench.py [--quick] [--keep]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_api  # noqa: E402
from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402
from gis.stats import stats_sql  # noqa: E402

COUNTY = "330106"
X0, Y0 = 120.10, 30.20
STREETS, COMMUNITIES, GRIDS, MICRO = 3, 5, 10, 8  # children per parent
SW, SH = 0.06, 0.06  # street box in degrees
CATEGORIES = ["road_damage", "illegal_parking", "garbage", "noise", "public_facilities",
              "safety_hazard", "dispute_mediation", "petition"]
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
CLIENTS = 4  # concurrent clients, the same for one-per-request and batched intake
# every incident's stored micro-grid against the current micro-grid that contains its point
ATTRIBUTION_CHECK_SQL = """
SELECT count(*), count(*) FILTER (WHERE i.micro_grid_id IS DISTINCT FROM (
    SELECT m.id FROM micro_grids m WHERE m.valid_to IS NULL AND ST_Contains(m.geom, i.geom)
    ORDER BY m.id LIMIT 1))
FROM incidents i
"""


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def build_district(conn: psycopg.Connection) -> None:
    """Streets side by side; each divided in columns, rows, then columns again."""
    with conn.transaction():
        for s in range(STREETS):
            sx = X0 + s * SW
            scode = f"{COUNTY}{s + 1:03d}"
            sid = conn.execute("INSERT INTO streets (code, name, parent_code, geom) VALUES "
                               "(%s, %s, %s, %s) RETURNING id",
                               (scode, scode, COUNTY, box(sx, Y0, sx + SW, Y0 + SH))).fetchone()[0]
            cw = SW / COMMUNITIES
            for c in range(COMMUNITIES):
                cx = sx + c * cw
                ccode = f"{scode}{c + 1:03d}"
                cid = conn.execute(
                    "INSERT INTO communities (code, name, parent_id, parent_code, geom) VALUES "
                    "(%s, %s, %s, %s, %s) RETURNING id",
                    (ccode, ccode, sid, scode, box(cx, Y0, cx + cw, Y0 + SH))).fetchone()[0]
                gh = SH / GRIDS
                for g in range(GRIDS):
                    gy = Y0 + SH - (g + 1) * gh
                    gcode = f"{ccode}{g + 1:03d}"
                    gid = conn.execute(
                        "INSERT INTO grids (code, name, parent_id, parent_code, geom) VALUES "
                        "(%s, %s, %s, %s, %s) RETURNING id",
                        (gcode, gcode, cid, ccode, box(cx, gy, cx + cw, gy + gh))).fetchone()[0]
                    mw = cw / MICRO
                    for m in range(MICRO):
                        mx = cx + m * mw
                        conn.execute(
                            "INSERT INTO micro_grids (code, name, parent_id, parent_code, geom) "
                            "VALUES (%s, %s, %s, %s, %s)",
                            (f"{gcode}{m + 1:03d}", "", gid, gcode,
                             box(mx, gy, mx + mw, gy + gh)))


def bulk_incidents(conn: psycopg.Connection, n: int, year: int) -> float:
    """n incidents over the year, attributed by their micro-grid's box, in various states."""
    t0 = time.perf_counter()
    conn.execute(f"""
    INSERT INTO incidents (code, category, title, geom, reported_at, source, status, due_at,
        accepted_at, resolved_at, closed_at, satisfaction, street_id, community_id, grid_id,
        micro_grid_id)
    SELECT 'B' || g, (%(cats)s::text[])[1 + g %% 8], 'bench',
           ST_SetSRID(ST_MakePoint(ST_X(pt), ST_Y(pt)), 4326), rep, 'app', st,
           rep + interval '24 hours',
           CASE WHEN st NOT IN ('reported', 'rejected') THEN rep + interval '1 hour' END,
           CASE WHEN st IN ('resolved', 'verified', 'closed') THEN rep + res END,
           CASE WHEN st = 'closed' THEN rep + res + interval '6 hours' END,
           CASE WHEN st = 'closed' AND g %% 3 > 0 THEN 1 + g %% 5 END,
           m.street_id, m.community_id, m.grid_id, m.id
    FROM (
        SELECT g, make_timestamptz({year}, 1, 1, 0, 0, 0, 'UTC')
                  + (random() * 364) * interval '1 day' AS rep,
               CASE WHEN g %% 50 = 0  -- 2 %% still open, the rest done or rejected
                    THEN (ARRAY['in_progress', 'dispatched', 'accepted', 'reported'])[1 + g %% 4]
                    ELSE (ARRAY['closed', 'closed', 'closed', 'closed', 'closed', 'closed',
                                'verified', 'resolved', 'rejected'])[1 + (g * 7) %% 9] END AS st,
               (random() * 72) * interval '1 hour' AS res,
               1 + (g * 2654435761) %% %(nmg)s AS k
        FROM generate_series(1, %(n)s) g) x
    JOIN (SELECT row_number() OVER (ORDER BY m.id) AS k, m.id, m.parent_id AS grid_id,
                 g.parent_id AS community_id, c.parent_id AS street_id, m.geom
          FROM micro_grids m JOIN grids g ON g.id = m.parent_id
          JOIN communities c ON c.id = g.parent_id) m ON m.k = x.k
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(m.geom) AS pt) p
    """, {"cats": CATEGORIES, "n": n, "nmg": STREETS * COMMUNITIES * GRIDS * MICRO})
    for table in ("incidents", "incident_rollup", "incident_close_hist"):
        conn.execute(f"VACUUM ANALYZE {table}")  # the steady state autovacuum keeps
    return time.perf_counter() - t0


def payload(rng: random.Random, n: int) -> list[dict]:
    width = STREETS * SW
    return [{"lon": X0 + rng.random() * width, "lat": Y0 + rng.random() * SH,
             "category": rng.choice(CATEGORIES), "title": "bench", "source": "app",
             "reporter": "bench"} for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (under 5 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n_intake = 20_000 if args.quick else 100_000
    n_single = 300 if args.quick else 1000
    n_stats = 1_000_000
    runs = 15 if args.quick else 41

    settings = Settings()
    server = database_url(settings)
    if not settings.database_url:
        localdb.up(settings, lambda _m: None)
    name = f"wangge_bench_incidents_{os.getpid()}"
    localdb.drop_database(server, name)
    localdb.create_database(server, name)
    url = server.rsplit("/", 1)[0] + "/" + name
    api = None
    try:
        migrate.upgrade(url)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            build_district(conn)
            conn.execute("ANALYZE")
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role) VALUES "
                "('bench', %s, 'admin') RETURNING id", (hash_password("bench-pass"),)
            ).fetchone()[0]
        token = issue_token(Settings(secret_key=SECRET), account, "bench", "admin", 0)[0]
        headers = {"Authorization": f"Bearer {token}"}
        api = start_api({"DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET,
                         "WANGGE_LOCAL_DIR": os.environ.get("TMPDIR", "/tmp"),
                         "WANGGE_STATEMENT_TIMEOUT_MS": "120000"}, name="incidents-api")
        base = api.base
        rng = random.Random(1)

        # baseline: the same clients sending one incident per request
        singles = payload(rng, n_single)
        with httpx.Client(base_url=base, headers=headers, timeout=60,
                          limits=httpx.Limits(max_connections=CLIENTS)) as http:
            def send_one(item: dict) -> int:
                r = http.post("/incidents", json=item)
                assert r.status_code == 201, r.text[:300]
                return 1

            send_one(singles[0])  # warm up
            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(CLIENTS) as pool:
                sent_single = sum(pool.map(send_one, singles[1:]))
            single_per_s = sent_single / (time.perf_counter() - t0)
        print(f"single intake: {sent_single} incidents one per request, {CLIENTS} clients, "
              f"{single_per_s:,.0f}/s", flush=True)

        batches = [payload(rng, 1000) for _ in range(n_intake // 1000)]
        with httpx.Client(base_url=base, headers=headers, timeout=120,
                          limits=httpx.Limits(max_connections=CLIENTS)) as http:
            def send(batch: list[dict]) -> int:
                r = http.post("/incidents/batch", json={"incidents": batch})
                assert r.status_code == 201, r.text[:300]
                return r.json()["count"]

            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(CLIENTS) as pool:
                stored = sum(pool.map(send, batches))
            intake_per_s = stored / (time.perf_counter() - t0)
        print(f"batched intake: {stored} incidents in batches of 1000, {CLIENTS} clients, "
              f"{intake_per_s:,.0f}/s ({intake_per_s / single_per_s:.1f}x one per request)",
              flush=True)

        with psycopg.connect(libpq_url(url)) as conn:
            checked, mismatches = conn.execute(ATTRIBUTION_CHECK_SQL).fetchone()
        print(f"attribution: {checked} incidents read back, {mismatches} whose micro-grid differs "
              "from the current micro-grid containing them (ST_Contains)", flush=True)
        if mismatches or checked != stored + sent_single + 1:
            raise SystemExit(f"incidents: FAILED attribution_mismatches={mismatches} "
                             f"read_back={checked} sent={stored + sent_single + 1}")

        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("TRUNCATE incident_events, incidents CASCADE")
            year = datetime.now(UTC).year - 1
            secs = bulk_incidents(conn, n_stats, year)
            print(f"generated {n_stats:,} incidents over {year} in {secs:.0f} s", flush=True)
            start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
            sql, params = stats_sql(None, "street", start, end, rollup=False)
            conn.execute(sql, params).fetchall()
            raw_ms = []
            for _ in range(3):
                t0 = time.perf_counter()
                raw_rows = conn.execute(sql, params).fetchall()
                raw_ms.append((time.perf_counter() - t0) * 1000)
        params = {"level": "street", "start": start.isoformat(), "end": end.isoformat()}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            first = http.get("/stats", params=params).json()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                assert http.get("/stats", params=params).status_code == 200
                times.append((time.perf_counter() - t0) * 1000)
        assert first["total"]["total"] == n_stats == sum(int(r[3]) for r in raw_rows[:-1])
        stats_ms = statistics.median(times)
        raw_median = statistics.median(raw_ms)
        print(f"district stats over {n_stats:,} incidents: median {stats_ms:.1f} ms via the API "
              f"({runs} runs), {raw_median:.0f} ms from incidents alone (SQL only)", flush=True)
        print(f"incidents: intake_per_s={intake_per_s:.0f} single_per_s={single_per_s:.0f} "
              f"batch_vs_single_same_clients={intake_per_s / single_per_s:.1f}x "
              f"clients={CLIENTS} attribution_mismatches={mismatches} "
              f"stats_ms_median={stats_ms:.1f} "
              f"stats_raw_ms={raw_median:.0f} stats_ratio={raw_median / stats_ms:.1f} "
              f"n_intake={stored} n_stats={n_stats}")
    finally:
        if api is not None:
            api.stop()
        if not args.keep:
            localdb.drop_database(server, name)


if __name__ == "__main__":
    main()
