"""Two planners edit the same grid at once over real HTTP: exactly one wins, the other gets 409."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import uvicorn

from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.conftest import _free_port
from tests.test_editing_fixture import micro, snapshot, violations

district, edit_app, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_settings, fx.edit_url, fx.token)


@pytest.fixture(scope="module")
def edit_server(edit_app) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(edit_app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _together(calls) -> list[httpx.Response]:
    """Run the calls in threads released at the same instant."""
    barrier = threading.Barrier(len(calls))
    out: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _bid(url: str, code: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT id FROM buildings WHERE code = %s", (code,)).fetchone()[0]


def _draft(client: httpx.Client, headers, building: int) -> tuple[int, str]:
    r = client.post("/plans", json={"name": "race"}, headers=headers)
    pid = r.json()["id"]
    r = client.post(f"/plans/{pid}/edits", headers={**headers, "If-Match": r.headers["etag"]},
                    json={"op": "move_buildings", "buildings": [building], "to": micro(0, 2)})
    assert r.status_code == 200, r.text
    return pid, r.headers["etag"]


def test_two_planners_publish_the_same_grid_at_once(district, edit_server, token) -> None:
    alice, bob = token("planner"), token("planner")
    with httpx.Client(base_url=edit_server, timeout=60) as client:
        pa, ea = _draft(client, alice, _bid(district, micro(0, 1) + "B2"))
        pb, eb = _draft(client, bob, _bid(district, micro(0, 1) + "B4"))
        before = snapshot(district)
        results = _together([
            lambda: client.post(f"/plans/{pa}/publish", headers={**alice, "If-Match": ea}),
            lambda: client.post(f"/plans/{pb}/publish", headers={**bob, "If-Match": eb})])
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409).json()
    assert loser["stale"] and loser["stale"][0]["current_version"] == 2
    assert snapshot(district) != before
    assert violations(district) == []
    assert snapshot(district)["areas"][micro(0, 1)][0] == 30  # one building moved, not two


def test_two_edits_to_one_plan_with_the_same_version(district, edit_server, token) -> None:
    h = token("planner")
    with httpx.Client(base_url=edit_server, timeout=60) as client:
        r = client.post("/plans", json={"name": "shared"}, headers=h)
        pid, etag = r.json()["id"], r.headers["etag"]
        ops = [{"op": "merge", "a": micro(1, 1), "b": micro(1, 2)},
               {"op": "merge", "a": micro(1, 4), "b": micro(1, 5)}]
        results = _together([
            lambda op=op: client.post(f"/plans/{pid}/edits", json=op,
                                      headers={**h, "If-Match": etag}) for op in ops])
        assert sorted(r.status_code for r in results) == [200, 409]
        assert next(r for r in results if r.status_code == 409).json()["current_version"] == 2
        assert len(client.get(f"/plans/{pid}", headers=h).json()["changes"]) == 1
