"""Scale-out benchmark: the same region on one PostgreSQL node and on Citus, side by side.

Generates a region of D districts with set-based SQL (the district generator of
bench/stats_bench.py, one county code and origin per district): a district is 18 streets, 126
communities, 1,512 grids, 7,560 micro-grids and 60,480 buildings, with its share of the
incidents (over last year, in every workflow state) and of the patrol points. The areas,
workers and buildings are generated into a single-node database and copied into the Citus
database (coordinator and 2 workers; reference tables); the incidents, patrols and patrol points
are made on each side by the same deterministic statements (bench/scale_data.py: every value a
function of the row's id), on the single node over two connections and on Citus on the workers,
shard by shard (bench/scale_citus.py), with the row triggers off, the plain indexes built after
and the statistics rollup filled once (on Citus by the shards' own rollup triggers). Both sides
then hold the same rows: counts and checksums of every loaded table are compared. Then, with the
API started on each (its own uvicorn process), it measures per request, p50 and p99:

- intake: POST /incidents/batch (1,000 a batch, 4 concurrent clients; incidents per second);
- street_stats: GET /stats?level=community&area=<one street> for the year (admin);
- district_stats: GET /stats?level=street for the year, as a commander of district 1's streets;
- region_stats: the same as an admin, over every district (the rollup path: it grows with D);
- tile14, tile16: GET /tiles/all/{z}/{x}/{y}.pbf, each tile of district 1 once (a cold cache);
- items: GET /collections/incidents/items?bbox=... (about 1 km squares, limit 100);
- case: GET /incidents/{id} of random incidents of district 1 (admin; the id map routes it to
  one shard on Citus);
- scoped_list: GET /incidents (newest 100) as a commander of one community of district 1 (the
  scope's streets route it to that street's shard on Citus).

Every request is about district 1, measured three times: on one node holding district 1 only,
on one node holding all D districts, and on Citus holding all D. The first two give the growth of
each request's cost from 1 to D districts on one node (flat is 1.0x; the bench names what is not
flat: above 1.5x); the last two give Citus's overhead (citus/single, above 1 is slower; on 2 cores
Citus cannot be faster: the coordinator, both workers, the API and the clients share them). Both
sides must also agree: the district statistics, the community's list, and after the same intake
on both, the incidents per micro-grid, and after the load the loaded tables' checksums
(`citus_mismatches` counts differences). A run with errors prints no ratios.

The last line holds the figures, then the load average at the end and the seconds each phase
took (both databases migrated, the region generated on the single node, the Citus database
loaded, and the whole run):

    scale: districts=... incidents=... points=... single_1d: ... single: ... citus: ...
    growth_1_to_D: ... citus_vs_single: ... not_flat=... errors=0 citus_mismatches=0
    load1=... migrate_s=... generate_s=... citus_load_s=... wall_s=...

Usage: .venv/bin/python bench/scale_bench.py [--quick] [--districts D] [--incidents N]
                                             [--runs R/S] [--keep] [--citus-url URL]
                                             [--reuse NAME]
(full: D=10, 10^7 incidents, 10^7 patrol points, 200 requests of each kind, 50 of the
statistics; --quick: D=2, 40,000 of each, 4 buildings a micro-grid instead of 8, 25 and 3
requests, 6 intake batches instead of 50. `--incidents N` sets the incidents and the patrol
points of the region (the areas and buildings stay full size), `--runs R/S` the requests of
each kind and of each statistic. The Citus database comes from the local cluster
(`wangge db up --citus`), or `--citus-url` names an existing, migrated, empty database on a
Citus coordinator. `--reuse NAME` times again the databases a `--keep` run left, named NAME on
the local cluster and the local Citus cluster, after migrating both to the head: the loaded
tables but the incidents (the first run's intake wrote them on each side at its own time) are
compared again, no 1-district side is run, so its line has no growth ratios.)
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scale_citus, scale_data  # noqa: E402
from bench.common import say, start_api  # noqa: E402
from bench.incidents_bench import CATEGORIES, CLIENTS  # noqa: E402
from bench.stats_bench import build_district  # noqa: E402
from gis import citus_local, localdb, migrate, supervision  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.categories import load_categories  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.routing import REBUILD_SQL as ROUTE_REBUILD_SQL  # noqa: E402
from gis.settings import Settings  # noqa: E402

X0, Y0 = 119.00, 29.00
SIZE = 0.06  # a street's box in degrees: 18 streets side by side make a district's row
STREETS, COMMUNITIES, GRIDS, MICRO, BUILDINGS = 18, 7, 12, 5, 8  # children per parent
GRIDS_PER_DISTRICT = STREETS * COMMUNITIES * GRIDS
POINTS_PER_PATROL = 4
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
BATCH = 1000
NOT_FLAT = 1.5  # growth from 1 to D districts above this is reported as not flat
QUERIES = ("street_stats", "district_stats", "region_stats", "tile14", "tile16", "items",
           "case", "scoped_list")
# copied from the single node to Citus in this order (foreign keys); the incidents, patrols and
# patrol points are generated on each side by the same statements (bench/scale_data.py)
# (the buildings are made on every node by the single node's statement: bench/scale_citus.py)
COPY_TABLES = ("streets", "communities", "grids", "micro_grids", "workers", "assignments",
               "accounts", "account_areas")
# their plain indexes dropped for the copy and built after it
BUILT_AFTER: tuple[str, ...] = ()
# compared between the two databases after the load (bench/scale_data.py, CHECKSUMS)
CHECKED = ("streets", "communities", "grids", "micro_grids", "buildings", "workers", "incidents",
           "patrols", "patrol_points")
# both sides must hold the same incidents per micro-grid
PER_MICRO_GRID_SQL = ("SELECT micro_grid_id, count(*) FROM incidents GROUP BY 1 ORDER BY 1")


def county(d: int) -> str:
    """District d's 6-digit county code (GB/T 2260 shape)."""
    return f"3302{d + 1:02d}"


def district_box(d: int) -> tuple[float, float, float, float]:
    """(minlon, minlat, maxlon, maxlat) of district d: districts are stacked rows of streets."""
    y0 = Y0 + d * SIZE
    return X0, y0, X0 + STREETS * SIZE, y0 + SIZE


def bulk_buildings(conn: psycopg.Connection, code: str, per_micro_grid: int = BUILDINGS) -> int:
    """Small footprints (up to 8) in every micro-grid of the county, 6-24 households each
    (bench/scale_data.py, buildings_sql)."""
    return conn.execute(scale_data.buildings_sql(per_micro_grid),
                        {"counties": [code + "%"]}).rowcount


def load_areas(conn: psycopg.Connection, districts: range,
               buildings: int = BUILDINGS) -> dict[str, float]:
    """Areas and workers of each district, then their buildings (row triggers off, the plain
    indexes built after); seconds per step."""
    t0 = time.perf_counter()
    for d in districts:
        x0, y0, _, _ = district_box(d)
        build_district(conn, county=county(d), x0=x0, y0=y0, size=SIZE, streets=STREETS,
                       communities=COMMUNITIES, grids=GRIDS, micro=MICRO)
    t1 = time.perf_counter()
    indexes = scale_data.drop_plain_indexes(conn, ("buildings",))
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for d in districts:
            bulk_buildings(conn, county(d), buildings)
    scale_data.build_indexes(conn, indexes)
    return {"areas": t1 - t0, "buildings": time.perf_counter() - t1}


def patrol_days(per_district: int) -> int:
    """Days of patrols (a patrol a grid a day) giving a district about its share of points."""
    return max(1, math.ceil(per_district / (GRIDS_PER_DISTRICT * POINTS_PER_PATROL)))


def load_single(conn: psycopg.Connection, districts: range, per_district: int, year: int,
                buildings: int = BUILDINGS) -> None:
    """A whole district set into the single node: areas and buildings, then the incidents,
    patrols and points (bench/scale_data.py), each step's seconds printed."""
    took = load_areas(conn, districts, buildings)
    took.update(scale_data.load_facts(conn, [county(d) for d in districts], per_district, year,
                                      patrol_days(per_district), POINTS_PER_PATROL, MICRO))
    t0 = time.perf_counter()
    for table in ("streets", "communities", "grids", "micro_grids", "buildings", "incidents",
                  "incident_rollup", "incident_close_hist", "patrols", "patrol_points",
                  "assignments", "patrol_visits"):
        conn.execute(f"VACUUM ANALYZE {table}")
    took["analyze"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    conn.execute(ROUTE_REBUILD_SQL)  # the load ran with the routing trigger off
    took["routes"] = time.perf_counter() - t0
    say(f"single node, districts {districts.start + 1}-{districts.stop}: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))


def copy_table(src: psycopg.Connection, dst: psycopg.Connection, table: str,
               where: str = "true") -> None:
    """One table's rows (those `where` holds) from the single node into the Citus database
    (COPY, binary), its identity sequence moved past the copied ids."""
    t0 = time.perf_counter()
    cols = [r[0] for r in dst.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (table,))]
    have = {r[0] for r in src.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped", (table,))}
    names = ", ".join(c for c in cols if c in have)
    # the big tables' plain indexes are built after the COPY (on every shard or copy at once),
    # not row by row: the copy's slowest part
    indexes = [r[0] for r in dst.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (table,))] if table in BUILT_AFTER else []
    for definition in indexes:
        dst.execute(f"DROP INDEX {definition.split(' INDEX ', 1)[1].split(' ON ', 1)[0]}")
    with src.cursor().copy(f"COPY (SELECT {names} FROM {table} WHERE {where}) TO STDOUT "
                           "(FORMAT BINARY)") as out, \
            dst.cursor().copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as inp:
        for block in out:
            inp.write(block)
    for definition in indexes:
        dst.execute(definition)
    seq = (dst.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()
           if "id" in cols else None)
    if seq and seq[0]:
        dst.execute(f"SELECT setval(%s, (SELECT coalesce(max(id), 0) + 1 FROM {table}), "
                    "false)", (seq[0],))
    dst.execute(f"ANALYZE {table}")
    say(f"copied {table} to Citus in {time.perf_counter() - t0:.1f} s")


def load_citus(src_url: str, dst_url: str, n_districts: int, per_district: int,
               year: int, buildings: int = BUILDINGS) -> float:
    """The Citus database filled with the single node's rows: the areas, workers and accounts
    copied (COPY through the coordinator: reference and coordinator tables), the incidents the
    single node took in before (the 1-district intake) copied, the buildings made on every node
    (a reference table's copies) and the incidents, patrols and points on the workers, shard by
    shard, by the single node's statements (bench/scale_citus.py). Seconds taken."""
    t0 = time.perf_counter()
    with psycopg.connect(libpq_url(src_url), autocommit=True) as src, \
            psycopg.connect(libpq_url(dst_url), autocommit=True) as dst:
        for table in COPY_TABLES:
            copy_table(src, dst, table)
        copy_table(src, dst, "incidents",
                   f"id >= {scale_data.max_generated_id(per_district)}")
    took = {"buildings": scale_citus.load_buildings(
        dst_url, [county(d) for d in range(n_districts)], buildings)}
    took |= scale_citus.load_facts(dst_url, [county(d) for d in range(n_districts)],
                                  per_district, year, patrol_days(per_district),
                                  POINTS_PER_PATROL, MICRO)
    t1 = time.perf_counter()
    with psycopg.connect(libpq_url(dst_url), autocommit=True) as dst:
        for table in scale_data.TABLES:
            dst.execute(f"ANALYZE {table}")
    took["analyze"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    with psycopg.connect(libpq_url(dst_url), autocommit=True) as dst:
        dst.execute(ROUTE_REBUILD_SQL)  # the load bypassed the writers that record routes
    took["routes"] = time.perf_counter() - t1
    say("Citus: " + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
    return time.perf_counter() - t0


def load_mismatches(single_url: str, citus_url: str, skip: tuple[str, ...] = ()) -> int:
    """Tables whose counts and checksums (bench/scale_data.py, CHECKSUMS) differ between the
    two databases after the load; each difference is printed. `skip`: tables not compared."""
    with psycopg.connect(libpq_url(single_url)) as a, psycopg.connect(libpq_url(citus_url)) as b:
        # the statistics rollup too, where Citus keeps one (a rollup trigger on incidents)
        kept = b.execute("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE NOT tgisinternal AND "
                         "tgrelid = 'incidents'::regclass AND tgname = 'incidents_rollup_ins')"
                         ).fetchone()[0]
        tables = CHECKED + (("incident_rollup", "incident_close_hist") if kept else ())
        # and the patrol rate's rollup, where both keep one (migration 0015_patrol_visits)
        if all(c.execute("SELECT to_regclass('patrol_visits') IS NOT NULL").fetchone()[0]
               for c in (a, b)):
            tables += ("patrol_visits",)
        tables = tuple(t for t in tables if t not in skip)
        one, other = scale_data.checksums(a, tables), scale_data.checksums(b, tables)
    differ = [t for t in tables if one[t] != other[t]]
    for t in differ:
        say(f"{t}: single {one[t]} citus {other[t]}")
    say(f"the loaded tables agree: {len(tables) - len(differ)} of {len(tables)} "
        f"({', '.join(f'{t} {one[t][0]:,}' for t in ('incidents', 'patrol_points') if t in one)})")
    return len(differ)


def escalate_backlog(url: str) -> float:
    """Run the escalation rule once over the generated cases, untimed (seconds taken). A live
    system runs it every minute; without this the first timed read of a case would start the
    escalation of the whole generated backlog of overdue cases."""
    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn, \
                conn.transaction():
            await supervision.escalate_overdue(conn, load_categories(None))
    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The WebMercatorQuad tile (x, y) holding a point at zoom z."""
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def district_tiles(z: int, limit: int, rng: random.Random) -> list[str]:
    """Up to `limit` distinct tile paths of zoom z over district 1, in a random order."""
    x0, y0, x1, y1 = district_box(0)
    (tx0, ty1), (tx1, ty0) = tile_of(x0, y0, z), tile_of(x1, y1, z)
    tiles = [f"/tiles/all/{z}/{x}/{y}.pbf" for x in range(tx0, tx1 + 1)
             for y in range(ty0, ty1 + 1)]
    rng.shuffle(tiles)
    return tiles[:limit]


def percentiles(ms: list[float]) -> tuple[float, float]:
    """(p50, p99) of a sample in milliseconds."""
    if len(ms) < 2:
        return (ms[0], ms[0]) if ms else (math.nan, math.nan)
    return statistics.median(ms), statistics.quantiles(ms, n=100, method="inclusive")[98]


class Side:
    """The API over one database: the timed requests of the bench, counting failures."""

    def __init__(self, label: str, url: str, tokens: dict[str, str]) -> None:
        self.label, self.url, self.tokens = label, url, tokens
        self.errors = 0
        self.figures: dict[str, tuple[float, float]] = {}
        self.intake_per_s = math.nan

    def _get(self, http: httpx.Client, path: str, token: str, **params) -> tuple[float, object]:
        t0 = time.perf_counter()
        try:
            r = http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:  # e.g. the connection a 500 closed
            self.errors += 1
            say(f"{self.label}: {path} -> {exc!r}")
            return (time.perf_counter() - t0) * 1000, None
        ms = (time.perf_counter() - t0) * 1000
        if r.status_code not in (200, 204):
            self.errors += 1
            say(f"{self.label}: {path} -> {r.status_code} {r.text[:200]}")
            return ms, None
        return ms, (r.json() if "json" in r.headers.get("content-type", "") else r.content)

    def measure(self, runs: int, stats_runs: int, year: int, street_codes: list[str],
                seed: int, queries: tuple[str, ...] = QUERIES,
                case_ids: list[int] = ()) -> dict:
        """Each query `runs` times (the statistics `stats_runs` times) after one warm-up; the
        statistics' answers. `case_ids`: incidents of district 1 for `case`."""
        rng = random.Random(seed)
        period = {"start": datetime(year, 1, 1, tzinfo=UTC).isoformat(),
                  "end": datetime(year + 1, 1, 1, tzinfo=UTC).isoformat()}
        x0, y0, x1, y1 = district_box(0)
        boxes = []
        for _ in range(runs + 1):
            bx, by = x0 + rng.random() * (x1 - x0 - 0.01), y0 + rng.random() * (y1 - y0 - 0.01)
            boxes.append(f"{bx:.5f},{by:.5f},{bx + 0.01:.5f},{by + 0.01:.5f}")
        admin, commander = self.tokens["admin"], self.tokens["commander"]
        requests: dict[str, Callable[[httpx.Client, int], tuple[float, object]]] = {
            "street_stats": lambda h, i: self._get(h, "/stats", admin, level="community",
                                                   area=street_codes[i % len(street_codes)],
                                                   **period),
            "district_stats": lambda h, i: self._get(h, "/stats", commander, level="street",
                                                     **period),
            "region_stats": lambda h, i: self._get(h, "/stats", admin, level="street", **period),
            "items": lambda h, i: self._get(h, "/collections/incidents/items", admin,
                                            bbox=boxes[i], limit=100),
            "case": lambda h, i: self._get(h, f"/incidents/{case_ids[i % len(case_ids)]}",
                                           admin),
            "scoped_list": lambda h, i: self._get(h, "/incidents", self.tokens["community"],
                                                  limit=100),
        }
        for z in (14, 16):
            tiles = district_tiles(z, runs + 1, random.Random(seed + z))
            requests[f"tile{z}"] = (lambda h, i, t=tiles: self._get(h, t[i % len(t)], admin))
        answers: dict[str, object] = {}
        with start_api(self.env(), name=f"scale-{self.label}") as api, \
                httpx.Client(base_url=api.base, timeout=120) as http:
            for name in queries:
                send = requests[name]
                send(http, runs)  # warm-up (its own bbox / tile)
                ms = []
                for i in range(stats_runs if name.endswith("_stats") else runs):
                    took, body = send(http, i)
                    ms.append(took)
                    if name in ("district_stats", "region_stats", "scoped_list"):
                        answers[name] = body
                self.figures[name] = percentiles(ms)
                say(f"{self.label}: {name} p50 {self.figures[name][0]:.1f} ms, "
                    f"p99 {self.figures[name][1]:.1f} ms ({len(ms)} requests)")
        return answers

    def intake(self, batches: int, seed: int) -> None:
        """POST /incidents/batch from CLIENTS concurrent clients: incidents/s, p50/p99 a batch."""
        rng = random.Random(seed)
        x0, y0, x1, y1 = district_box(0)
        payloads = [[{"lon": x0 + rng.random() * (x1 - x0), "lat": y0 + rng.random() * (y1 - y0),
                      "category": rng.choice(CATEGORIES), "title": "scale", "source": "app",
                      "reporter": "bench"} for _ in range(BATCH)] for _ in range(batches)]
        headers = {"Authorization": f"Bearer {self.tokens['admin']}"}
        with start_api(self.env(), name=f"scale-{self.label}-intake") as api, \
                httpx.Client(base_url=api.base, headers=headers, timeout=300,
                             limits=httpx.Limits(max_connections=CLIENTS)) as http:
            def send(batch: list[dict]) -> tuple[float, int]:
                t0 = time.perf_counter()
                try:
                    r = http.post("/incidents/batch", json={"incidents": batch})
                except httpx.HTTPError as exc:
                    self.errors += 1
                    say(f"{self.label}: intake -> {exc!r}")
                    return (time.perf_counter() - t0) * 1000, 0
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code != 201:
                    self.errors += 1
                    say(f"{self.label}: intake -> {r.status_code} {r.text[:200]}")
                    return ms, 0
                return ms, r.json()["count"]

            t0 = time.perf_counter()
            with cf.ThreadPoolExecutor(CLIENTS) as pool:
                done = list(pool.map(send, payloads))
            self.intake_per_s = sum(n for _, n in done) / (time.perf_counter() - t0)
        self.figures["intake"] = percentiles([ms for ms, _ in done])
        say(f"{self.label}: intake {self.intake_per_s:,.0f} incidents/s, a batch of {BATCH} "
            f"p50 {self.figures['intake'][0]:.0f} ms, p99 {self.figures['intake'][1]:.0f} ms")

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url, "WANGGE_SECRET_KEY": SECRET,
                "WANGGE_LOCAL_DIR": os.environ.get("TMPDIR", "/tmp"),
                "WANGGE_STATEMENT_TIMEOUT_MS": "120000"}

    def line(self) -> str:
        """`intake_per_s=... intake_ms=p50/p99 street_stats_ms=p50/p99 ...`"""
        parts = [f"intake_per_s={self.intake_per_s:.0f}"] if "intake" in self.figures else []
        for name in ("intake", *QUERIES):
            if name in self.figures:
                p50, p99 = self.figures[name]
                parts.append(f"{name}_ms={p50:.1f}/{p99:.1f}")
        return " ".join(parts)


def accounts(conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
    """An admin, and a commander of district 1's streets: {role: (account id, username)}."""
    out = {}
    for role, name in (("admin", "scale_admin"), ("commander", "scale_commander")):
        out[role] = (conn.execute(
            "INSERT INTO accounts (username, password_hash, role) VALUES (%s, %s, %s) "
            "RETURNING id", (name, hash_password("bench-pass"), role)).fetchone()[0], name)
    conn.execute("INSERT INTO account_areas (account_id, level, area_id) SELECT %s, 'street', id "
                 "FROM streets WHERE code LIKE %s", (out["commander"][0], county(0) + "%"))
    return out


def community_account(conn: psycopg.Connection) -> tuple[int, str]:
    """A commander of district 1's first community (for scoped_list): (account id, username)."""
    account = conn.execute(
        "INSERT INTO accounts (username, password_hash, role) VALUES (%s, %s, 'commander') "
        "RETURNING id", ("scale_community", hash_password("bench-pass"))).fetchone()[0]
    conn.execute("INSERT INTO account_areas (account_id, level, area_id) SELECT %s, "
                 "'community', min(id) FROM communities WHERE code LIKE %s",
                 (account, county(0) + "%"))
    return account, "scale_community"


def bench_tokens(ids: dict[str, tuple[int, str]], community: tuple[int, str]
                 ) -> dict[str, str]:
    """Bearer tokens of the bench's accounts: {role: token}, and "community"."""
    issuer = Settings(secret_key=SECRET)
    tokens = {role: issue_token(issuer, aid, uname, role, 0)[0]
              for role, (aid, uname) in ids.items()}
    tokens["community"] = issue_token(issuer, *community, "commander", 0)[0]
    return tokens


def region_counts(conn: psycopg.Connection) -> tuple[int, int, int, int]:
    """(incidents, patrol points, buildings, micro-grids) in the database."""
    return conn.execute("SELECT (SELECT count(*) FROM incidents), "
                        "(SELECT count(*) FROM patrol_points), "
                        "(SELECT count(*) FROM buildings), "
                        "(SELECT count(*) FROM micro_grids)").fetchone()


def sample_cases(conn: psycopg.Connection, n: int, seed: int) -> list[int]:
    """Ids of n random incidents (of district 1, the only one loaded when this is called)."""
    conn.execute("SELECT setseed(%s)", (1 / (seed + 1),))
    return [r[0] for r in conn.execute("SELECT id FROM incidents ORDER BY random() LIMIT %s",
                                       (n,))]


def citus_database(name: str, given: str | None) -> tuple[str, Callable[[], None]]:
    """(URL of a migrated Citus database, its clean-up): `given`, or database `name` made on
    the local Citus cluster (started if needed, as `wangge db up --citus` does) with citus and
    postgis on every node and the workers registered."""
    if given:
        migrate.upgrade(given)
        return given, lambda: None
    settings = Settings()
    citus_local.up(settings, lambda _m: None)
    citus_local.drop_database(settings, name)
    citus_local.create_database(settings, name)
    url = citus_local.coordinator_url(settings, name)
    migrate.upgrade(url)
    return url, lambda: citus_local.drop_database(settings, name)


def distributed(conn: psycopg.Connection) -> bool:
    """True when incidents and patrol points are distributed tables (the Citus migration ran)."""
    return conn.execute(
        "SELECT count(*) = 2 FROM pg_dist_partition WHERE logicalrelid IN "
        "('incidents'::regclass, 'patrol_points'::regclass) AND partmethod = 'h'").fetchone()[0]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and not math.isnan(a) and not math.isnan(b) else "n/a"


def compare_sides(single_url: str, citus_url: str, tokens: dict[str, str], one: Side | None,
                  *, case_ids: list[int], streets: list[str], counts: tuple, n_districts: int,
                  runs: int, stats_runs: int, year: int, queries: tuple[str, ...], batches: int,
                  phases: dict[str, float], started: float, loaded_mismatches: int) -> None:
    """Time both sides over the loaded region, compare their answers, print the last line
    (exits 1, without ratios, after a failed request or a difference)."""
    single = Side("single", single_url, tokens)
    citus = Side("citus", citus_url, tokens)
    single_answer = single.measure(runs, stats_runs, year, streets, seed=2, queries=queries,
                                   case_ids=case_ids)
    citus_answer = citus.measure(runs, stats_runs, year, streets, seed=2, queries=queries,
                                 case_ids=case_ids)
    mismatches = loaded_mismatches + int(single_answer != citus_answer)
    single.intake(batches, seed=2)
    citus.intake(batches, seed=2)
    with psycopg.connect(libpq_url(single_url)) as conn, \
            psycopg.connect(libpq_url(citus_url)) as cconn:
        a = dict(conn.execute(PER_MICRO_GRID_SQL).fetchall())
        b = dict(cconn.execute(PER_MICRO_GRID_SQL).fetchall())
    mismatches += sum(1 for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    errors = (one.errors if one else 0) + single.errors + citus.errors
    say(f"the two sides agree: {mismatches} differences (district statistics, the community's "
        f"list, incidents per "
        f"micro-grid after the same intake); {errors} failed requests; "
        f"{time.perf_counter() - started:.0f} s in all")

    head = (f"scale: districts={n_districts} incidents={counts[0]} points={counts[1]} "
            f"buildings={counts[2]} micro_grids={counts[3]} runs={runs}/{stats_runs}")
    sides = (f"single_1d: {one.line()} " if one else "single_1d: none ") + \
        f"single: {single.line()} citus: {citus.line()}"
    phases["wall_s"] = time.perf_counter() - started
    tail = (f"errors={errors} citus_mismatches={mismatches} load1={os.getloadavg()[0]:.1f} "
            + " ".join(f"{k}={v:.0f}" for k, v in phases.items()))
    if errors or mismatches:
        print(f"{head} {sides} {tail}")
        raise SystemExit(1)
    growth = ""
    if one:  # a --reuse run has no 1-district side
        growth = f"growth_1_to_{n_districts}: " + " ".join(
            f"{q}={ratio(single.figures[q][0], one.figures[q][0])}" for q in ("intake", *queries))
        not_flat = [q for q in ("intake", *queries)
                    if single.figures[q][0] / one.figures[q][0] > NOT_FLAT]
        growth += f" not_flat={','.join(not_flat) or 'none'}"
    overhead = " ".join([f"intake_per_s={ratio(citus.intake_per_s, single.intake_per_s)}"]
                        + [f"{q}={ratio(citus.figures[q][0], single.figures[q][0])}"
                           for q in queries])
    print(f"{head} {sides} {growth + ' ' if growth else ''}citus_vs_single: {overhead} {tail}")


def district_cases(conn: psycopg.Connection, n: int, seed: int) -> list[int]:
    """Ids of n random generated incidents of district 1 in a loaded region (for --reuse; not
    the intake's, whose ids differ between the two sides)."""
    conn.execute("SELECT setseed(%s)", (1 / (seed + 1),))
    return [r[0] for r in conn.execute(
        "SELECT i.id FROM incidents i JOIN streets s ON s.id = i.street_id WHERE s.code LIKE %s "
        "AND i.reporter IS DISTINCT FROM 'bench' ORDER BY random() LIMIT %s",
        (county(0) + "%", n))]


def reuse(name: str, *, runs: int, stats_runs: int, queries: tuple[str, ...], batches: int,
          year: int) -> None:
    """Time again databases `name` a --keep run left on the local cluster and the local Citus
    cluster: both migrated to the head first, then timed as a full run (no 1-district side).
    The incidents' checksums are not compared again: the earlier run's intake wrote each side
    at its own time (reported_at, codes); the run that loaded them compared them, and this one
    compares the answers and the incidents per micro-grid after its own intake."""
    settings = Settings()
    server = database_url(settings)
    single_url = server.rsplit("/", 1)[0] + "/" + name
    citus_url = citus_local.coordinator_url(settings, name)
    for url in (single_url, citus_url):
        try:
            psycopg.connect(libpq_url(url), connect_timeout=10).close()
        except psycopg.OperationalError as exc:
            raise SystemExit(f"scale: --reuse {name}: cannot open {url.split('@')[-1]} ({exc}); "
                             "give the name of databases a --keep run left") from None
    started = time.perf_counter()
    migrate.upgrade(single_url)
    migrate.upgrade(citus_url)
    phases = {"migrate_s": time.perf_counter() - started}
    say(f"both databases migrated in {phases['migrate_s']:.0f} s")
    with psycopg.connect(libpq_url(single_url), autocommit=True) as conn:
        ids = {role: conn.execute("SELECT id, username FROM accounts WHERE username = %s",
                                  (uname,)).fetchone()
               for role, uname in (("admin", "scale_admin"), ("commander", "scale_commander"))}
        community = conn.execute("SELECT id, username FROM accounts WHERE username = "
                                 "'scale_community'").fetchone()
        case_ids = district_cases(conn, runs + 1, seed=1)
        streets = [r[0] for r in conn.execute(
            "SELECT code FROM streets WHERE code LIKE %s ORDER BY code", (county(0) + "%",))]
        n_districts = conn.execute(
            "SELECT count(DISTINCT left(code, 6)) FROM streets").fetchone()[0]
        counts = region_counts(conn)
    if None in ids.values() or community is None:
        raise SystemExit(f"scale: {name} has no bench accounts: give a database a --keep run left")
    phases["escalate_s"] = escalate_backlog(single_url) + escalate_backlog(citus_url)
    tokens = bench_tokens(ids, community)
    compare_sides(single_url, citus_url, tokens, None, case_ids=case_ids, streets=streets,
                  counts=counts, n_districts=n_districts, runs=runs, stats_runs=stats_runs,
                  year=year, queries=queries, batches=batches, phases=phases, started=started,
                  loaded_mismatches=load_mismatches(single_url, citus_url, skip=("incidents",)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 districts, fewer rows (< 5 min)")
    parser.add_argument("--districts", type=int, help="D (default 10, --quick 2)")
    parser.add_argument("--keep", action="store_true", help="keep both benchmark databases")
    parser.add_argument("--reuse", metavar="NAME", help="time again the databases NAME a --keep "
                        "run left (migrated to the head first; no 1-district side)")
    parser.add_argument("--citus-url", help="an existing, empty database on a Citus coordinator")
    parser.add_argument("--incidents", type=int, metavar="N",
                        help="incidents, and patrol points, in the region (default 10^7, "
                        "--quick 40,000)")
    parser.add_argument("--runs", metavar="R/S",
                        help="requests of each kind / of each statistic (default 200/50, "
                        "--quick 25/3)")
    parser.add_argument("--queries", default=",".join(QUERIES),
                        help="the requests to time besides the intake (default: all of "
                        f"{','.join(QUERIES)})")
    args = parser.parse_args()
    queries = tuple(q for q in args.queries.split(",") if q)
    unknown = set(queries) - set(QUERIES)
    if unknown:
        parser.error(f"unknown --queries {','.join(sorted(unknown))}; choose from "
                     f"{','.join(QUERIES)}")
    n_districts = args.districts or (2 if args.quick else 10)
    total = args.incidents or (40_000 if args.quick else 10_000_000)  # and patrol points
    runs, stats_runs = 25, 3  # the statistics take up to seconds each
    if not args.quick:
        runs, stats_runs = 200, 50
    if args.runs:
        try:
            runs, stats_runs = (int(n) for n in args.runs.split("/"))
        except ValueError:
            parser.error(f"--runs {args.runs}: give two counts, e.g. 50/5")
    buildings = 4 if args.quick else BUILDINGS  # a micro-grid's buildings
    batches = 6 if args.quick else 50
    per_district = total // n_districts
    year = datetime.now(UTC).year - 1
    if args.reuse:
        return reuse(args.reuse, runs=runs, stats_runs=stats_runs, queries=queries,
                     batches=batches, year=year)

    settings = Settings()
    if not settings.database_url:
        localdb.up(settings, lambda _m: None)
    server = database_url(settings)  # after `up`: a new local cluster's password is in its URL
    name = f"wangge_bench_scale_{os.getpid()}"
    localdb.drop_database(server, name)
    localdb.create_database(server, name)
    single_url = server.rsplit("/", 1)[0] + "/" + name
    drop_citus: Callable[[], None] = lambda: None  # noqa: E731
    started = time.perf_counter()
    try:
        with cf.ThreadPoolExecutor(1) as pool:  # the Citus cluster's setup beside the migration
            citus_job = pool.submit(citus_database, name, args.citus_url)
            migrate.upgrade(single_url)
            citus_url, drop_citus = citus_job.result()
        phases = {"migrate_s": time.perf_counter() - started}
        say(f"both databases migrated in {phases['migrate_s']:.0f} s")
        with psycopg.connect(libpq_url(citus_url), autocommit=True) as cconn:
            if not distributed(cconn):
                raise SystemExit("scale: the Citus database has no distributed incidents and "
                                 "patrol points (migration 0011_citus_distribution)")
        with psycopg.connect(libpq_url(single_url), autocommit=True) as conn:
            load_single(conn, range(1), per_district, year, buildings)
            phases["generate_s"] = time.perf_counter() - started - phases["migrate_s"]
            ids = accounts(conn)
            community = community_account(conn)
            case_ids = sample_cases(conn, runs + 1, seed=1)
            streets = [r[0] for r in conn.execute(
                "SELECT code FROM streets WHERE code LIKE %s ORDER BY code", (county(0) + "%",))]
        phases["escalate_s"] = escalate_backlog(single_url)
        tokens = bench_tokens(ids, community)
        one = Side("single_1d", single_url, tokens)
        one.measure(runs, stats_runs, year, streets, seed=1, queries=queries, case_ids=case_ids)
        one.intake(batches, seed=1)

        with psycopg.connect(libpq_url(single_url), autocommit=True) as conn:
            t0 = time.perf_counter()
            load_single(conn, range(1, n_districts), per_district, year, buildings)
            phases["generate_s"] += time.perf_counter() - t0
            counts = region_counts(conn)
        phases["citus_load_s"] = load_s = load_citus(single_url, citus_url, n_districts,
                                                     per_district, year, buildings)
        say(f"region: {n_districts} districts, {counts[3]:,} micro-grids, {counts[2]:,} "
            f"buildings, {counts[0]:,} incidents, {counts[1]:,} patrol points; Citus loaded "
            f"in {load_s:.0f} s")
        loaded_mismatches = load_mismatches(single_url, citus_url)
        phases["escalate_s"] += escalate_backlog(single_url) + escalate_backlog(citus_url)
        compare_sides(single_url, citus_url, tokens, one, case_ids=case_ids, streets=streets,
                      counts=counts, n_districts=n_districts, runs=runs, stats_runs=stats_runs,
                      year=year, queries=queries, batches=batches, phases=phases,
                      started=started, loaded_mismatches=loaded_mismatches)
    finally:
        if not args.keep:
            localdb.drop_database(server, name)
            drop_citus()


if __name__ == "__main__":
    main()
