"""Statistics page benchmark: the data of /stats for a whole district over a year of 10^6
incidents.

Builds its own database with a generated district of box-shaped areas (3 streets, 15
communities, 150 grids, 1,200 micro-grids, a full-time worker on every grid), 1,000,000
incidents over last year (with response times, acceptance, closure and ratings) and patrol
points, serves the API with uvicorn in a separate process, and measures what the page asks for
when it opens: GET /stats?level=street and GET /stats/series?bucket=month for the year, sent
together as the browser sends them. The median of the page's wall time is set against the same
two answers computed from the incidents table alone (SQL only, no rollup), run in the same
script. It also reports the table alone at community level (read from incidents through their
area indexes) and the month report's XLSX download.

The last line holds the figures:

    stats: page_ms_median=... table_ms=... series_ms=... raw_ms=... ratio=... ...

Usage: .venv/bin/python bench/stats_bench.py [--quick] [--keep] [--db NAME]
(`--keep` leaves the generated database; `--db NAME` measures one kept earlier, skipping the
generation, which takes minutes.)
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.categories import load_categories  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402
from gis.stats import stats_sql  # noqa: E402
from gis.stats_series import series_sql  # noqa: E402

COUNTY = "330107"
X0, Y0 = 120.10, 30.20
STREETS, COMMUNITIES, GRIDS, MICRO = 3, 5, 10, 8  # children per parent
SIZE = 0.06  # a street's box in degrees
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
N_INCIDENTS = 1_000_000


def build_district(conn: psycopg.Connection, *, county: str = COUNTY, x0: float = X0,
                   y0: float = Y0, size: float = SIZE, streets: int = STREETS,
                   communities: int = COMMUNITIES, grids: int = GRIDS,
                   micro: int = MICRO) -> None:
    """Streets side by side, each cut in columns (communities), rows (grids), columns again;
    a full-time worker on every grid. Called again with another county code (and origin), it
    adds a district beside the ones already there (scale_bench builds a region that way)."""
    box = ("ST_Multi(ST_MakeEnvelope({x0}, {y0}, {x0} + {w}, {y0} + {h}, 4326))")
    mine = f"LIKE '{county}%'"
    with conn.transaction():
        conn.execute(f"""
        INSERT INTO streets (code, name, parent_code, geom)
        SELECT '{county}' || lpad(s::text, 3, '0'), 'S' || s, '{county}',
               {box.format(x0=f"{x0} + (s - 1) * {size}", y0=y0, w=size, h=size)}
        FROM generate_series(1, {streets}) s""")
        cw = size / communities
        conn.execute(f"""
        INSERT INTO communities (code, name, parent_id, parent_code, geom)
        SELECT s.code || lpad(c::text, 3, '0'), 'C' || c, s.id, s.code,
               {box.format(x0=f"ST_XMin(s.geom) + (c - 1) * {cw}", y0=y0, w=cw, h=size)}
        FROM streets s, generate_series(1, {communities}) c WHERE s.code {mine}""")
        gh = size / grids
        conn.execute(f"""
        INSERT INTO grids (code, name, parent_id, parent_code, geom)
        SELECT c.code || lpad(g::text, 3, '0'), 'G' || g, c.id, c.code,
               {box.format(x0="ST_XMin(c.geom)", y0=f"{y0 + size} - g * {gh}", w=cw, h=gh)}
        FROM communities c, generate_series(1, {grids}) g WHERE c.code {mine}""")
        mw = cw / micro
        conn.execute(f"""
        INSERT INTO micro_grids (code, name, parent_id, parent_code, geom)
        SELECT g.code || lpad(m::text, 3, '0'), 'M' || m, g.id, g.code,
               {box.format(x0=f"ST_XMin(g.geom) + (m - 1) * {mw}", y0="ST_YMin(g.geom)",
                           w=mw, h=gh)}
        FROM grids g, generate_series(1, {micro}) m WHERE g.code {mine}""")
        conn.execute(f"""
        INSERT INTO workers (name) SELECT 'W' || g.code FROM grids g WHERE g.code {mine};
        INSERT INTO assignments (worker_id, level, area_id, role, starts_on)
        SELECT w.id, 'grid', g.id, 'full_time', '2000-01-01'
        FROM grids g JOIN workers w ON w.name = 'W' || g.code WHERE g.code {mine}""")


def bulk_incidents(conn: psycopg.Connection, n: int, year: int, *, county: str = "",
                   code_prefix: str = "S", spread: bool = False) -> float:
    """n incidents over the year in various states, with response times from the categories,
    spread evenly over the micro-grids whose code starts with `county` (all when empty): at
    each micro-grid's point on surface, or (`spread`) anywhere in its bounding box."""
    cats = load_categories()
    keys = list(cats)
    resp = [cats[k].response_hours for k in keys]
    point = ("ST_SetSRID(ST_MakePoint(m.x0 + random() * m.dx, m.y0 + random() * m.dy), 4326)"
             if spread else "m.pt")
    t0 = time.perf_counter()
    conn.execute(f"""
    INSERT INTO incidents (code, category, title, geom, reported_at, source, status, due_at,
        respond_by, accepted_at, resolved_at, closed_at, satisfaction, street_id,
        community_id, grid_id, micro_grid_id)
    SELECT %(prefix)s || g, (%(cats)s::text[])[1 + g %% 8], 'bench', {point}, rep, 'app', st,
           rep + interval '24 hours',
           rep + make_interval(secs => (%(resp)s::float8[])[1 + g %% 8] * 3600),
           CASE WHEN st NOT IN ('reported', 'rejected') THEN rep + acc END,
           CASE WHEN st IN ('resolved', 'verified', 'closed') THEN rep + acc + res END,
           CASE WHEN st = 'closed' THEN rep + acc + res + interval '6 hours' END,
           CASE WHEN st = 'closed' AND g %% 3 > 0 THEN 1 + g %% 5 END,
           m.street_id, m.community_id, m.grid_id, m.id
    FROM (
        SELECT g, make_timestamptz({year}, 1, 1, 0, 0, 0, 'UTC')
                  + (random() * 364) * interval '1 day' AS rep,
               CASE WHEN g %% 50 = 0
                    THEN (ARRAY['in_progress', 'dispatched', 'accepted', 'reported'])[1 + g %% 4]
                    ELSE (ARRAY['closed', 'closed', 'closed', 'closed', 'closed', 'closed',
                                'verified', 'resolved', 'rejected'])[1 + (g * 7) %% 9] END AS st,
               (random() * 6) * interval '1 hour' AS acc,
               (random() * 48) * interval '1 hour' AS res,
               1 + (g * 2654435761) %% (SELECT count(*) FROM micro_grids
                                        WHERE code LIKE %(county)s) AS k
        FROM generate_series(1, %(n)s) g) x
    JOIN (SELECT row_number() OVER (ORDER BY m.id) AS k, m.id, m.parent_id AS grid_id,
                 g.parent_id AS community_id, c.parent_id AS street_id,
                 ST_PointOnSurface(m.geom) AS pt, ST_XMin(m.geom) AS x0, ST_YMin(m.geom) AS y0,
                 ST_XMax(m.geom) - ST_XMin(m.geom) AS dx, ST_YMax(m.geom) - ST_YMin(m.geom) AS dy
          FROM micro_grids m JOIN grids g ON g.id = m.parent_id
          JOIN communities c ON c.id = g.parent_id WHERE m.code LIKE %(county)s) m ON m.k = x.k
    """, {"cats": keys, "resp": resp, "n": n, "county": county + "%", "prefix": code_prefix})
    return time.perf_counter() - t0


def bulk_patrols(conn: psycopg.Connection, year: int, per_grid_day: int, *,
                 county: str = "", micro: int = MICRO, days: int = 365) -> int:
    """A patrol a day (for `days` days from Jan 1) per grid's worker through some of its
    micro-grids, for the grids whose code starts with `county`; the patrol points in total."""
    conn.execute(f"""
    INSERT INTO patrols (worker_id, started_at, ended_at)
    SELECT s.worker_id, d + interval '9 hours', d + interval '11 hours'
    FROM assignments s JOIN grids g ON g.id = s.area_id,
         generate_series(make_timestamptz({year}, 1, 1, 0, 0, 0, 'UTC'),
                         make_timestamptz({year}, 1, 1, 0, 0, 0, 'UTC')
                         + ({min(days, 365)} - 1) * interval '1 day',
                         interval '1 day') d
    WHERE s.level = 'grid' AND g.code LIKE %(county)s""", {"county": county + "%"})
    conn.execute(f"""
    INSERT INTO patrol_points (patrol_id, t, geom, micro_grid_id, grid_id, community_id,
                               street_id)
    SELECT p.id, p.started_at + k * interval '5 minutes', ST_PointOnSurface(m.geom), m.id,
           g.id, g.parent_id, c.parent_id
    FROM patrols p JOIN assignments s ON s.worker_id = p.worker_id AND s.level = 'grid'
    JOIN grids g ON g.id = s.area_id JOIN communities c ON c.id = g.parent_id
    CROSS JOIN generate_series(1, {per_grid_day}) k
    JOIN micro_grids m ON m.parent_id = g.id
         AND m.code = g.code || lpad((1 + (p.id + k * 3) %% {micro})::text, 3, '0')
    WHERE g.code LIKE %(county)s""", {"county": county + "%"})
    return conn.execute("SELECT count(*) FROM patrol_points").fetchone()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, local_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET,
           "WANGGE_LOCAL_DIR": str(local_dir), "WANGGE_STATEMENT_TIMEOUT_MS": "120000"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/openapi.json", timeout=5).raise_for_status()
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the API did not start")


def timed(fn, runs: int) -> tuple[float, list]:
    """Median milliseconds of `runs` calls of fn (after one warm-up), and the last result."""
    result = fn()
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (under 5 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--db", help="measure this kept benchmark database (no generation)")
    args = parser.parse_args()
    runs = 9 if args.quick else 31
    settings = Settings()
    server = database_url(settings)
    if not settings.database_url:
        localdb.up(settings, lambda _m: None)
    name = args.db or f"wangge_bench_stats_{os.getpid()}"
    if not args.db:
        localdb.drop_database(server, name)
        localdb.create_database(server, name)
    url = server.rsplit("/", 1)[0] + "/" + name
    proc = None
    errors = 0
    try:
        migrate.upgrade(url)
        year = datetime.now(UTC).year - 1
        start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            if not args.db:
                build_district(conn)
                secs = bulk_incidents(conn, N_INCIDENTS, year)
                points = bulk_patrols(conn, year, 2 if args.quick else 4)
                for table in ("incidents", "incident_rollup", "incident_close_hist",
                              "patrol_points", "assignments", "micro_grids"):
                    conn.execute(f"VACUUM ANALYZE {table}")
                print(f"generated {N_INCIDENTS:,} incidents and {points:,} patrol points over "
                      f"{year} in {secs:.0f} s", flush=True)
                conn.execute("INSERT INTO accounts (username, password_hash, role) VALUES "
                             "('bench', %s, 'commander')", (hash_password("bench-pass"),))
            account = conn.execute("SELECT id FROM accounts WHERE username = 'bench'"
                                   ).fetchone()[0]
            # the peer: the same two answers from the incidents table alone (SQL only)
            table_raw = stats_sql(None, "street", start, end, rollup=False)
            series_raw = series_sql(None, start, end, "month", rollup=False)

            def raw() -> tuple:
                a = conn.execute(*table_raw).fetchall()
                b = conn.execute(*series_raw).fetchall()
                return a, b

            raw_ms, (raw_table, raw_series) = timed(raw, 1 if args.quick else 3)
        token = issue_token(Settings(secret_key=SECRET), account, "bench", "commander", 0)[0]
        headers = {"Authorization": f"Bearer {token}"}
        proc, base = serve(url, Path(os.environ.get("TMPDIR", "/tmp")))
        period = {"start": start.isoformat(), "end": end.isoformat()}
        with httpx.Client(base_url=base, headers=headers, timeout=120,
                          limits=httpx.Limits(max_connections=4)) as http, \
                cf.ThreadPoolExecutor(2) as pool:
            def get(path: str, **params) -> dict:
                nonlocal errors
                r = http.get(path, params={**period, **params})
                if r.status_code != 200:
                    errors += 1
                    raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
                return r.json()

            def page() -> tuple[dict, dict]:
                a = pool.submit(get, "/stats", level="street")
                b = pool.submit(get, "/stats/series", level="street", bucket="month")
                return a.result(), b.result()

            page_ms, (table, series) = timed(page, runs)
            table_ms, _ = timed(lambda: get("/stats", level="street"), runs)
            series_ms, _ = timed(lambda: get("/stats/series", level="street", bucket="month"),
                                 runs)
            community_ms, community = timed(lambda: get("/stats", level="community"),
                                            1 if args.quick else 3)
            t0 = time.perf_counter()
            r = http.get("/stats/month-report", params={"month": f"{year}-06"})
            month_xlsx_ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                errors += 1
        # the API's answer equals the incidents' own
        assert table["total"]["total"] == N_INCIDENTS == sum(int(row[3]) for row in
                                                               raw_table[:-1])
        assert [s["reports"] for s in series["series"]] == [int(row[2]) for row in raw_series]
        assert community["total"]["total"] == N_INCIDENTS
        print(f"page data (table + monthly series, together): median {page_ms:.1f} ms over "
              f"{runs} runs; table {table_ms:.1f} ms, series {series_ms:.1f} ms; from incidents "
              f"alone {raw_ms:.0f} ms (SQL only); community table {community_ms:.0f} ms; month "
              f"report XLSX {month_xlsx_ms:.0f} ms ({len(r.content):,} bytes)", flush=True)
        ratio = f" ratio={raw_ms / page_ms:.1f}" if errors == 0 else ""
        print(f"stats: page_ms_median={page_ms:.1f} table_ms={table_ms:.1f} "
              f"series_ms={series_ms:.1f} raw_ms={raw_ms:.0f}{ratio} "
              f"community_ms={community_ms:.0f} month_xlsx_ms={month_xlsx_ms:.0f} "
              f"n={N_INCIDENTS} errors={errors}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        if not args.keep and not args.db:
            localdb.drop_database(server, name)


if __name__ == "__main__":
    main()
