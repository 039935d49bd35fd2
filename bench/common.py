"""Shared bench plumbing: servers started as separate processes, and the tools the benches need.

A bench measures a server the way a client meets it, so each server runs in its own process
(`Server`): started with a given environment on a free loopback port, waited for until a GET of
its ready path answers 200 (or its process dies, or a deadline passes: then the bench stops with
the log's last lines), and stopped by its own pid. `start_api` starts Wangge's API under uvicorn,
`start_tipg` starts tipg from its own virtualenv (`ensure_tipg` installs it there, with
uvicorn[standard], the same HTTP stack as ours), and `ensure_wrk` finds or installs wrk.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TIPG_VENV = OUT / "venv-tipg"
UVICORN_QUIET = ["--log-level", "warning", "--no-access-log"]


def say(msg: str) -> None:
    """Print a progress line at once (benches run for minutes)."""
    print(msg, flush=True)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A server process started with `cmd` plus `--host/--port`, ready once `ready_path` is 200.

    Usable as a context manager; `stop()` ends only this process (terminate, then kill).
    """

    def __init__(self, name: str, cmd: list[str], env: dict[str, str] | None = None,
                 ready_path: str = "/openapi.json", headers: dict[str, str] | None = None,
                 timeout: float = 120.0) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = OUT / f"{name}.log"
        full = [*cmd, "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(full, env={**os.environ, **(env or {})}, cwd=ROOT,
                                         stdout=subprocess.DEVNULL, stderr=log)
        try:
            self._wait(ready_path, headers or {}, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, path: str, headers: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                req = urllib.request.Request(self.base + path, headers=headers)
                with urllib.request.urlopen(req, timeout=30) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "".join(self.log_path.read_text(errors="replace").splitlines(True)[-15:])
                raise SystemExit(f"{self.name} did not start (log {self.log_path}):\n{tail}")
            time.sleep(0.2)

    def stop(self) -> None:
        """End this server's process (and only it)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_api(env: dict[str, str], *, name: str = "api", workers: int = 1,
              ready_path: str = "/openapi.json", headers: dict[str, str] | None = None,
              timeout: float = 120.0) -> Server:
    """Wangge's API (`api.main:app`) under uvicorn in its own process, with `env` added."""
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", *UVICORN_QUIET]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return Server(name, cmd, env, ready_path, headers, timeout)


def ensure_tipg() -> Path:
    """tipg and uvicorn[standard] in bench/out/venv-tipg (installed from PyPI once); its uvicorn."""
    uvicorn = TIPG_VENV / "bin" / "uvicorn"
    python = TIPG_VENV / "bin" / "python"
    probe = "import tipg, httptools, uvloop"  # the same HTTP stack as ours: uvicorn[standard]
    if uvicorn.exists() and subprocess.run([str(python), "-c", probe],
                                           capture_output=True).returncode == 0:
        return uvicorn
    say("installing tipg and uvicorn[standard] into bench/out/venv-tipg ...")
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
    subprocess.run([str(TIPG_VENV / "bin" / "pip"), "install", "-q", "tipg",
                    "uvicorn[standard]"], check=True)
    return uvicorn


def start_tipg(database_url: str, tables: list[str], *, workers: int = 1,
               env: dict[str, str] | None = None, headers: dict[str, str] | None = None,
               timeout: float = 120.0) -> Server:
    """tipg over `tables` ("schema.table") of the libpq URL, on the same HTTP stack as ours."""
    uvicorn = ensure_tipg()
    tipg_env = {"DATABASE_URL": database_url, "TIPG_DB_SCHEMAS": '["public"]',
                "TIPG_DB_TABLES": json.dumps(tables), "TIPG_MAX_FEATURES_PER_TILE": "100000",
                **(env or {})}
    cmd = [str(uvicorn), "tipg.main:app", *UVICORN_QUIET]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    return Server("tipg", cmd, tipg_env, "/collections", headers, timeout)


def ensure_wrk() -> str:
    """wrk's path; installed with apt-get when missing and root, else a one-line hint and exit."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing wrk (apt-get install wrk) ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "wrk"]
        quiet = {"env": env, "stdout": subprocess.DEVNULL, "check": False}
        if subprocess.run(install, **quiet).returncode != 0:  # stale package lists
            subprocess.run(["apt-get", "update", "-qq"], **quiet)
            subprocess.run(install, **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("wrk (HTTP load generator) is missing: run `sudo apt-get install wrk`")
