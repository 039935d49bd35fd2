"""Login abuse and cheap denial of service: failed-login limits, equal work for unknown users,
hashing off the event loop, and unauthenticated writes kept out of the audit log."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import psycopg
from pyproj import Transformer

from api.app import create_app
from api.login_guard import LoginGuard
from gis.accounts import hash_password
from gis.database import libpq_url
from tests.serving import serve
from tests.test_incidents_fixture import world_fixture  # noqa: F401


def _account(db_url: str, name: str, password: str) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (username, password_hash, role) "
                     "VALUES (%s, %s, 'commander')", (name, hash_password(password)))


def _login(http: httpx.Client, name: str, password: str) -> httpx.Response:
    return http.post("/auth/token", data={"username": name, "password": password})


def test_five_failures_per_username_then_429_even_for_the_right_password(settings,
                                                                         db_url) -> None:
    name = f"victim_{time.time_ns() % 10**9}"
    _account(db_url, name, "right-password")
    app = create_app(settings)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert [_login(http, name.upper(), "wrong").status_code for _ in range(5)] == [401] * 5
        refused = _login(http, name, "right-password")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 0 < int(refused.headers["retry-after"]) <= 300
        guard: LoginGuard = app.state.login_guard
        guard.clock = lambda: time.monotonic() + 301  # the window has passed
        assert _login(http, name, "right-password").status_code == 200


def test_five_failures_from_one_address_then_429_for_any_name(settings, db_url) -> None:
    name = f"bystander_{time.time_ns() % 10**9}"
    _account(db_url, name, "right-password")
    app = create_app(settings)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        for i in range(5):  # a spray over five unknown names from one address
            assert _login(http, f"nobody{i}_{name}", "guess").status_code == 401
        assert _login(http, name, "right-password").status_code == 429
        r = http.get("/metrics", headers={"Authorization": "Bearer x"})
        assert r.status_code == 401


def test_the_address_and_name_windows_are_separate() -> None:
    now = [1000.0]
    guard = LoginGuard(clock=lambda: now[0])
    for _ in range(5):
        guard.failed("alice", "10.0.0.1")
    assert guard.retry_after("alice", "10.0.0.2") == 300  # the name is over, from anywhere
    assert guard.retry_after("bob", "10.0.0.1") == 300  # the address is over, for any name
    assert guard.retry_after("bob", "10.0.0.2") is None
    now[0] += 120
    assert guard.retry_after("alice", "10.0.0.3") == 180
    now[0] += 181
    assert guard.retry_after("alice", "10.0.0.1") is None


def test_unknown_users_cost_as_much_as_known_ones(settings, db_url) -> None:
    name = f"known_{time.time_ns() % 10**9}"
    _account(db_url, name, "right-password")
    app = create_app(settings)
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        app.state.login_guard = LoginGuard(max_failures=10_000)
        times: dict[str, list[float]] = {"known": [], "unknown": []}
        for i in range(12):
            for kind, user in (("known", name), ("unknown", f"ghost{i}_{name}")):
                started = time.perf_counter()
                assert _login(http, user, "wrong-password").status_code == 401
                times[kind].append(time.perf_counter() - started)
    ratio = statistics.median(times["unknown"]) / statistics.median(times["known"])
    print(f"\nlogin: unknown/known median time ratio={ratio:.2f}")
    assert 0.6 < ratio < 1.6


def test_password_hashing_runs_off_the_event_loop(client, make_token, monkeypatch) -> None:
    from api.routers import auth

    token_name = f"threaded_{time.time_ns() % 10**9}"
    make_token("commander", username=token_name)
    in_loop = []
    real = auth.verify_password

    def spy(stored: str, password: str) -> bool:
        try:
            asyncio.get_running_loop()
            in_loop.append(True)
        except RuntimeError:
            in_loop.append(False)
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", spy)
    r = client.post("/auth/token", data={"username": token_name,
                                         "password": "secret-" + token_name})
    assert r.status_code == 200
    assert in_loop == [False]


def test_unauthenticated_writes_are_counted_not_audited(client, conn, admin_headers) -> None:
    start = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]
    before = client.get("/metrics", headers=admin_headers).json()["unauthenticated_writes"]
    for _ in range(3):
        assert client.post("/plans", json={"name": "x"}).status_code == 401
        assert client.post("/incidents", json={}, headers={
            "Authorization": "Bearer forged"}).status_code == 401
    rows = conn.execute("SELECT count(*) FROM audit_log WHERE id > %s AND action = 'write'",
                        (start,)).fetchone()[0]
    assert rows == 0
    after = client.get("/metrics", headers=admin_headers).json()["unauthenticated_writes"]
    assert after - before == 6


def test_offset_is_capped_and_deep_pages_follow_keyset_links(client, admin_headers,
                                                             monkeypatch, world) -> None:
    """(world: the fixture district, so there are micro-grids to page through)"""
    from api.ogc import params

    r = client.get("/collections/micro-grids/items", params={"offset": 100_001},
                   headers=admin_headers)
    assert r.status_code == 400 and "next" in r.json()["detail"]
    assert client.get("/incidents", params={"offset": 100_001},
                      headers=admin_headers).status_code == 400
    assert client.get("/collections/micro-grids/items", params={"offset": 100_000},
                      headers=admin_headers).status_code == 200

    by_offset = client.get("/collections/micro-grids/items", params={"limit": 9},
                           headers=admin_headers).json()
    assert by_offset["numberMatched"] > 9
    monkeypatch.setattr(params, "MAX_OFFSET", 4)  # as if 4 were 100,000
    page = client.get("/collections/micro-grids/items", params={"limit": 3, "offset": 3},
                      headers=admin_headers).json()
    ids = [f["id"] for f in page["features"]]
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert "after=" in nxt and "offset=" not in nxt
    following = client.get(nxt.replace("http://testserver", ""), headers=admin_headers).json()
    ids += [f["id"] for f in following["features"]]
    assert ids == [f["id"] for f in by_offset["features"]][3:9]


def test_crs_strings_are_epsg_codes_or_named_and_parsed_once(client, make_token, world,
                                                             monkeypatch) -> None:
    from gis import crs
    from tests.test_incidents_fixture import COUNTY, bearer

    grid = f"{COUNTY}002002001"
    me = bearer(make_token("worker", [("grid", world.id(grid))]))
    pid = client.post("/patrols", headers=me).json()["id"]
    lon, lat = world.centers[grid + "001"]
    parsed = []
    real = crs.CRS

    class CountingCRS(real):
        @classmethod
        def from_user_input(cls, value, **kw):
            parsed.append(value)
            return real.from_user_input(value, **kw)

        @classmethod
        def from_epsg(cls, code):
            parsed.append(code)
            return real.from_epsg(code)

    monkeypatch.setattr(crs, "CRS", CountingCRS)
    crs._epsg.cache_clear()
    odd = [{"t": "2026-03-01T08:00:00Z", "lon": lon, "lat": lat,
            "crs": f'GEOGCS["x{i}",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
                   f'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]'}
           for i in range(5000)]
    r = client.post(f"/patrols/{pid}/points", json={"points": odd}, headers=me)
    assert r.status_code == 422 and "EPSG code" in r.json()["detail"]
    assert parsed == []  # refused without reaching pyproj

    spellings = ["EPSG:3857", "epsg:3857", "http://www.opengis.net/def/crs/EPSG/0/3857",
                 "urn:ogc:def:crs:EPSG::3857"]
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    points = [{"t": f"2026-03-01T08:{i:02d}:00Z", "lon": x, "lat": y, "crs": spellings[i % 4]}
              for i in range(40)]
    glon, glat = (float(v) for v in crs.wgs84_to_gcj02(lon, lat))
    points += [{"t": "2026-03-01T09:00:00Z", "lon": glon, "lat": glat, "crs": "gcj02"},
               {"t": "2026-03-01T09:01:00Z", "lon": lon, "lat": lat, "crs": "CRS84"}]
    r = client.post(f"/patrols/{pid}/points", json={"points": points}, headers=me)
    assert r.status_code == 200, r.text
    assert parsed.count(3857) == 1  # four spellings, forty points: one lookup
