"""The project's own PostGIS: a cluster in a git-ignored folder, owned by a non-root user.

`wangge db up` calls :func:`up`; it installs Debian's PostGIS when missing (as root), creates the
cluster on first use, starts it on its own port (loopback and a socket in the folder) and creates
the database with the postgis extension. Every step checks first, so a second call changes nothing.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from gis.database import DatabaseError, libpq_url
from gis.settings import Settings

PG_MAJOR = 15
PG_BIN = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
POSTGIS_CONTROL = Path(f"/usr/share/postgresql/{PG_MAJOR}/extension/postgis.control")
DEBIAN_PACKAGES = [f"postgresql-{PG_MAJOR}", f"postgresql-{PG_MAJOR}-postgis-3"]
DB_SUPERUSER = "wangge"

Say = Callable[[str], None]


class LocalDbError(DatabaseError):
    """A problem with the local cluster, with the fix in the message."""


def _is_root() -> bool:
    return os.geteuid() == 0


def password_file(settings: Settings) -> Path:
    return settings.local_dir / "pg.password"


def local_url(settings: Settings, db_name: str | None = None) -> str:
    """URL of the local cluster (the password is created on first `db up`)."""
    pw_path = password_file(settings)
    password = pw_path.read_text().strip() if pw_path.exists() else ""
    auth = f"{DB_SUPERUSER}:{password}@" if password else f"{DB_SUPERUSER}@"
    return f"postgresql+psycopg://{auth}127.0.0.1:{settings.pg_port}/{db_name or settings.db_name}"


def os_user(settings: Settings) -> str:
    """The OS user that owns the cluster: the configured one, else postgres, else wangge."""
    if not _is_root():
        return pwd.getpwuid(os.geteuid()).pw_name
    if settings.pg_os_user:
        try:
            pwd.getpwnam(settings.pg_os_user)
        except KeyError:
            raise LocalDbError(
                f"OS user '{settings.pg_os_user}' (WANGGE_PG_OS_USER) does not exist: create it "
                f"with `useradd --system {settings.pg_os_user}` or unset WANGGE_PG_OS_USER"
            ) from None
        return settings.pg_os_user
    for name in ("postgres", "wangge"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "wangge"],
        check=True,
    )
    return "wangge"


def _as_user(user: str, cmd: list[str]) -> list[str]:
    if _is_root():
        return ["runuser", "-u", user, "--", *cmd]
    return cmd


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LocalDbError(f"{what} failed: {detail[-1] if detail else proc.returncode}")
    return proc


def ensure_packages(say: Say) -> None:
    """Install Debian's PostgreSQL 15 + PostGIS 3 when missing (root), else name the packages."""
    if (PG_BIN / "initdb").exists() and POSTGIS_CONTROL.exists():
        return
    packages = " ".join(DEBIAN_PACKAGES)
    if not _is_root() or shutil.which("apt-get") is None:
        raise LocalDbError(
            f"PostGIS is not installed: run `sudo apt-get install -y {packages}` and try again"
        )
    say(f"installing {packages} (apt-get) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]
    for cmd in (["apt-get", "update", "-qq"], install):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise LocalDbError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-300:]}")


def _grant_traverse(path: Path, user: str, say: Say) -> None:
    """Let the cluster owner reach the project folder (o+x on ancestors that block it)."""
    for parent in reversed(path.parents):
        probe = subprocess.run(_as_user(user, ["test", "-x", str(parent)]))
        if probe.returncode != 0:
            say(f"granting search (x) permission on {parent} so '{user}' can reach the cluster")
            parent.chmod(parent.stat().st_mode | 0o001)


def _port_bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_free(port: int, wait_s: float = 10.0) -> bool:
    """True when the port can be bound, waiting up to `wait_s` for an outgoing connection
    that holds it as its local port (inside the ephemeral range) to close."""
    deadline = time.monotonic() + wait_s
    while not _port_bindable(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _ephemeral_hint(port: int) -> str:
    low, high = _ephemeral_range()
    if low <= port <= high:
        return (f" (ports {low}-{high} are also handed out to outgoing connections; "
                f"a port below {low} cannot be taken that way)")
    return ""


def data_dir(settings: Settings) -> Path:
    return settings.pg_dir / "data"


def is_running(settings: Settings) -> bool:
    """True when our cluster's postmaster is alive."""
    pid_file = data_dir(settings) / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def init_cluster(settings: Settings, user: str, say: Say, password: str | None = None,
                  extra_conf: str = "") -> None:
    """initdb a cluster owned by `user` in settings.pg_dir (password: given or random)."""
    pg_dir = settings.pg_dir
    settings.local_dir.mkdir(parents=True, exist_ok=True)
    pg_dir.mkdir(parents=True, exist_ok=True)
    owner = pwd.getpwnam(user)
    if _is_root():
        os.chown(pg_dir, owner.pw_uid, owner.pw_gid)
        _grant_traverse(pg_dir, user, say)
    pg_dir.chmod(0o700)
    password = password or secrets.token_hex(16)
    pw_tmp = pg_dir / "initdb.pw"
    pw_tmp.write_text(password + "\n")
    if _is_root():
        os.chown(pw_tmp, owner.pw_uid, owner.pw_gid)
    try:
        _run(
            _as_user(user, [
                str(PG_BIN / "initdb"), "-D", str(data_dir(settings)), "-U", DB_SUPERUSER,
                f"--pwfile={pw_tmp}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--locale=C.UTF-8",
            ]),
            "initdb",
        )
    finally:
        pw_tmp.unlink(missing_ok=True)
    pw_path = password_file(settings)
    pw_path.write_text(password + "\n")
    pw_path.chmod(0o600)
    conf = data_dir(settings) / "postgresql.auto.conf"
    with conf.open("a") as fh:
        fh.write(
            f"listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{pg_dir}'\n"
            "shared_buffers = '512MB'\nwork_mem = '32MB'\nmax_connections = 200\n"
            "synchronous_commit = on\nlogging_collector = off\n" + extra_conf
        )
    say(f"created cluster in {data_dir(settings)} owned by '{user}'")


def _write_port(settings: Settings) -> None:
    conf = data_dir(settings) / "postgresql.auto.conf"
    lines = [ln for ln in conf.read_text().splitlines() if not ln.startswith("port =")]
    lines.append(f"port = {settings.pg_port}")
    conf.write_text("\n".join(lines) + "\n")


def start(settings: Settings, say: Say) -> bool:
    """Start the cluster; False when it was already running."""
    user = os_user(settings)
    if is_running(settings):
        return False
    if not _port_free(settings.pg_port):
        raise LocalDbError(
            f"port {settings.pg_port} is taken by another program: stop it or set "
            f"WANGGE_PG_PORT to a free port{_ephemeral_hint(settings.pg_port)}"
        )
    _write_port(settings)
    log = settings.pg_dir / "postgres.log"
    _run(
        _as_user(user, [str(PG_BIN / "pg_ctl"), "-D", str(data_dir(settings)), "-l", str(log),
                        "-w", "-t", "60", "start"]),
        f"starting PostgreSQL (see {log})",
    )
    say(f"started PostgreSQL {PG_MAJOR} on 127.0.0.1:{settings.pg_port}")
    return True


def stop(settings: Settings, say: Say) -> bool:
    """Stop the cluster; False when it was not running."""
    if not is_running(settings):
        return False
    _run(
        _as_user(os_user(settings), [str(PG_BIN / "pg_ctl"), "-D", str(data_dir(settings)),
                                     "-m", "fast", "-w", "stop"]),
        "stopping PostgreSQL",
    )
    say("stopped the local PostgreSQL")
    return True


def restart(settings: Settings) -> None:
    """Fast restart (used by the fault tests)."""
    log = settings.pg_dir / "postgres.log"  # the server must not inherit our pipes
    _run(
        _as_user(os_user(settings), [str(PG_BIN / "pg_ctl"), "-D", str(data_dir(settings)),
                                     "-l", str(log), "-m", "fast", "-w", "restart"]),
        "restarting PostgreSQL",
    )


def create_database(url: str, name: str, say: Say | None = None) -> bool:
    """Create database `name` (with postgis) through the server at `url`; False if it existed."""
    with psycopg.connect(libpq_url(url), autocommit=True, dbname="postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(libpq_url(url), autocommit=True, dbname=name) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    if not exists and say:
        say(f"created database {name} with PostGIS")
    return not exists


def drop_database(url: str, name: str) -> None:
    """Drop database `name`, closing its other connections."""
    with psycopg.connect(libpq_url(url), autocommit=True, dbname="postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def up(settings: Settings, say: Say) -> bool:
    """Make the local database ready; False when everything was already in place."""
    ensure_packages(say)
    changed = False
    if not (data_dir(settings) / "PG_VERSION").exists():
        init_cluster(settings, os_user(settings), say)
        changed = True
    changed |= start(settings, say)
    changed |= create_database(local_url(settings), settings.db_name, say)
    return changed
