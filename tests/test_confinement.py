"""Confinement on every read path: patrols, statistics and the live feed show only what lies
inside the caller's areas, and say nothing about areas outside them."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import jwt
import psycopg

from gis.database import libpq_url
from tests.test_incidents_fixture import COUNTY, bearer, serve, world_fixture  # noqa: F401

GRID_A = f"{COUNTY}001001001"
GRID_B = f"{COUNTY}001001002"
GRID_C = f"{COUNTY}002002001"


def _patrol_over_a_and_b(client, make_token, world) -> int:
    """A worker of grids A and B walks two points in A, then two in B; returns the patrol id."""
    both = bearer(make_token("worker", [("grid", world.id(GRID_A)), ("grid", world.id(GRID_B))]))
    pid = client.post("/patrols", headers=both).json()["id"]
    points = []
    for i, code in enumerate((GRID_A + "001", GRID_A + "002", GRID_B + "001", GRID_B + "002")):
        lon, lat = world.centers[code]
        points.append({"t": f"2026-02-01T08:0{i}:00Z", "lon": lon, "lat": lat})
    r = client.post(f"/patrols/{pid}/points", json={"points": points}, headers=both)
    assert r.status_code == 200, r.text
    return pid


def test_a_patrol_shows_only_the_points_and_micro_grids_in_your_scope(client, make_token,
                                                                        admin_headers,
                                                                        world) -> None:
    pid = _patrol_over_a_and_b(client, make_token, world)
    whole = client.get(f"/patrols/{pid}", headers=admin_headers).json()
    assert whole["points"] == 4 and len(whole["track"]["coordinates"]) == 4

    only_a = bearer(make_token("worker", [("grid", world.id(GRID_A))]))
    r = client.get(f"/patrols/{pid}", headers=only_a)
    assert r.status_code == 200
    seen = r.json()
    assert seen["points"] == 2
    assert sorted(seen["micro_grids"]) == sorted(world.id(GRID_A + m) for m in ("001", "002"))
    coords = seen["track"]["coordinates"]
    assert [(round(x, 6), round(y, 6)) for x, y in coords] == [
        tuple(round(v, 6) for v in world.centers[GRID_A + m]) for m in ("001", "002")]
    assert 0 < seen["length_m"] < whole["length_m"]

    only_c = bearer(make_token("worker", [("grid", world.id(GRID_C))]))
    assert client.get(f"/patrols/{pid}", headers=only_c).status_code == 404


def test_stats_for_an_area_outside_your_scope_answer_like_an_unknown_code(client, make_token,
                                                                           world) -> None:
    only_a = bearer(make_token("worker", [("grid", world.id(GRID_A))]))
    outside = client.get("/stats", params={"level": "grid", "area": GRID_C[:12]},
                         headers=only_a)
    unknown = client.get("/stats", params={"level": "grid", "area": f"{COUNTY}009009"},
                         headers=only_a)
    assert outside.status_code == unknown.status_code == 404
    assert outside.json()["detail"].replace(GRID_C[:12], "X") == \
        unknown.json()["detail"].replace(f"{COUNTY}009009", "X")
    inside = client.get("/stats", params={"level": "grid", "area": GRID_A[:12]}, headers=only_a)
    assert inside.status_code == 200
    assert [a["code"] for a in inside.json()["areas"]] == [GRID_A]


def _watch_feed(base: str, token: str) -> tuple[threading.Event, dict]:
    """Open the feed in a thread; returns (connected, outcome) where outcome gets 'ended_at'
    (monotonic) and the `end` event's data once the server closes the stream."""
    connected, outcome = threading.Event(), {}

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=None) as http, \
                http.stream("GET", f"{base}/incidents/feed",
                            params={"access_token": token}) as r:
            outcome["status"] = r.status_code
            kind = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "end":
                    outcome["end"] = json.loads(line[6:])
        outcome["ended_at"] = time.monotonic()

    threading.Thread(target=run, daemon=True).start()
    assert connected.wait(10), "the feed did not connect"
    return connected, outcome


def _ended_within(outcome: dict, since: float, seconds: float) -> float:
    deadline = since + seconds + 2
    while "ended_at" not in outcome and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "ended_at" in outcome, "the stream is still open"
    took = outcome["ended_at"] - since
    assert took < seconds, f"the stream ended after {took:.2f} s"
    return took


def test_the_live_feed_ends_within_a_second_when_its_grounds_go(settings, make_token, world,
                                                                  db_url) -> None:
    grid = ("grid", world.id(GRID_A))
    with serve(settings) as base, httpx.Client(base_url=base, timeout=10) as http, \
            psycopg.connect(libpq_url(db_url), autocommit=True) as db:
        revoked = make_token("worker", [grid])
        _, outcome = _watch_feed(base, revoked)
        t0 = time.monotonic()
        assert http.post("/auth/revoke", headers=bearer(revoked)).status_code == 204
        took_revoke = _ended_within(outcome, t0, 1.0)
        assert "revoked" in outcome["end"]["reason"]

        ended = make_token("worker", [grid])
        _, outcome = _watch_feed(base, ended)
        t0 = time.monotonic()
        db.execute("UPDATE assignments SET ends_on = current_date - 1, "
                   "starts_on = current_date - 10 WHERE worker_id = (SELECT worker_id FROM "
                   "accounts WHERE username = %s)", (_name(ended),))
        _ended_within(outcome, t0, 1.0)
        assert outcome["end"]["reason"] == "your areas changed"

        disabled = make_token("commander", [grid])
        _, outcome = _watch_feed(base, disabled)
        t0 = time.monotonic()
        db.execute("UPDATE accounts SET disabled = true WHERE username = %s", (_name(disabled),))
        _ended_within(outcome, t0, 1.0)

        short = make_token("worker", [grid], minutes=2.5 / 60)
        _, outcome = _watch_feed(base, short)
        expires = jwt.decode(short, options={"verify_signature": False})["exp"]
        _ended_within(outcome, time.monotonic() + (expires - time.time()), 1.0)
        assert outcome["end"]["reason"] == "token expired"
    print(f"feed closed {took_revoke:.2f} s after the revocation")


def _name(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["name"]


def test_a_remembered_caller_is_looked_up_again_after_the_districts_midnight(
        client, make_token, world, monkeypatch) -> None:
    from api import deps
    from gis.scope import scope_valid_until

    token = make_token("worker", [("grid", world.id(GRID_A))])
    r = client.get("/collections/grids/items", headers=bearer(token))
    assert r.status_code == 200
    _, _, until = client.app.state.callers[token]
    midnight = scope_valid_until(client.app.state.settings.timezone, time.time())
    assert until <= midnight
    local = datetime.fromtimestamp(midnight, ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, local.second) == (0, 0, 0)
    lookups = []
    real = deps.lookup_caller

    async def counting(*args):
        lookups.append(args)
        return await real(*args)

    monkeypatch.setattr(deps, "lookup_caller", counting)
    assert client.get("/collections/grids/items", headers=bearer(token)).status_code == 200
    assert lookups == []  # remembered: no database lookup
    monkeypatch.setattr(deps, "clock", lambda: midnight + 1)
    assert client.get("/collections/grids/items", headers=bearer(token)).status_code == 200
    assert len(lookups) == 1  # the date moved on: the scope is expanded again
