"""Load and fault: concurrent incident reports with retries while PostgreSQL restarts.

N clients report incidents one by one, each with its own Idempotency-Key, retrying on 503,
connection errors and timeouts (same key) until accepted. In the middle, the database is restarted
(`pg_ctl restart -m fast`). Afterwards every incident a client saw accepted must be in the
database exactly once. The run uses its own PostgreSQL cluster (its own folder and port), so the
restart touches nothing else, and serves the API from a separate uvicorn process.

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


def start_api(url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET,
           "WANGGE_POOL_TIMEOUT_S": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
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
    print("fault: " + " ".join(f"{k}={figures[k]}" for k in (
        "accepted", "retried", "lost", "duplicated", "5xx", "503", "recover_s")))


if __name__ == "__main__":
    main()
