"""The local PostGIS, migrations and the clear messages for bad set-ups."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import psycopg
import pytest

from gis import localdb, migrate
from gis.database import DatabaseError, check_connection, libpq_url
from gis.settings import PROJECT_ROOT, Settings
from tests.conftest import create_test_database, drop_test_database

TABLES = {"streets", "communities", "grids", "micro_grids", "buildings", "roads", "workers",
          "accounts", "assignments", "patrols", "patrol_points", "incidents", "incident_events",
          "plans", "edit_log", "boundary_versions", "audit_log"}


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})},
                          timeout=300)


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        return {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


@pytest.mark.single_node  # 0011 refuses to downgrade a distributed schema (Citus undistributes
# no table with an identity column, and its reference tables keep their identities)
def test_migrations_up_and_down_on_an_empty_database(server_url: str) -> None:
    name = f"wangge_migrate_{os.getpid()}"
    url = create_test_database(server_url, name)
    try:
        migrate.upgrade(url)
        assert _tables(url) >= TABLES
        assert migrate.current(url) is not None
        migrate.downgrade(url, "base")
        assert _tables(url) & TABLES == set()
        assert migrate.current(url) is None
        migrate.upgrade(url)
        assert _tables(url) >= TABLES
    finally:
        drop_test_database(server_url, name)


def test_constraints_reject_bad_codes_and_negative_households(conn) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO streets (code, parent_code, geom) VALUES ('12345', '123456', "
                     "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)))")
    with pytest.raises(psycopg.errors.CheckViolation):  # code must start with the parent's
        conn.execute("INSERT INTO streets (code, parent_code, geom) VALUES ('999999001', "
                     "'123456', ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)))")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("INSERT INTO streets (code, parent_code, households, geom) VALUES "
                     "('123456001', '123456', -1, ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)))")
    with pytest.raises(psycopg.errors.CheckViolation):  # self-intersecting bow tie
        conn.execute("INSERT INTO streets (code, parent_code, geom) VALUES ('123456002', "
                     "'123456', ST_Multi('SRID=4326;POLYGON((0 0,1 1,1 0,0 1,0 0))'::geometry))")


def test_db_up_twice_is_harmless() -> None:
    first = _cli("db", "up")
    second = _cli("db", "up")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "already up" in second.stdout


def test_db_url_prints_the_local_url() -> None:
    out = _cli("db", "url", env={"DATABASE_URL": ""})
    assert out.returncode == 0
    assert f":{Settings(database_url=None).pg_port}/" in out.stdout


def test_db_url_is_accepted_by_psql_and_psycopg() -> None:
    url = _cli("db", "url").stdout.strip()
    assert url.startswith("postgresql://"), url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    psql = subprocess.run(["psql", url, "-tAc", "SELECT postgis_lib_version() IS NOT NULL"],
                          capture_output=True, text=True, timeout=60)
    assert psql.returncode == 0 and psql.stdout.strip() == "t", psql.stderr


def test_db_url_sqlalchemy_form_behind_a_flag() -> None:
    from sqlalchemy import create_engine, text

    url = _cli("db", "url", "--sqlalchemy").stdout.strip()
    assert url.startswith("postgresql+psycopg://"), url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_wrong_database_url_is_one_clear_line() -> None:
    out = _cli("db", "up", env={"DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/nowhere"})
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert "cannot connect" in lines[0] and "Traceback" not in out.stderr
    assert "pw@" not in lines[0]  # the password is not echoed


def test_database_without_postgis_names_the_fix(server_url: str) -> None:
    name = f"wangge_plain_{os.getpid()}"
    with psycopg.connect(libpq_url(server_url), autocommit=True, dbname="postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        with pytest.raises(DatabaseError, match="CREATE EXTENSION postgis"):
            check_connection(url)
        out = _cli("db", "up", env={"DATABASE_URL": url})
        assert out.returncode == 1 and "has no PostGIS" in out.stderr
    finally:
        localdb.drop_database(server_url, name)


def test_port_taken_names_the_fix(tmp_path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        local = PROJECT_ROOT / ".local" / f"test-port-{os.getpid()}"
        settings = Settings(database_url=None, local_dir=local, pg_port=port)
        try:
            with pytest.raises(localdb.LocalDbError, match=f"port {port} is taken") as caught:
                localdb.up(settings, lambda _m: None)
            # the kernel handed out an ephemeral port: the message says how to avoid that range
            assert "outgoing connections" in str(caught.value)
        finally:
            subprocess.run(["rm", "-rf", str(local)], check=False)


def test_missing_os_user_names_the_fix() -> None:
    if os.geteuid() != 0:
        pytest.fail("this check needs root (the quick start runs as root)")
    settings = Settings(database_url=None, pg_os_user="no_such_user_wg")
    with pytest.raises(localdb.LocalDbError, match="useradd"):
        localdb.os_user(settings)
