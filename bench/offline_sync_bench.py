"""Offline sync: a day of queued writes drained by the worker app's own queue after going online.

In Chromium (Debian's, headless, through Playwright): the worker logs in to /map/me at 390x844,
the context goes offline, and the page's queue (wg-queue.js, WG.queue.add, the same calls the
buttons make) takes 500 reports and a patrol of 5,000 device-timestamped points in batches of
10 (a start, 500 point uploads, an end). The context goes online and the time until the queue is
empty is measured. Every 100th write loses its answer on the way back (the request reaches the
server, the page sees a network error), so the queue must retry with the same Idempotency-Key.
Afterwards the database is counted: duplicates (rows beyond one per report or point) and lost
(queued but absent) must both be 0.

The peer run replays the same queue protocol from Python (httpx, one request at a time, oldest
first, the same keys and the same lost answers, retried at once) against the same API: the
floor the page's queue is compared with.

    python bench/offline_sync_bench.py            # 3 runs of each, medians
    python bench/offline_sync_bench.py --quick    # 1 run of each; last line holds the figures
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_api  # noqa: E402
from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password  # noqa: E402
from gis.database import database_url, libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402

SECRET = "offline-sync-bench-secret-0123456789abcdef"
REPORTS, POINTS, BATCH, LOSE_EVERY = 500, 5000, 10, 100
USER, PASSWORD = "syncbench", "sync-bench-pw"
X0, Y0 = 120.10, 30.30  # the grid: 0.02 x 0.02 degrees


def seed(url: str) -> None:
    """A street, community, grid and micro-grid, and a worker assigned to the grid."""
    box = f"ST_Multi(ST_MakeEnvelope({X0}, {Y0}, {X0 + 0.02}, {Y0 + 0.02}, 4326))"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"""
            INSERT INTO streets (code, name, parent_code, geom)
                VALUES ('330199001', 'S', '330199', {box});
            INSERT INTO communities (code, name, parent_id, parent_code, geom)
                SELECT '330199001001', 'C', id, code, geom FROM streets;
            INSERT INTO grids (code, name, parent_id, parent_code, geom)
                SELECT '330199001001001', 'G', id, code, geom FROM communities;
            INSERT INTO micro_grids (code, name, parent_id, parent_code, geom)
                SELECT '330199001001001001', 'M', id, code, geom FROM grids;""")
        worker = conn.execute("INSERT INTO workers (name, phone) VALUES ('同步', '13800000000') "
                              "RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                     "SELECT %s, 'grid', id, 'full_time' FROM grids", (worker,))
        conn.execute("INSERT INTO accounts (username, password_hash, role, worker_id) "
                     "VALUES (%s, %s, 'worker', %s)", (USER, hash_password(PASSWORD), worker))


def plan(tag: str) -> list[dict]:
    """The queue items of one run, as the page queues them (oldest first)."""
    items: list[dict] = []
    for i in range(REPORTS):
        items.append({"kind": "report", "path": "/incidents", "local": f"r-{tag}-{i}",
                      "body": {"lon": X0 + 0.001 + (i % 50) * 3e-4, "lat": Y0 + 0.001 +
                               (i // 50) * 1e-3, "category": "garbage",
                               "title": f"{tag} report {i}", "source": "worker"}})
    patrol = f"p-{tag}"
    t0 = time.time() - POINTS * 5
    items.append({"kind": "patrol_start", "path": "/patrols", "local": patrol,
                  "body": {"started_at": _iso(t0 - 1)}})
    for b in range(POINTS // BATCH):
        points = [{"t": _iso(t0 + (b * BATCH + k) * 5), "lon": X0 + 0.001 + (k * 1e-4),
                   "lat": Y0 + 0.001 + (b % 180) * 1e-4, "accuracy": 5} for k in range(BATCH)]
        items.append({"kind": "patrol_points", "path": "/patrols/{ref}/points", "ref": patrol,
                      "body": {"points": points}})
    items.append({"kind": "patrol_end", "path": "/patrols/{ref}/end", "ref": patrol,
                  "body": {"ended_at": _iso(t0 + POINTS * 5)}})
    return items


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def count(url: str, tag: str) -> dict[str, int]:
    """Reports and patrol points of a run in the database: duplicates and lost."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT title) FROM incidents "
                                      "WHERE title LIKE %s", (f"{tag} report %",)).fetchone()
        prow = conn.execute(
            "SELECT count(q.*), count(DISTINCT q.t), count(DISTINCT p.id) FROM patrols p "
            "JOIN patrol_points q ON q.patrol_id = p.id WHERE p.started_at = %s",
            (_plan_start(tag),)).fetchone() if _plan_start(tag) else (0, 0, 0)
    return {"duplicates": (rows - distinct) + (prow[0] - prow[1]),
            "lost": (REPORTS - distinct) + (POINTS - prow[1]), "patrols": prow[2]}


_STARTS: dict[str, str] = {}


def _plan_start(tag: str) -> str | None:
    return _STARTS.get(tag)


def peer_run(base: str, url: str, tag: str) -> dict:
    """The queue protocol replayed from Python: one request at a time, oldest first."""
    items = plan(tag)
    _STARTS[tag] = items[REPORTS]["body"]["started_at"]
    token = httpx.post(f"{base}/auth/token",
                       data={"username": USER, "password": PASSWORD}).json()["access_token"]
    refs: dict[str, int] = {}
    retried = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for n, item in enumerate(items, 1):
            key = uuid.uuid4().hex
            path = item["path"].replace("{ref}", str(refs.get(item.get("ref"), "")))
            while True:
                r = http.post(path, json=item["body"], headers={"Idempotency-Key": key})
                if n % LOSE_EVERY == 0 and r.headers.get("idempotent-replayed") != "true":
                    retried += 1  # the answer is lost: send again with the same key
                    continue
                break
            if r.status_code >= 300:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
            if item.get("local"):
                refs[item["local"]] = r.json()["id"]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "retried": retried, **count(url, tag)}


LOSE_JS = """every => {
  const real = window.fetch.bind(window);
  let writes = 0;
  window.benchLost = 0;
  window.fetch = (input, init) => {
    const method = (init && init.method) || 'GET';
    if (method === 'GET' || !window.benchLosing) { return real(input, init); }
    writes += 1;
    const lose = writes % every === 0;
    return real(input, init).then(r => {
      if (!lose) { return r; }
      window.benchLost += 1;
      return r.arrayBuffer().then(() => { throw new TypeError('answer lost (bench)'); });
    });
  };
}"""


def page_run(page, context, url: str, tag: str) -> dict:
    """The page's own queue: fill it offline, go online, time the drain."""
    items = plan(tag)
    _STARTS[tag] = items[REPORTS]["body"]["started_at"]
    context.set_offline(True)
    page.evaluate("() => new Promise(r => setTimeout(r, 50))")
    page.evaluate("""items => items.reduce((p, it) => p.then(() => WG.queue.add(it)),
                                            Promise.resolve())""", items)
    queued = page.evaluate("WG.queue.all().then(a => a.length)")
    if queued != len(items):
        raise RuntimeError(f"queued {queued} of {len(items)}")
    page.evaluate("window.benchLosing = true; window.benchLost = 0")
    started = time.perf_counter()
    context.set_offline(False)
    deadline = time.monotonic() + 600
    while page.evaluate("WG.queue.all().then(a => a.length)"):
        if time.monotonic() > deadline:
            raise RuntimeError("the queue did not drain")
        page.wait_for_timeout(50)
    seconds = time.perf_counter() - started
    page.evaluate("window.benchLosing = false")
    failed = page.evaluate("WG.queueCounts.failed")
    if failed:
        raise RuntimeError(f"{failed} items failed")
    return {"seconds": seconds, "retried": page.evaluate("window.benchLost"),
            **count(url, tag)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run of each")
    args = parser.parse_args()
    runs = 1 if args.quick else 3

    from tests.browser import chromium

    base_settings = Settings()
    if not base_settings.database_url:
        localdb.up(base_settings, lambda _m: None)
    server = database_url(base_settings)
    name = f"wangge_syncbench_{os.getpid()}"
    localdb.drop_database(server, name)
    localdb.create_database(server, name)
    url = server.rpartition("/")[0] + "/" + name
    api = None
    errors: list[str] = []
    page_results: list[dict] = []
    peer_results: list[dict] = []
    try:
        migrate.upgrade(url)
        seed(url)
        api = start_api({"DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET}, name="sync-api")
        base = api.base
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 390, "height": 844},
                                          is_mobile=True, has_touch=True)
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/login?next=/map/me")
            page.fill("input[name=username]", USER)
            page.fill("input[name=password]", PASSWORD)
            page.click("#wg-login button[type=submit]")
            page.wait_for_url(f"{base}/map/me")
            page.wait_for_selector("body[data-ready='1']", state="attached", timeout=60_000)
            deadline = time.monotonic() + 60
            while not page.evaluate("WG.swState === 'ready' && !!WG.tileCache"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"service worker not ready: "
                                       f"{page.evaluate('WG.swState')}")
                page.wait_for_timeout(100)
            page.evaluate(LOSE_JS, LOSE_EVERY)
            for run in range(runs):
                tag = f"p{run}-{uuid.uuid4().hex[:6]}"
                page_results.append(page_run(page, context, url, tag))
                print(f"page run {run + 1}: {page_results[-1]}", flush=True)
                tag = f"h{run}-{uuid.uuid4().hex[:6]}"
                peer_results.append(peer_run(base, url, tag))
                print(f"peer run {run + 1}: {peer_results[-1]}", flush=True)
            context.close()
    except Exception as exc:  # a run with errors prints no ratio
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        if api:
            api.stop()
        localdb.drop_database(server, name)

    writes = REPORTS + POINTS // BATCH + 2
    if errors or not page_results:
        print(f"offline_sync: ERRORS {len(errors)}: {'; '.join(errors)[:500]}")
        sys.exit(1)
    page_s = statistics.median(r["seconds"] for r in page_results)
    peer_s = statistics.median(r["seconds"] for r in peer_results)
    dup = sum(r["duplicates"] for r in page_results + peer_results)
    lost = sum(r["lost"] for r in page_results + peer_results)
    lost_answers = sum(r["retried"] for r in page_results)
    print(f"offline_sync: mode=chromium reports={REPORTS} points={POINTS} writes={writes} "
          f"runs={runs} drain_s={page_s:.1f} writes_per_s={writes / page_s:.0f} "
          f"peer_s={peer_s:.1f} ratio_vs_peer={page_s / peer_s:.2f}x "
          f"lost_answers_retried={lost_answers} duplicates={dup} lost={lost} "
          f"load1={os.getloadavg()[0]:.1f}")
    if dup or lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
