"""Map layers benchmark: our vector tiles and feature pages against tipg on a generated district.

Generates a district at the seeds' scale (1,521 grids, ~7,100 micro-grids, ~60,000 buildings,
100,000 incidents, 20,000 patrol points) in its own database, installs tipg with
uvicorn[standard] into bench/out/venv-tipg (the same HTTP stack as ours: httptools, uvloop), and
loads both servers in turn with the same URL lists at concurrency 8 (wrk, a separate process;
one wrk thread whose 8 connections share one URL list): tiles z12-z16 across the district (cold:
every URL once in a shuffled order, so no server cache hit, timed to the last answer; warm: a
repeated set of 150), and feature pages with a bbox. Like for like: tipg is asked for exactly the
columns our tiles and pages are built from (`properties=`), with the same tile buffer (64), and
the mean body bytes of both are printed so the reader sees the outputs match. Warm and
revalidate runs compare our cached tiles with tipg, which has no tile cache (uncached).

It also times the bare tile SQL at concurrency 8 from an async psycopg client (the floor, on the
stored EPSG:3857 column and on ST_Transform(geom); before and after the servers) and prints our
cold overhead over it: the floor's throughput over ours, minus one. Any connection error, any
answer outside 2xx/3xx or a cold run that did not answer every URL makes the bench exit 1
without ratios. The last line holds the figures:

    layers: cold_vs_tipg=... warm_ours_cached_vs_tipg_uncached=... items_vs_tipg=... ...

Usage: .venv/bin/python bench/layers_bench.py [--quick] [--seconds N] [--regenerate]
(needs wrk: installed with apt-get when run as root, else `sudo apt-get install wrk`)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.ogc import registry  # noqa: E402
from bench.common import OUT, ensure_tipg, ensure_wrk, say, start_api, start_tipg  # noqa: E402
from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.scope import Principal  # noqa: E402
from gis.settings import Settings  # noqa: E402
from tiles import layers as tl  # noqa: E402

DB_NAME = "wangge_bench_layers"
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
CONCURRENCY = 8
COLD_LIMIT_S = 300  # a cold run not done by then is incomplete (and the bench fails)
X0, Y0, DX, DY = 116.30, 39.95, 0.0035, 0.0027  # north-west corner, grid cell size (~300 m)
N = 39  # grids per side
TILE_LAYERS = ["grids", "micro-grids", "buildings", "incidents"]
ITEM_COLLECTIONS = ["incidents", "buildings", "micro-grids"]

GENERATE_SQL = f"""
SELECT setseed(0.42);
INSERT INTO streets (code, name, parent_code, geom)
SELECT '110105' || lpad((r + 1)::text, 3, '0'), '街道' || (r + 1), '110105',
       ST_Multi(ST_MakeEnvelope({X0}, {Y0} - (r + 1) * 3 * {DY}, {X0} + {N} * {DX},
                                {Y0} - r * 3 * {DY}, 4326))
FROM generate_series(0, 12) r;
INSERT INTO communities (code, name, parent_id, parent_code, class, geom)
SELECT s.code || lpad((ci + 1)::text, 3, '0'), '社区' || (ci + 1), s.id, s.code,
       (ARRAY['A', 'B', 'C', 'D'])[1 + ci % 4],
       ST_Multi(ST_MakeEnvelope({X0} + ci * 3 * {DX}, ST_YMin(s.geom),
                                {X0} + (ci + 1) * 3 * {DX}, ST_YMax(s.geom), 4326))
FROM streets s, generate_series(0, 12) ci;
INSERT INTO grids (code, name, parent_id, parent_code, geom)
SELECT c.code || lpad((gj * 3 + gi + 1)::text, 3, '0'), '网格' || (gj * 3 + gi + 1), c.id, c.code,
       ST_Multi(ST_MakeEnvelope({X0} + (k.cc * 3 + gi) * {DX}, {Y0} - (k.cr * 3 + gj + 1) * {DY},
                                {X0} + (k.cc * 3 + gi + 1) * {DX}, {Y0} - (k.cr * 3 + gj) * {DY},
                                4326))
FROM communities c,
     LATERAL (SELECT substring(c.code, 7, 3)::int - 1 AS cr,
                     substring(c.code, 10, 3)::int - 1 AS cc) k,
     generate_series(0, 2) gi, generate_series(0, 2) gj;
INSERT INTO micro_grids (code, name, parent_id, parent_code, geom)
SELECT g.code || lpad((mj * n.nx + mi + 1)::text, 3, '0'), '微网格' || (mj * n.nx + mi + 1),
       g.id, g.code,
       ST_Multi(ST_MakeEnvelope(b.x1 + mi * (b.x2 - b.x1) / n.nx,
                                b.y2 - (mj + 1) * (b.y2 - b.y1) / 2,
                                b.x1 + (mi + 1) * (b.x2 - b.x1) / n.nx,
                                b.y2 - mj * (b.y2 - b.y1) / 2, 4326))
FROM grids g,
     LATERAL (SELECT ST_XMin(g.geom) x1, ST_YMin(g.geom) y1, ST_XMax(g.geom) x2,
                     ST_YMax(g.geom) y2) b,
     LATERAL (SELECT CASE WHEN g.id % 3 = 0 THEN 3 ELSE 2 END AS nx) n,
     LATERAL generate_series(0, n.nx - 1) mi, generate_series(0, 1) mj;
INSERT INTO buildings (code, micro_grid_id, grid_id, households, floors, geom)
SELECT m.code || lpad((bj * 3 + bi + 1)::text, 2, '0'), m.id, m.parent_id,
       5 + floor(random() * 50)::int, 3 + floor(random() * 15)::int,
       ST_MakeEnvelope(b.x1 + (bi + 0.3) * b.w / 3, b.y1 + (bj + 0.3) * b.h / 3,
                       b.x1 + (bi + 0.7) * b.w / 3, b.y1 + (bj + 0.7) * b.h / 3, 4326)
FROM micro_grids m,
     LATERAL (SELECT ST_XMin(m.geom) x1, ST_YMin(m.geom) y1, ST_XMax(m.geom) - ST_XMin(m.geom) w,
                     ST_YMax(m.geom) - ST_YMin(m.geom) h) b,
     generate_series(0, 2) bi, generate_series(0, 2) bj
WHERE random() < 0.94;
UPDATE micro_grids m SET households = s.n FROM (
    SELECT micro_grid_id, sum(households) n FROM buildings GROUP BY 1) s
WHERE s.micro_grid_id = m.id;
UPDATE grids g SET households = s.n FROM (
    SELECT parent_id, sum(households) n FROM micro_grids GROUP BY 1) s WHERE s.parent_id = g.id;
UPDATE communities c SET households = s.n FROM (
    SELECT parent_id, sum(households) n FROM grids GROUP BY 1) s WHERE s.parent_id = c.id;
UPDATE streets t SET households = s.n FROM (
    SELECT parent_id, sum(households) n FROM communities GROUP BY 1) s WHERE s.parent_id = t.id;
CREATE TEMP TABLE mg AS
SELECT row_number() OVER (ORDER BY m.id) AS rn, m.id, m.parent_id AS grid_id,
       g.parent_id AS community_id, c.parent_id AS street_id, ST_XMin(m.geom) x1,
       ST_YMin(m.geom) y1, ST_XMax(m.geom) - ST_XMin(m.geom) w, ST_YMax(m.geom) - ST_YMin(m.geom) h
FROM micro_grids m JOIN grids g ON g.id = m.parent_id JOIN communities c ON c.id = g.parent_id;
INSERT INTO incidents (code, category, title, source, status, geom, reported_at, due_at,
                       accepted_at, resolved_at, closed_at, micro_grid_id, grid_id, community_id,
                       street_id)
SELECT 'B' || lpad(r.g::text, 7, '0'),
       (ARRAY['sanitation', 'safety', 'facility', 'dispute'])[1 + floor(r.rc * 4)::int],
       'bench incident', 'worker', r.st,
       ST_Point(mg.x1 + (0.05 + 0.9 * r.rx) * mg.w, mg.y1 + (0.05 + 0.9 * r.ry) * mg.h, 4326),
       r.rep, r.rep + interval '3 days',
       CASE WHEN r.st NOT IN ('reported', 'rejected') THEN r.rep + interval '1 hour' END,
       CASE WHEN r.st IN ('resolved', 'verified', 'closed') THEN r.rep + interval '2 days' END,
       CASE WHEN r.st = 'closed' THEN r.rep + interval '2 days 1 hour' END,
       mg.id, mg.grid_id, mg.community_id, mg.street_id
FROM (SELECT g, 1 + floor(random() * (SELECT count(*) FROM mg))::int AS k, random() rx,
             random() ry, random() rc,
             (ARRAY['reported', 'accepted', 'rejected', 'dispatched', 'in_progress', 'resolved',
                    'verified', 'closed'])[1 + floor(random() * 8)::int] AS st,
             timestamptz '2026-11-01' - random() * interval '365 days' AS rep
      FROM generate_series(1, 100000) g) r
JOIN mg ON mg.rn = r.k;
INSERT INTO workers (name) VALUES ('bench patroller');
INSERT INTO patrols (worker_id, started_at)
SELECT (SELECT max(id) FROM workers), timestamptz '2026-10-01' + p * interval '1 hour'
FROM generate_series(1, 200) p;
INSERT INTO patrol_points (patrol_id, t, geom, micro_grid_id, grid_id, community_id, street_id)
SELECT p.id, p.started_at + r.i * interval '30 seconds',
       ST_Point(mg.x1 + r.rx * mg.w, mg.y1 + r.ry * mg.h, 4326), mg.id, mg.grid_id,
       mg.community_id, mg.street_id
FROM patrols p, LATERAL (SELECT i, random() rx, random() ry,
                                1 + floor(random() * (SELECT count(*) FROM mg))::int + 0 * p.id k
                         FROM generate_series(1, 100) i) r
JOIN mg ON mg.rn = r.k;
"""

WRK_LUA = """
-- One wrk thread drives all 8 connections, so they walk one shared URL list in order.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  reqs = {}
  local auth = "Bearer " .. args[2]
  for line in io.lines(args[1]) do
    local path, etag = line:match("^([^\t]*)\t?(.*)$")
    local headers = {["Authorization"] = auth}
    if etag ~= "" then headers["If-None-Match"] = etag end
    reqs[#reqs + 1] = wrk.format("GET", path, headers)
  end
  pos = 0
  wrapped = 0
  seen = 0
  body_bytes = 0
  bad = 0
  done_file = args[3] ~= "loop" and args[3] or nil
end
function response(status, headers, body)
  seen = seen + 1
  body_bytes = body_bytes + #body
  if status < 200 or status >= 400 then bad = bad + 1 end
  if done_file and seen == #reqs then
    -- every URL answered once: tell the driver, which stops wrk's clock with SIGINT
    local f = io.open(done_file, "w")
    f:write("done")
    f:close()
    wrk.thread:stop()
  end
end
function request()
  pos = pos + 1
  if pos > #reqs then pos = 1; wrapped = 1 end
  return reqs[pos]
end
function done(summary, latency, requests)
  local wrapped, seen, body_bytes, bad = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    wrapped = wrapped + t:get("wrapped")
    seen = seen + t:get("seen")
    body_bytes = body_bytes + t:get("body_bytes")
    bad = bad + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, '
    .. '"bad_status": %d, "wrapped": %d, "answers": %d, "body_bytes": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, math.max(e.status, bad), wrapped, seen,
    body_bytes))
end
"""


def prepare_database(regenerate: bool) -> tuple[str, str]:
    """The benchmark database's URL (generated once, reused) and an admin token for it."""
    base = Settings()
    if not base.database_url:
        localdb.up(base, lambda _m: None)
    server = database_url(base)
    url = server.rpartition("/")[0] + "/" + DB_NAME
    if regenerate:
        localdb.drop_database(server, DB_NAME)
    localdb.create_database(server, DB_NAME)
    migrate.upgrade(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM grids").fetchone()[0] == 0:
            say("generating the district (once; --regenerate redoes it) ...")
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute(GENERATE_SQL)
            conn.execute("ANALYZE")
            say(f"  generated in {time.perf_counter() - t0:.0f} s")
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "streets", "communities", "grids", "micro_grids", "buildings", "incidents",
            "patrol_points")}
        say("district: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        row = conn.execute("SELECT id FROM accounts WHERE username = 'bench'").fetchone()
        account_id = row[0] if row else conn.execute(
            "INSERT INTO accounts (username, password_hash, role) VALUES ('bench', %s, 'admin') "
            "RETURNING id", (hash_password("bench-only"),)).fetchone()[0]
    token, _ = issue_token(Settings(secret_key=SECRET), account_id, "bench", "admin", 0, 600)
    return url, token


def tile_range(z: int) -> tuple[range, range]:
    n = 1 << z

    def col(lon: float) -> int:
        return int((lon + 180) / 360 * n)

    def row(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

    return (range(col(X0), col(X0 + N * DX) + 1), range(row(Y0), row(Y0 - N * DY) + 1))


def tile_list(seed: int = 7) -> list[tuple[str, int, int, int]]:
    """Every (layer, z, x, y) over the district, z12-z16 within each layer's zoom range."""
    tiles = []
    for layer in TILE_LAYERS:
        for z in range(max(12, tl.LAYERS[layer].minzoom), 17):
            xs, ys = tile_range(z)
            tiles += [(layer, z, x, y) for x in xs for y in ys]
    random.Random(seed).shuffle(tiles)
    return tiles


def item_list(n: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        size = rng.uniform(0.004, 0.015)
        x = rng.uniform(X0, X0 + N * DX - size)
        y = rng.uniform(Y0 - N * DY, Y0 - size)
        out.append((ITEM_COLLECTIONS[i % 3], f"{x:.5f},{y:.5f},{x + size:.5f},{y + size:.5f}"))
    return out


def source_columns(exprs: dict[str, str]) -> str:
    """The table columns (alias t) that the attribute expressions read, in order, comma-joined:
    what tipg is asked for with `properties=` (a computed flag such as overdue becomes the
    columns it is computed from)."""
    cols: list[str] = []
    for expr in exprs.values():
        for col in re.findall(r"\bt\.(\w+)", expr):
            if col not in cols:
                cols.append(col)
    return ",".join(cols)


def ours_tile(t: tuple) -> str:
    return f"/tiles/{t[0]}/{t[1]}/{t[2]}/{t[3]}.pbf"


def tipg_tile(t: tuple) -> str:
    lay = tl.LAYERS[t[0]]
    return (f"/collections/public.{lay.table}/tiles/WebMercatorQuad/{t[1]}/{t[2]}/{t[3]}"
            f"?geom-column=geom&properties={source_columns(lay.attributes)}")


def ours_items(i: tuple) -> str:
    return f"/collections/{i[0]}/items?bbox={i[1]}&limit=100"


def tipg_items(i: tuple) -> str:
    coll = registry.COLLECTIONS[i[0]]
    return (f"/collections/public.{coll.table}/items?bbox={i[1]}&limit=100&geom-column=geom"
            f"&properties={source_columns(coll.properties)}")


def wrk(base: str, urls: list[str], seconds: float, token: str, tag: str,
        once: bool = False) -> dict:
    """Run wrk (one thread, 8 connections sharing the URL list in order) for `seconds` (any
    positive float: wrk takes whole seconds, so it is given more and stopped here with SIGINT,
    which ends its clock); with `once`, stop as soon as every URL was answered once (cold runs),
    `seconds` being then only an upper bound."""
    lua = OUT / "urls.lua"
    lua.write_text(WRK_LUA)
    url_file = OUT / f"urls-{tag}.txt"
    url_file.write_text("\n".join(urls) + "\n")
    done = OUT / f"done-{tag}"
    done.unlink(missing_ok=True)
    proc = subprocess.Popen(
        ["wrk", "-t", "1", "-c", str(CONCURRENCY), "-d", f"{math.ceil(seconds) + 2}s",
         "--timeout", "30s", "-s", str(lua), base, "--", str(url_file), token,
         str(done) if once else "loop"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline and not (once and done.exists()):
        time.sleep(0.002)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate()
    if proc.returncode != 0 or not out.strip():
        raise SystemExit(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
    stats = json.loads(out.strip().splitlines()[-1])
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    stats["complete"] = done.exists() if once else True
    if once:  # requests past the list's end were cut off when the last answer came
        stats["wrapped"] = 0
        stats["expected"] = len(urls)
    return stats


async def sql_floor(url: str, tiles: list[tuple], seconds: float | None,
                    reproject: bool = False) -> dict:
    """The bare tile SQL at concurrency 8 (None seconds: every tile once)."""
    admin = Principal(0, "bench", "admin")
    queue = iter(tiles)
    latencies: list[float] = []
    t0 = time.perf_counter()

    async def worker() -> None:
        async with await psycopg.AsyncConnection.connect(
                libpq_url(url), autocommit=True, prepare_threshold=0) as conn:
            for layer, z, x, y in queue:
                if seconds is not None and time.perf_counter() - t0 > seconds:
                    return
                sql, params = tl.tile_sql(tl.layers_at(layer, z), admin, z, reproject)
                params.update(tl.tile_params(z, x, y))
                start = time.perf_counter()
                await (await conn.execute(sql, params, binary=True)).fetchone()
                latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_us": latencies[len(latencies) // 2] * 1e6,
            "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6}


def line(name: str, s: dict) -> str:
    extra = ""
    if s.get("errors") or s.get("bad_status"):
        extra = f"  errors={s['errors']} non-2xx/3xx={s['bad_status']}"
    if s.get("wrapped"):
        extra += "  (list wrapped: some repeats)"
    if not s.get("complete", True):
        extra += f"  INCOMPLETE: {s['answers']} of {s['expected']} URLs answered"
    size = f"  mean {s['body_bytes'] / s['answers']:7.0f} B" if s.get("answers") else ""
    return (f"  {name:<28} {s['rps']:8.1f} req/s  p50 {s['p50_us'] / 1000:7.1f} ms  "
            f"p99 {s['p99_us'] / 1000:7.1f} ms  n={s['requests']}{size}{extra}")


def fetch_etags(base: str, urls: list[str], token: str) -> list[str]:
    """GET every URL once (as a browser's first visit) and pair it with the ETag it got."""
    out = []
    for url in urls:
        req = urllib.request.Request(base + url, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()
            etag = resp.headers.get("ETag") or ""
        out.append(f"{url}\t{etag}" if etag else url)
    return out


def merge(runs: list[dict]) -> dict:
    """Requests over total time of several runs; the mean of their percentiles."""
    total = sum(r["requests"] for r in runs)
    secs = sum(r["duration_us"] for r in runs) / 1e6
    out = {k: sum(r[k] for r in runs) for k in ("requests", "errors", "bad_status", "wrapped",
                                                "answers", "body_bytes")}
    out["complete"] = all(r["complete"] for r in runs)
    out["expected"] = sum(r.get("expected", 0) for r in runs)
    out.update(rps=total / secs, p50_us=sum(r["p50_us"] for r in runs) / len(runs),
               p99_us=sum(r["p99_us"] for r in runs) / len(runs))
    return out


def problems(results: dict[str, dict]) -> list[str]:
    """What makes a comparison void: connection errors, answers outside 2xx/3xx, a cold run that
    did not answer every URL."""
    out = []
    for key, r in results.items():
        if r["errors"]:
            out.append(f"{key}: {r['errors']} connection errors")
        if r["bad_status"]:
            out.append(f"{key}: {r['bad_status']} answers outside 2xx/3xx")
        if not r["complete"]:
            out.append(f"{key}: incomplete ({r['answers']} of {r['expected']} answered)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (< 5 minutes)")
    parser.add_argument("--seconds", type=float, help="seconds per measured run")
    parser.add_argument("--regenerate", action="store_true", help="regenerate the district")
    parser.add_argument("--workers", type=int, default=1, help="server processes (both)")
    args = parser.parse_args()
    seconds = args.seconds or (5 if args.quick else 20)
    if not seconds > 0:
        parser.error("--seconds must be a positive number")
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_wrk()
    ensure_tipg()
    url, token = prepare_database(args.regenerate)
    tiles = tile_list()
    halves = [tiles[0::2], tiles[1::2]]
    cold_seconds = max(COLD_LIMIT_S, seconds)  # a bound: cold runs stop once all are answered
    hot = tiles[:150]
    items = item_list(2000)
    say(f"{len(tiles)} tile URLs (z12-z16, layers {', '.join(TILE_LAYERS)}), "
        f"{len(items)} item pages; {seconds:g} s per run (cold: until all answered), "
        f"concurrency {CONCURRENCY}; "
        "servers measured in turn, ABBA order")

    say("priming PostgreSQL's buffers with every tile once (bare SQL) ...")
    asyncio.run(sql_floor(url, tiles, None))
    floor = asyncio.run(sql_floor(url, tiles, seconds))
    floor_tf = asyncio.run(sql_floor(url, tiles, seconds, reproject=True))

    tipg_tables = [f"public.{lay.table}" for lay in tl.LAYERS.values()]
    ours_env = {"DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET,
                "WANGGE_DB_POOL_SIZE": str(CONCURRENCY + 2)}
    say("starting both servers ...")
    auth = {"Authorization": f"Bearer {token}"}
    servers = {}
    runs: dict[str, list[dict]] = {}
    order = [("tipg", 0), ("ours", 0), ("ours", 1), ("tipg", 1)]  # ABBA cancels drift
    try:
        servers["tipg"] = (start_tipg(libpq_url(url), tipg_tables, workers=args.workers,
                                      env={"TIPG_TILE_BUFFER": str(tl.BUFFER)}),
                           tipg_tile, tipg_items)
        servers["ours"] = (start_api(ours_env, name="ours", workers=args.workers,
                                     ready_path="/collections", headers=auth),
                           ours_tile, ours_items)
        for name, half in order:
            server, tile_url, _ = servers[name]
            runs.setdefault(f"{name}_cold", []).append(wrk(
                server.base, [tile_url(t) for t in halves[half]], cold_seconds, token,
                f"{name}-cold{half}", once=True))
        revalidate = {}
        for name, (server, tile_url, _) in servers.items():
            revalidate[name] = fetch_etags(server.base, [tile_url(t) for t in hot], token)
        for name, _ in order:
            server, tile_url, items_url = servers[name]
            runs.setdefault(f"{name}_warm", []).append(wrk(
                server.base, [tile_url(t) for t in hot], seconds, token, f"{name}-warm"))
            runs.setdefault(f"{name}_revalidate", []).append(wrk(
                server.base, revalidate[name], seconds, token, f"{name}-revalidate"))
            runs.setdefault(f"{name}_items", []).append(wrk(
                server.base, [items_url(i) for i in items], seconds, token, f"{name}-items"))
    finally:
        for server, _, _ in servers.values():
            server.stop()
    results = {key: merge(value) for key, value in runs.items()}
    # the floor again after the servers, so drift on a noisy machine hits both sides alike
    floor_after = asyncio.run(sql_floor(url, tiles, seconds))
    floor = {**floor, "requests": floor["requests"] + floor_after["requests"],
             "rps": (floor["rps"] + floor_after["rps"]) / 2,
             "p50_us": (floor["p50_us"] + floor_after["p50_us"]) / 2,
             "p99_us": (floor["p99_us"] + floor_after["p99_us"]) / 2}

    say("results (concurrency 8; mean = body bytes per answer):")
    say(line("bare SQL, geom_3857 (2 runs)", floor))
    say(line("bare SQL, ST_Transform(geom)", floor_tf))
    for key in ("cold", "warm", "revalidate", "items"):
        for name in ("tipg", "ours"):
            say(line(f"{name} {key}", results[f"{name}_{key}"]))
    failed = problems(results)
    if failed:
        say("layers: FAILED, no ratios: " + "; ".join(failed))
        sys.exit(1)
    ratio = {key: results[f"ours_{key}"]["rps"] / results[f"tipg_{key}"]["rps"]
             for key in ("cold", "warm", "revalidate", "items")}
    overhead = floor["rps"] / results["ours_cold"]["rps"] - 1
    stored = floor["rps"] / floor_tf["rps"]
    size = {name: results[f"{name}_cold"]["body_bytes"] / results[f"{name}_cold"]["answers"]
            for name in ("ours", "tipg")}
    say(f"stored geom_3857 vs ST_Transform(geom): {stored:.2f}x the throughput "
        f"({'kept geom_3857' if stored >= 1 else 'ST_Transform is faster here'})")
    say("warm = repeated GETs, ours answered from our tile cache, tipg's uncached (it has no "
        "tile cache); revalidate = the same with If-None-Match (what a browser sends under "
        "Cache-Control: no-cache): ours 304, tipg (no ETag) full tiles")
    say(f"bars: cold >= 1.5x {'ok' if ratio['cold'] >= 1.5 else 'MISSED'}, warm >= 5x "
        f"{'ok' if ratio['warm'] >= 5 else 'MISSED'}, items >= 1.5x "
        f"{'ok' if ratio['items'] >= 1.5 else 'MISSED'}, overhead <= 20% "
        f"{'ok' if overhead <= 0.2 else 'MISSED'}")
    say(f"layers: cold_vs_tipg={ratio['cold']:.2f}x "
        f"warm_ours_cached_vs_tipg_uncached={ratio['warm']:.2f}x "
        f"revalidate_ours_cached_vs_tipg_uncached={ratio['revalidate']:.2f}x "
        f"items_vs_tipg={ratio['items']:.2f}x overhead={overhead * 100:.0f}% "
        f"cold_rps={results['ours_cold']['rps']:.0f} warm_rps={results['ours_warm']['rps']:.0f} "
        f"items_rps={results['ours_items']['rps']:.0f} floor_rps={floor['rps']:.0f} "
        f"stored_vs_transform={stored:.2f}x tile_bytes_ours={size['ours']:.0f} "
        f"tile_bytes_tipg={size['tipg']:.0f}")


if __name__ == "__main__":
    main()
