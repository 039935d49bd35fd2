"""Load and fault: concurrent incident reports with retries while PostgreSQL restarts, and
while the API process is killed (SIGKILL) and started again.

N clients report incidents one by one, each with its own Idempotency-Key, retrying on 503,
connection errors and timeouts (same key) until accepted. In the middle, the database is restarted
(`pg_ctl restart -m fast`). Afterwards every incident a client saw accepted must be in the
database exactly once. The run uses its own PostgreSQL cluster (its own folder and port), so the
restart touches nothing else, and serves the API from a separate uvicorn process.

The kill case: the clients produce reports at a steady rate (like phones queueing reports
offline) and send each with its key until it is accepted; in the middle the API process gets
SIGKILL and is started again on the same port. Every report sent, accepted or not when the API
died, must be in the database exactly once, and at least 20 % of the reports must have met the
fault (been waiting, in flight or retried while the API was dead): a load that ended before the
kill, or one that was barely touched by it, prints no ratio and fails.

    python bench/fault_bench.py            # 32 clients x 150 reports
    python bench/fault_bench.py --quick    # 8 clients x 60 reports; last line holds the figures
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis import localdb, migrate  # noqa: E402
from gis.accounts import hash_password, issue_token  # noqa: E402
from gis.database import libpq_url  # noqa: E402
from gis.settings import Settings  # noqa: E402

SECRET = "fault-bench-secret-0123456789abcdef0123456789"
START_S = 120  # an API process may take this long to start on a crowded machine


@dataclass
class Tally:
    """What the clients saw."""

    accepted: dict[str, int] = field(default_factory=dict)  # key -> incident id
    retried: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # connection errors and timeouts (retried)
    missing_retry_after: int = 0
    accept_times: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_cluster(tag: str) -> tuple[Settings, str]:
    """Its own cluster in .local/<tag> on a free port; returns settings and the database URL."""
    settings = Settings(database_url=None, local_dir=ROOT / ".local" / tag, pg_port=_free_port(),
                        secret_key=SECRET)
    localdb.up(settings, lambda _m: None)
    url = localdb.local_url(settings)
    migrate.upgrade(url)
    return settings, url


def stop_cluster(settings: Settings) -> None:
    localdb.stop(settings, lambda _m: None)
    shutil.rmtree(settings.local_dir, ignore_errors=True)


def seed(url: str) -> str:
    """One street, community and grid around (120.1, 30.3) and a worker-free admin token."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("""
            INSERT INTO streets (code, name, parent_code, geom) VALUES ('330199001', 'S', '330199',
                ST_Multi(ST_MakeEnvelope(120.0, 30.2, 120.2, 30.4, 4326)));
            INSERT INTO communities (code, name, parent_id, parent_code, geom)
                SELECT '330199001001', 'C', id, code, geom FROM streets;
            INSERT INTO grids (code, name, parent_id, parent_code, geom)
                SELECT '330199001001001', 'G', id, code, geom FROM communities;""")
        account_id = conn.execute(
            "INSERT INTO accounts (username, password_hash, role) VALUES ('fault', %s, 'admin') "
            "RETURNING id", (hash_password("fault-bench"),)).fetchone()[0]
    settings = Settings(database_url=url, secret_key=SECRET)
    return issue_token(settings, account_id, "fault", "admin", 0, 600)[0]


def start_api(url: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or _free_port()
    env = {**os.environ, "DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET,
           "WANGGE_POOL_TIMEOUT_S": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the API did not start")


async def client(base: str, token: str, n: int, tally: Tally, rng_seed: int,
                 deadline: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
        for i in range(n):
            key = uuid.uuid4().hex
            body = {"lon": 120.1 + (rng_seed % 97) * 1e-4, "lat": 30.3 + i * 1e-5,
                    "category": "garbage", "title": key, "source": "app"}
            attempt = 0
            while time.monotonic() < deadline:
                attempt += 1
                if attempt > 1:
                    tally.retried += 1
                started = time.perf_counter()
                try:
                    response = await http.post("/incidents", json=body,
                                               headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    tally.errors += 1
                    await asyncio.sleep(0.2)
                    continue
                tally.latencies.append(time.perf_counter() - started)
                status = response.status_code
                tally.status_counts[status] = tally.status_counts.get(status, 0) + 1
                if 200 <= status < 300:
                    tally.accepted[key] = response.json()["id"]
                    tally.accept_times.append(time.monotonic())
                    break
                if status == 503:
                    if "retry-after" not in response.headers:
                        tally.missing_retry_after += 1
                    await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))
                    continue
                break  # any other answer is final for this report


async def load(base: str, token: str, clients: int, per_client: int, settings: Settings,
               restart_after: float) -> tuple[Tally, float, float]:
    tally = Tally()
    deadline = time.monotonic() + 240
    tasks = [asyncio.create_task(client(base, token, per_client, tally, c, deadline))
             for c in range(clients)]
    await asyncio.sleep(restart_after)
    restart_at = time.monotonic()
    await asyncio.to_thread(localdb.restart, settings)
    restarted_at = time.monotonic()
    await asyncio.gather(*tasks)
    # one more report after the restart, whether or not the load outlasted it: recovery is
    # measured on it even when a fast machine finished the load during the outage
    await client(base, token, 1, tally, clients, deadline)
    return tally, restart_at, restarted_at


def verify(url: str, tally: Tally) -> tuple[int, int]:
    """(lost, duplicated) among the accepted keys."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT title, count(*) FROM incidents WHERE title = ANY(%s) "
                            "GROUP BY title", (list(tally.accepted),)).fetchall()
    found = dict(rows)
    lost = sum(1 for key in tally.accepted if key not in found)
    duplicated = sum(1 for n in found.values() if n > 1)
    return lost, duplicated


def run(clients: int, per_client: int, restart_after: float = 2.0) -> dict[str, float]:
    """The whole scenario; returns its figures."""
    settings, url = start_cluster(f"fault-{os.getpid()}")
    proc = None
    try:
        token = seed(url)
        proc, base = start_api(url)
        tally, restart_at, restarted_at = asyncio.run(
            load(base, token, clients, per_client, settings, restart_after))
        lost, duplicated = verify(url, tally)
        # recovery: from the database being back to the API accepting again (no API restart)
        after = [t for t in tally.accept_times if t >= restarted_at]
        recover = (min(after) - restarted_at) if after else float("nan")
        server_errors = sum(n for s, n in tally.status_counts.items() if s >= 500 and s != 503)
        return {
            "requested": clients * per_client + 1, "accepted": len(tally.accepted),
            "retried": tally.retried, "lost": lost, "duplicated": duplicated,
            "5xx": server_errors, "503": tally.status_counts.get(503, 0),
            "conn_errors": tally.errors, "missing_retry_after": tally.missing_retry_after,
            "db_restart_s": round(restarted_at - restart_at, 2),
            "recover_s": round(recover, 2),
            "p50_ms": round(statistics.median(tally.latencies) * 1000, 1),
            "p99_ms": round(sorted(tally.latencies)[int(len(tally.latencies) * 0.99)] * 1000, 1),
            "other_4xx": sum(n for s, n in tally.status_counts.items() if 400 <= s < 500),
        }
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        stop_cluster(settings)


@dataclass
class KillTally:
    """Per report: when it was produced and accepted, and whether an attempt failed."""

    created: dict[str, float] = field(default_factory=dict)
    accepted: dict[str, float] = field(default_factory=dict)
    failed_attempts: dict[str, int] = field(default_factory=dict)
    other: int = 0  # final answers other than 201 (must be none)


async def steady_client(base: str, token: str, n: int, interval: float, tally: KillTally,
                        seed_no: int, deadline: float) -> None:
    """Produce a report every `interval` s into a queue and send the queue in order, each report
    with its own Idempotency-Key, retrying (same key) until it is accepted."""
    queue: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()

    async def produce() -> None:
        for i in range(n):
            key = uuid.uuid4().hex
            tally.created[key] = time.monotonic()
            await queue.put((key, {"lon": 120.1 + (seed_no % 97) * 1e-4, "lat": 30.3 + i * 1e-5,
                                   "category": "garbage", "title": key, "source": "app"}))
            await asyncio.sleep(interval)

    producer = asyncio.create_task(produce())
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=5) as http:
        for _ in range(n):
            key, body = await queue.get()
            while time.monotonic() < deadline:
                try:
                    r = await http.post("/incidents", json=body,
                                        headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    r = None
                if r is not None and r.status_code == 201:
                    tally.accepted[key] = time.monotonic()
                    break
                if r is not None and r.status_code < 500:
                    tally.other += 1
                    break
                tally.failed_attempts[key] = tally.failed_attempts.get(key, 0) + 1
                await asyncio.sleep(0.2)
    await producer


def run_kill(clients: int, per_client: int, interval: float = 0.05,
             kill_after: float = 2.0) -> dict[str, float]:
    """SIGKILL the API mid-load and start it again; returns the figures (see the docstring)."""
    settings, url = start_cluster(f"kill-{os.getpid()}")
    proc = None
    try:
        token = seed(url)
        proc, base = start_api(url)
        port = int(base.rsplit(":", 1)[1])
        tally = KillTally()

        async def scenario() -> tuple[float, float]:
            deadline = time.monotonic() + 240
            tasks = [asyncio.create_task(steady_client(base, token, per_client, interval, tally,
                                                       c, deadline)) for c in range(clients)]
            await asyncio.sleep(kill_after)
            nonlocal proc
            killed_at = time.monotonic()
            proc.kill()  # SIGKILL: no shutdown, transactions cut mid-way
            await asyncio.to_thread(proc.wait)
            proc, _ = await asyncio.to_thread(start_api, url, port)
            back_at = time.monotonic()
            await asyncio.gather(*tasks)
            return killed_at, back_at

        killed_at, back_at = asyncio.run(scenario())
        keys = list(tally.created)
        with psycopg.connect(libpq_url(url)) as conn:
            found = dict(conn.execute("SELECT title, count(*) FROM incidents WHERE title = "
                                      "ANY(%s) GROUP BY title", (keys,)).fetchall())
        met = [k for k in keys if tally.failed_attempts.get(k) or (
            tally.created[k] <= back_at and tally.accepted.get(k, back_at) >= killed_at)]
        finished_at = max(tally.accepted.values(), default=0.0)
        return {
            "requested": len(keys), "accepted": len(tally.accepted),
            "lost": sum(1 for k in tally.accepted if k not in found),
            "unstored": sum(1 for k in keys if k not in found),
            "duplicated": sum(1 for n in found.values() if n > 1),
            "other_answers": tally.other,
            "met_fault_pct": round(100 * len(met) / max(1, len(keys)), 1),
            "retried": sum(1 for k in keys if tally.failed_attempts.get(k)),
            "api_down_s": round(back_at - killed_at, 2),
            "load_ended_after_restart": finished_at > back_at,
            "drain_s": round(finished_at - back_at, 2),
        }
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        stop_cluster(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (< 5 minutes)")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--per-client", type=int)
    args = parser.parse_args()
    clients = args.clients or (8 if args.quick else 32)
    per_client = args.per_client or (60 if args.quick else 150)
    figures = run(clients, per_client)
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    kill = run_kill(clients, per_client)
    for key, value in kill.items():
        print(f"{'kill ' + key:>30}: {value}")
    kill_ok = (kill["lost"] == 0 and kill["unstored"] == 0 and kill["duplicated"] == 0
               and kill["other_answers"] == 0 and kill["met_fault_pct"] >= 20
               and kill["load_ended_after_restart"])
    kill_part = (f"kill_lost={kill['lost']} kill_duplicated={kill['duplicated']} "
                 f"kill_met_fault={kill['met_fault_pct']}% kill_api_down_s={kill['api_down_s']}"
                 if kill_ok else "kill=FAILED (see above; no figures)")
    print("fault: " + " ".join(f"{k}={figures[k]}" for k in (
        "accepted", "retried", "lost", "duplicated", "5xx", "503", "recover_s")) + " "
          + kill_part)


if __name__ == "__main__":
    main()
