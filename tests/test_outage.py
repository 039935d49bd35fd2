"""The database stopped under the running API: quick 503s, no spinning, quick recovery, and a
SIGTERM that ends the server whatever the database's state.

The API runs as its own uvicorn process (its CPU time is read from /proc) on a throwaway cluster
of its own (bench.fault_bench's helpers), so stopping PostgreSQL disturbs no other test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bench.fault_bench import ROOT, SECRET, START_S, _free_port, seed, start_cluster, stop_cluster
from gis import localdb

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
DB_ROUTE = "/collections/grids/items"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU use over the next `seconds`, in % of one core."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / seconds


def start_api(url: str) -> tuple[subprocess.Popen, str]:
    """The API with its default settings in a process of its own; (process, base URL)."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "WANGGE_SECRET_KEY": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "critical"],
                            cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/conformance", timeout=2).status_code == 200:
                return proc, base
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the API did not start")


def open_feed(base: str, token: str) -> threading.Event:
    """A live-feed subscriber in a thread; returns the event set once it is connected."""
    connected = threading.Event()

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.stream(
                "GET", f"{base}/incidents/feed", params={"access_token": token},
                timeout=None) as r:
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    connected.set()

    threading.Thread(target=run, daemon=True).start()
    return connected


def timed_get(http: httpx.Client, path: str, **kw) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = http.get(path, **kw)
    return response, time.monotonic() - started


def test_database_outage_under_the_running_api() -> None:
    settings, url = start_cluster(f"outage-{os.getpid()}")
    proc = None
    try:
        admin = seed(url)
        proc, base = start_api(url)
        auth = {"Authorization": f"Bearer {admin}"}
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get(DB_ROUTE, headers=auth).status_code == 200
            assert open_feed(base, admin).wait(10)
            r = http.post("/auth/token", data={"username": "fault", "password": "fault-bench"})
            second = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert http.get(DB_ROUTE, headers=second).status_code == 200  # now remembered

            localdb.stop(settings, lambda _m: None)
            down_at = time.monotonic()
            waits = []
            for path in (DB_ROUTE, DB_ROUTE, "/incidents", DB_ROUTE, "/stats"):
                r, took = timed_get(http, path, headers=auth)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert int(r.headers["retry-after"]) >= 1
                waits.append(took)
            r = http.post("/incidents", headers=auth, json={
                "lon": 120.1, "lat": 30.3, "category": "garbage", "title": "during"})
            assert r.status_code == 503 and "retry-after" in r.headers
            assert http.get("/login").status_code == 200  # pages need no database
            assert http.get("/static/vendor/README.md").status_code in (200, 404)
            cpu_down = cpu_share(proc.pid, 5)
            time.sleep(max(0.0, 15 - (time.monotonic() - down_at)))  # a long outage

            localdb.start(settings, lambda _m: None)
            up_at = time.monotonic()
            while http.get(DB_ROUTE, headers=auth).status_code != 200:
                assert time.monotonic() - up_at < 30, "the API did not recover"
                time.sleep(0.1)
            recover = time.monotonic() - up_at
            cpu_after = cpu_share(proc.pid, 5)

            # the change listener came back too: a revocation reaches a remembered caller
            assert http.post("/auth/revoke", headers=second).status_code == 204
            deadline = time.monotonic() + 1
            while http.get(DB_ROUTE, headers=second).status_code != 401:
                assert time.monotonic() < deadline, "a revoked token still reads"
                time.sleep(0.05)

            localdb.stop(settings, lambda _m: None)
            assert http.get(DB_ROUTE, headers=auth).status_code == 503
        term_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # with the database down and a feed open
        proc.wait(30)
        sigterm = time.monotonic() - term_at
        print(f"\noutage: max_503_s={max(waits):.2f} first_503_s={waits[0]:.2f} "
              f"cpu_down_pct={cpu_down:.1f} recover_s={recover:.2f} "
              f"cpu_after_pct={cpu_after:.1f} sigterm_s={sigterm:.2f}")
        assert max(waits) < 3.0
        assert cpu_down < 5.0 and cpu_after < 5.0
        assert recover < 5.0
        assert sigterm < 10.0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        stop_cluster(settings)
