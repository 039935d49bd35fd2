"""Personal API keys: created, listed and revoked by their account, read-only, scoped, expiring;
sent as the HTTP Basic password or `?apikey=`; and `wangge user key`."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import time
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from api.login_guard import LoginGuard
from gis import apikeys
from gis.database import libpq_url
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

GRID = f"{COUNTY}001001001"  # the worker's grid: street 1, community 1, grid 1


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def username_of(client, token: str) -> str:
    return client.get("/map/context", headers=bearer(token)).json()["username"]


@pytest.fixture(scope="module")
def worker(client, world, make_token, db_url) -> dict:
    """A worker of one grid, with an incident inside that grid and one outside it."""
    token = make_token("worker", [("grid", world.id(GRID))])
    inside = world.centers[f"{GRID}001"]
    outside = world.centers[f"{COUNTY}002002002002"]
    admin = make_token("admin")
    for (lon, lat), title in ((inside, "key-inside"), (outside, "key-outside")):
        r = client.post("/incidents", headers=bearer(admin), json={
            "lon": lon, "lat": lat, "category": "garbage", "title": title, "source": "app"})
        assert r.status_code == 201, r.text
    return {"token": token, "name": username_of(client, token), "admin": admin}


def new_key(client, token: str, **body) -> dict:
    r = client.post("/account/keys", headers=bearer(token), json={"name": "QGIS", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_key_is_shown_once_listed_without_secret_and_stored_hashed(client, worker,
                                                                   db_url) -> None:
    made = new_key(client, worker["token"], expires_days=30)
    assert made["key"].startswith(f"wgk_{made['prefix']}_") and made["expires_at"]
    listed = client.get("/account/keys", headers=bearer(worker["token"])).json()["keys"]
    mine = [k for k in listed if k["id"] == made["id"]]
    assert mine and "key" not in mine[0] and mine[0]["prefix"] == made["prefix"]
    with psycopg.connect(libpq_url(db_url)) as conn:
        stored = conn.execute("SELECT key_hash FROM api_keys WHERE id = %s",
                              (made["id"],)).fetchone()[0]
    assert bytes(stored) == apikeys.digest(made["key"]) and made["key"].encode() not in stored
    # another account neither sees nor revokes it
    admin = worker["admin"]
    assert all(k["id"] != made["id"] for k in client.get(
        "/account/keys", headers=bearer(admin)).json()["keys"])
    assert client.delete(f"/account/keys/{made['id']}", headers=bearer(admin)).status_code == 404


def test_key_reads_the_ogc_api_and_tiles_in_the_accounts_scope(client, worker, world) -> None:
    key = new_key(client, worker["token"])["key"]
    by_token = client.get("/collections/incidents/items", headers=bearer(worker["token"]),
                          params={"limit": 1000}).json()
    for how in ({"headers": basic(worker["name"], key)}, {"params": {"apikey": key}}):
        params = {"limit": 1000, **how.get("params", {})}
        r = client.get("/collections/incidents/items", headers=how.get("headers"), params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        titles = {f["properties"]["title"] for f in body["features"]}
        assert "key-inside" in titles and "key-outside" not in titles
        assert body["numberMatched"] == by_token["numberMatched"]
        grids = client.get("/collections/grids/items", headers=how.get("headers"),
                           params=how.get("params")).json()
        assert [f["properties"]["code"] for f in grids["features"]] == [GRID]
    # TileJSON fetched with ?apikey= hands out tile URLs that carry it, and they work
    doc = client.get("/tiles/grids.json", params={"apikey": key}).json()
    assert all(url.endswith(f"?apikey={key}") for url in doc["tiles"])
    lon, lat = world.centers[f"{GRID}001"]
    z = 14
    x = int((lon + 180) / 360 * (1 << z))
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << z))
    tile = doc["tiles"][0].replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    r = client.get(tile.removeprefix("http://testserver"))
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile")
    assert client.get(f"/tiles/grids/{z}/{x}/{y}.pbf",
                      headers=basic(worker["name"], key)).status_code == 200


def test_key_never_writes(client, worker, world, db_url) -> None:
    key = new_key(client, worker["token"])["key"]
    lon, lat = world.centers[f"{GRID}001"]
    body = {"lon": lon, "lat": lat, "category": "garbage", "title": "by-key", "source": "app"}
    for how in ({"headers": basic(worker["name"], key)}, {"params": {"apikey": key}}):
        r = client.post("/incidents", json=body, **how)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.post("/account/keys", json={"name": "x"}, **how).status_code == 403
        assert client.post("/auth/revoke", **how).status_code == 403
        # reads outside the map data are not opened by a key either
        assert client.get("/incidents", **how).status_code == 403
    with psycopg.connect(libpq_url(db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE title = 'by-key'"
                            ).fetchone()[0] == 0
    # a query-string bearer token is for the live feed only, never for a write
    r = client.post("/incidents", json=body, params={"access_token": worker["token"]})
    assert r.status_code == 401
    r = client.get("/collections/grids/items", params={"access_token": worker["token"]})
    assert r.status_code == 401


@pytest.fixture
def own_login_guard(client) -> Iterator[LoginGuard]:
    """A fresh failed-login count for one test (the shared client has one address, so its
    deliberate failures must not lock other tests out)."""
    saved = getattr(client.app.state, "login_guard", None)
    client.app.state.login_guard = guard = LoginGuard()
    try:
        yield guard
    finally:
        client.app.state.login_guard = saved


def test_revoked_expired_wrong_keys_are_401(client, worker, db_url, own_login_guard) -> None:
    made = new_key(client, worker["token"], expires_days=1)
    key, name = made["key"], worker["name"]
    url = "/collections/grids/items"
    assert client.get(url, headers=basic(name, key)).status_code == 200
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for headers in (basic(name, wrong), basic(name, "not-a-key"), basic("someone-else", key),
                    {"Authorization": "Basic !!!"}):
        r = client.get(url, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"].startswith("Basic")
    assert client.get(url, params={"apikey": "wgk_nothing"}).status_code == 401
    # expired: moved into the past in the database
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET created_at = now() - interval '2 days', "
                     "expires_at = now() - interval '1 second' WHERE id = %s", (made["id"],))
    # the API forgets remembered callers when the change's notification reaches its listener,
    # a few ms after the commit: on a busy machine the very next request may come first
    deadline = time.monotonic() + 5
    while (r := client.get(url, headers=basic(name, key))).status_code == 200:
        assert time.monotonic() < deadline, "an expired key was still accepted after 5 s"
        time.sleep(0.05)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # revoked: at once, although the key was remembered by an earlier read
    live = new_key(client, worker["token"])
    assert client.get(url, params={"apikey": live["key"]}).status_code == 200
    assert client.delete(f"/account/keys/{live['id']}",
                         headers=bearer(worker["token"])).status_code == 204
    deadline = time.monotonic() + 5
    while (status := client.get(url, params={"apikey": live["key"]}).status_code) == 200:
        assert time.monotonic() < deadline, "a revoked key kept working"
        time.sleep(0.05)
    assert status == 401
    listed = client.get("/account/keys", headers=bearer(worker["token"])).json()["keys"]
    assert next(k for k in listed if k["id"] == live["id"])["revoked_at"]
    assert next(k for k in listed if k["id"] == made["id"])["last_used_at"]


def test_wrong_basic_passwords_meet_the_login_limits(client, worker, own_login_guard) -> None:
    """Basic credentials are a login: five wrong passwords for a name, then 429 with
    Retry-After even for the right key, before anyone used POST /auth/token."""
    good = new_key(client, worker["token"])["key"]
    url, name = "/collections/grids/items", worker["name"]
    for _ in range(5):
        assert client.get(url, headers=basic(name, "wgk_wrong_password")).status_code == 401
    r = client.get(url, headers=basic(name, good))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_bad_key_requests_are_422(client, worker) -> None:
    for body in ({"name": ""}, {"name": "x", "expires_days": 0}, {"name": "x" * 101},
                 {"name": "x", "expires_days": 99999}):
        r = client.post("/account/keys", headers=bearer(worker["token"]), json=body)
        assert r.status_code == 422, body
    assert client.post("/account/keys", json={"name": "x"}).status_code == 401


def test_cli_user_key_prints_the_key_once(client, worker, db_url, monkeypatch) -> None:
    from cli.main import app as cli
    from gis.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["user", "key", worker["name"], "--name", "desktop",
                                          "--expires", "7"])
        assert result.exit_code == 0, result.output
        keys = [w for w in result.output.split() if w.startswith("wgk_")]
        assert len(keys) == 1
        assert client.get("/collections/grids/items",
                          headers=basic(worker["name"], keys[0])).status_code == 200
        listed = client.get("/account/keys", headers=bearer(worker["token"])).json()["keys"]
        assert any(k["name"] == "desktop" and k["expires_at"] for k in listed)
        bad = CliRunner().invoke(cli, ["user", "key", "nobody-here", "--name", "x"])
        assert bad.exit_code != 0 and "no account" in bad.output
        bad = CliRunner().invoke(cli, ["user", "key", worker["name"], "--expires", "0"])
        assert bad.exit_code != 0 and "expiry" in bad.output
    finally:
        get_settings.cache_clear()


def test_gdal_reads_a_workers_area_with_a_key_as_basic_password(client, worker,
                                                                 live_server) -> None:
    key = new_key(client, worker["token"])["key"]
    proc = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", "--config", "GDAL_HTTP_AUTH", "BASIC", "--config",
         "GDAL_HTTP_USERPWD", f"{worker['name']}:{key}", "-oo", "PAGE_SIZE=1",
         f"OAPIF:{live_server}/collections/micro-grids", "micro-grids"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    codes = set(re.findall(r"^\s+code \(String\) = (\d+)$", proc.stdout, re.M))
    assert codes == {f"{GRID}001", f"{GRID}002"}, proc.stdout[-2000:]
    denied = subprocess.run(
        ["ogrinfo", "-ro", "-so", "--config", "GDAL_HTTP_AUTH", "BASIC", "--config",
         "GDAL_HTTP_USERPWD", f"{worker['name']}:{key[:-3]}xyz",
         f"OAPIF:{live_server}/collections/micro-grids", "micro-grids"],
        capture_output=True, text=True, timeout=300)
    assert denied.returncode != 0
