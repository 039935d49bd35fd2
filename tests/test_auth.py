"""Accounts: create_account, login, disabling, and the `wangge user` commands."""

from __future__ import annotations

import time

import psycopg
import pytest
from typer.testing import CliRunner

from gis.accounts import AccountError, create_account
from gis.database import libpq_url
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401


def test_create_account_login_and_disable(client, world, db_url) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        create_account(conn, "wang.wu", "correct-horse", "worker",
                       [("grid", f"{COUNTY}001001001")], worker_role="grid_leader")
        with pytest.raises(AccountError, match="exists"):
            create_account(conn, "WANG.WU", "correct-horse", "worker")
        with pytest.raises(AccountError, match="no current"):
            create_account(conn, "x1", "correct-horse", "commander", [("street", "999999999")])
        with pytest.raises(AccountError, match="unknown role"):
            create_account(conn, "x2", "correct-horse", "boss")
        assert conn.execute("SELECT s.role FROM assignments s JOIN accounts a ON "
                            "a.worker_id = s.worker_id WHERE a.username = 'wang.wu'"
                            ).fetchone()[0] == "grid_leader"
    assert client.post("/auth/token", data={"username": "wang.wu", "password": "nope"}
                       ).status_code == 401
    r = client.post("/auth/token", data={"username": "wang.wu", "password": "correct-horse"})
    assert r.status_code == 200 and r.json()["role"] == "worker"
    token = r.json()["access_token"]
    assert client.get("/incidents", headers=bearer(token)).status_code == 200
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        from gis.accounts import disable_account

        disable_account(conn, "wang.wu")
    # writes are checked against the database at once ...
    lon, lat = 108.9, 34.2
    assert client.post("/incidents", headers=bearer(token), json={
        "lon": lon, "lat": lat, "category": "noise", "title": "x"}).status_code == 401
    # ... reads as soon as the commit's notification arrives (milliseconds)
    deadline = time.monotonic() + 2
    while client.get("/incidents", headers=bearer(token)).status_code != 401:
        assert time.monotonic() < deadline, "a disabled account could still read"
        time.sleep(0.01)
    assert client.post("/auth/token", data={"username": "wang.wu", "password": "correct-horse"}
                       ).status_code == 401


def test_user_commands(db_url, world, monkeypatch) -> None:
    from cli.main import app
    from gis.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["user", "add", "li.si", "--role", "commander", "--area",
                                f"{COUNTY}002", "--password-stdin"], input="s3cret-pass\n")
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["user", "list"])
        assert r.exit_code == 0 and "li.si" in r.output and f"{COUNTY}002" in r.output
        r = runner.invoke(app, ["user", "add", "bad", "--role", "commander", "--area", "12",
                                "--password-stdin"], input="s3cret-pass\n")
        assert r.exit_code == 1 and "not 9, 12, 15 or 18 digits" in r.output
        assert runner.invoke(app, ["user", "disable", "li.si"]).exit_code == 0
        r = runner.invoke(app, ["user", "disable", "nobody"])
        assert r.exit_code == 1 and "no account" in r.output
    finally:
        get_settings.cache_clear()
