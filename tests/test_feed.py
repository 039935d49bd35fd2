"""The live feed (SSE) delivers a change within a second, filtered by what the caller may see."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time

import httpx
import pytest

from tests.test_incidents_fixture import COUNTY, bearer, serve, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MINE = f"{COUNTY}001002002001"
OTHER = f"{COUNTY}002002001002"


def listen(base: str, token: str, out: queue.Queue, ready: threading.Event,
           stop: threading.Event) -> None:
    """Collect (arrival time, event) pairs from the feed until `stop` (or the server goes)."""
    with contextlib.suppress(httpx.HTTPError):
        _listen(base, token, out, ready, stop)


def _listen(base: str, token: str, out: queue.Queue, ready: threading.Event,
            stop: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=None) as http, http.stream(
            "GET", "/incidents/feed", params={"access_token": token}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        data = None
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                out.put((time.monotonic(), data))
                data = None
            if stop.is_set():
                return


def test_feed_delivers_within_a_second_and_only_what_you_may_see(settings, make_token,
                                                                 world) -> None:
    admin, worker = make_token("admin"), make_token("worker", [("grid", world.id(MINE[:15]))])
    with serve(settings) as base:
        streams = {}
        stop = threading.Event()
        for name, token in (("admin", admin), ("worker", worker)):
            out, ready = queue.Queue(), threading.Event()
            threading.Thread(target=listen, args=(base, token, out, ready, stop),
                             daemon=True).start()
            assert ready.wait(10), f"{name} feed did not connect"
            streams[name] = out
        sent = {}
        with httpx.Client(base_url=base, timeout=10) as http:
            for code in (OTHER, MINE):
                lon, lat = world.centers[code]
                t0 = time.monotonic()
                r = http.post("/incidents", headers=bearer(admin), json={
                    "lon": lon, "lat": lat, "category": "noise", "title": code})
                assert r.status_code == 201
                sent[r.json()["id"]] = t0
            mine_id = max(sent)
            r = http.post(f"/incidents/{mine_id}/transitions", headers=bearer(admin),
                          json={"action": "accept"})
            assert r.status_code == 200
            sent_accept = time.monotonic()

        def drain(q: queue.Queue, n: int) -> list:
            got = []
            deadline = time.monotonic() + 3
            while len(got) < n and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    got.append(q.get(timeout=0.1))
            return got

        admin_events = drain(streams["admin"], 3)
        worker_events = drain(streams["worker"], 2)
        stop.set()
    assert [(e["id"], e["action"]) for _, e in admin_events] == [
        (min(sent), "report"), (mine_id, "report"), (mine_id, "accept")]
    assert [(e["id"], e["action"], e["status"]) for _, e in worker_events] == [
        (mine_id, "report", "reported"), (mine_id, "accept", "accepted")]
    for arrived, event in admin_events[:2]:
        assert arrived - sent[event["id"]] < 1.0
    assert worker_events[-1][0] - sent_accept < 1.0


def test_feed_needs_a_valid_token(settings, make_token) -> None:
    with serve(settings) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/incidents/feed").status_code == 401
        assert http.get("/incidents/feed", params={"access_token": "forged"}).status_code == 401
        expired = make_token("commander", minutes=-1)
        assert http.get("/incidents/feed", params={"access_token": expired}).status_code == 401
