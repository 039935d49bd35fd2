"""Security: injection strings in every GET parameter, token expiry and revocation, passwords
kept out of logs, and the audit log of logins and writes."""

from __future__ import annotations

import io
import logging
import time
from urllib.parse import quote

import psycopg
import pytest
from typer.testing import CliRunner

from api.ogc import registry
from gis.database import libpq_url

INJECTIONS = [
    "' OR '1'='1", "1; DROP TABLE incidents; --", "1' UNION SELECT password_hash FROM accounts--",
    "'); DELETE FROM audit_log; --", "1 OR 1=1", "%27%20OR%201=1--", "\\'; SELECT pg_sleep(5); --",
    "$$; DROP TABLE streets; $$", "\x00", "../../etc/passwd", "1e999", "-1", "NaN",
]
PATH_DEFAULTS = {"collection_id": "incidents", "layer": "grids", "level": "grid",
                 "code": "330199001001001", "z": "0", "x": "0", "y": "0", "incident_id": "1",
                 "patrol_id": "1", "plan_id": "1", "feature_id": "1", "layer_id": "grids",
                 "tms": "WebMercatorQuad", "tile_matrix_set_id": "WebMercatorQuad"}
SKIP = {"/incidents/feed"}  # an endless event stream


def _fingerprint(conn: psycopg.Connection) -> dict[str, int]:
    """Row counts of every table (a dropped or emptied table shows)."""
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def _get_operations(app) -> list[tuple[str, list[str], list[str]]]:
    """(path, path parameters, query parameters) of every GET operation in the OpenAPI doc."""
    out = []
    for path, item in app.openapi()["paths"].items():
        op = item.get("get")
        if op is None or path in SKIP:
            continue
        params = op.get("parameters", [])
        out.append((path, [p["name"] for p in params if p["in"] == "path"],
                    [p["name"] for p in params if p["in"] == "query"]))
    return out


def test_injection_strings_in_every_get_parameter(app, client, admin_headers, conn) -> None:
    before = _fingerprint(conn)
    operations = _get_operations(app)
    assert len(operations) >= 25
    # OGC property filters are not in the OpenAPI document: one operation per collection
    for cid, collection in registry.COLLECTIONS.items():
        operations.append((f"/collections/{cid}/items", [], list(collection.filters)))
    sent = 0
    for path, path_params, query_params in operations:
        base = {name: PATH_DEFAULTS.get(name, "1") for name in path_params}
        for text in INJECTIONS:
            targets = [("path", name) for name in path_params] + [
                ("query", name) for name in query_params]
            for where, name in targets:
                values = {**base, name: text} if where == "path" else base
                url = path
                for key, value in values.items():
                    url = url.replace("{" + key + "}", quote(value, safe=""))
                query = {name: text} if where == "query" else {}
                r = client.get(url, params=query, headers=admin_headers)
                sent += 1
                assert r.status_code < 500, (url, query, r.status_code, r.text[:300])
    assert sent > 500
    assert _fingerprint(conn) == before


def test_login_and_injection_in_credentials(client, conn) -> None:
    from api.login_guard import LoginGuard

    saved = getattr(client.app.state, "login_guard", None)
    client.app.state.login_guard = LoginGuard(max_failures=100)  # six failures on purpose
    try:
        for name in INJECTIONS[:6]:
            r = client.post("/auth/token", data={"username": name, "password": name})
            assert r.status_code in (400, 401, 422), r.text
    finally:
        client.app.state.login_guard = saved
    assert conn.execute("SELECT count(*) FROM accounts WHERE username LIKE '%''%'"
                        ).fetchone()[0] == 0


def test_tokens_expire(client, make_token) -> None:
    from gis.accounts import decode_token

    token = make_token("commander", minutes=1)
    r = client.get("/incidents", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    r = client.get("/incidents", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    import jwt

    from tests.conftest import TEST_SECRET

    claims = decode_token(client.app.state.settings, token)
    claims["exp"] = int(time.time()) - 5
    expired = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    r = client.get("/incidents", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def _until_refused(client, headers: dict, deadline_s: float = 10.0) -> int:
    """The status of GET /incidents once the revocation took effect (or at the deadline)."""
    end = time.monotonic() + deadline_s
    while True:
        status = client.get("/incidents", headers=headers).status_code
        if status == 401 or time.monotonic() > end:
            return status
        time.sleep(0.05)


def test_revoke_presented_token(client, make_token, conn) -> None:
    token = make_token("commander")
    other = make_token("commander")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/incidents", headers=headers).status_code == 200
    r = client.post("/auth/revoke", headers=headers)
    assert r.status_code == 204, r.text
    assert _until_refused(client, headers) == 401
    assert client.post("/auth/revoke", headers=headers).status_code == 401
    assert client.get("/incidents", headers={"Authorization": f"Bearer {other}"}
                      ).status_code == 200
    assert client.post("/auth/revoke").status_code == 401


def _cli(db_url: str, monkeypatch, args: list[str], stdin: str = ""):
    from cli.main import app as cli_app
    from gis.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli_app, args, input=stdin)
    finally:
        get_settings.cache_clear()


def test_user_revoke_and_passwords_never_logged(client, db_url, monkeypatch, caplog,
                                                capfd) -> None:
    password = "Very-Secret-Pa55word-7731"
    name = f"sec_{int(time.time() * 1000) % 10**9}"
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        result = _cli(db_url, monkeypatch, ["user", "add", name, "--role", "commander",
                                            "--password-stdin"], password + "\n")
        assert result.exit_code == 0, result.output
        r = client.post("/auth/token", data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        bad = client.post("/auth/token", data={"username": name, "password": password + "x"})
        assert bad.status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/incidents", headers=headers).status_code == 200
        result = _cli(db_url, monkeypatch, ["user", "revoke", name])
        assert result.exit_code == 0 and "revoked" in result.output, result.output
        assert _until_refused(client, headers) == 401
        assert _cli(db_url, monkeypatch, ["user", "revoke", "nobody_here"]).exit_code != 0
        # a new login works again
        assert client.post("/auth/token", data={"username": name, "password": password}
                           ).status_code == 200
    finally:
        logging.getLogger().removeHandler(handler)
    captured = capfd.readouterr()
    for text in (caplog.text, stream.getvalue(), result.output, captured.out, captured.err):
        assert password not in text
    with psycopg.connect(libpq_url(db_url)) as conn:
        audit = conn.execute("SELECT actor, action, detail::text FROM audit_log "
                             "WHERE actor = %s ORDER BY id", (name,)).fetchall()
        stored = conn.execute("SELECT password_hash FROM accounts WHERE username = %s",
                              (name,)).fetchone()[0]
    assert [a for _, a, _ in audit if a.startswith("login")] == ["login", "login_failed",
                                                                 "login"]
    assert not any(password in d for *_, d in audit)
    assert password not in stored and stored.startswith("$argon2")


def test_audit_log_of_writes(client, make_token, conn) -> None:
    name = f"auditor_{int(time.time() * 1000) % 10**9}"
    headers = {"Authorization": f"Bearer {make_token('commander', username=name)}"}
    start = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    client.post("/incidents", headers=headers, json={"lon": 0, "lat": 0, "category": "x",
                                                     "title": "t"})
    client.post("/incidents/999999999/transitions", headers=headers, json={"action": "accept"})
    client.delete("/plans/1/edits/last", headers=headers)
    client.post("/plans", json={"name": "x"})  # no token: counted, not logged (test_abuse)
    client.get("/incidents", headers=headers)  # reads are not logged
    rows = conn.execute("SELECT actor, action, detail FROM audit_log WHERE id > %s "
                        "AND action = 'write' ORDER BY id", (start,)).fetchall()
    mine = [(a, d["method"], d["path"], d["status"]) for a, _, d in rows
            if a in (name, "anonymous")]
    assert (name, "POST", "/incidents", 422) in mine or (name, "POST", "/incidents", 400) in mine
    assert (name, "POST", "/incidents/999999999/transitions", 404) in mine
    assert (name, "DELETE", "/plans/1/edits/last", 403) in mine
    assert not any(a == "anonymous" for a, *_ in mine)
    assert not any(m == "GET" for _, m, _, _ in mine)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit_log WHERE id > %s", (start,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE id > %s", (start,))

