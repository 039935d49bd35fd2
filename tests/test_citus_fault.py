"""A Citus worker stopped under the running API: what needs it answers 503, what does not is
still served, and everything comes back when it returns.

Incidents are distributed by street_id, so each street's incidents live on one worker; the
boundaries are reference tables with a copy on every node, the coordinator included. The test
makes streets until both workers hold one (A and B), serves the API (uvicorn on a loopback port),
stops B's worker and checks: a report in street A is stored (201, with its report event) and read
back by its street; a report in street B, a batch over both streets and a read over every shard
are 503 problem documents with Retry-After, at once (no hanging, no 500), and the refused ones
leave nothing behind (not even the batch's street-A row); street A's areas are still served; then
it starts the worker again and reports in both streets are stored.

Marked citus_only: it runs in the Citus stage of `./wangge test` (or
`WANGGE_TEST_CITUS=1 ./wangge test tests/test_citus_fault.py`) and is deselected on one node.
"""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest

from bench.stats_bench import build_district
from gis import citus_local
from gis.database import libpq_url
from gis.settings import Settings

pytestmark = [pytest.mark.citus, pytest.mark.citus_only]

X0, Y0, SIZE = 101.0, 21.0, 0.02  # far from the other tests' areas
COUNTY_BASE = 540100  # one county code per batch of streets: 540101, 540102, ...
BACK_WITHIN_S = 60.0

WORKER_OF_STREET_SQL = """
SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
WHERE p.shardid = get_shard_id_for_distribution_column('incidents', %s::bigint)
"""


def streets_on_two_workers(conn: psycopg.Connection) -> dict[int, tuple[int, tuple]]:
    """{worker port: (street id, street box)} for two workers, adding streets until both
    hold one (a street's incidents live on the worker of its shard)."""
    held: dict[int, tuple[int, tuple]] = {}
    for batch in range(1, 8):
        county = str(COUNTY_BASE + batch)
        y0 = Y0 + batch * SIZE * 2
        build_district(conn, county=county, x0=X0, y0=y0, size=SIZE, streets=4, communities=1,
                       grids=1, micro=1)
        rows = conn.execute("SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), "
                            "ST_YMax(geom) FROM streets WHERE code LIKE %s ORDER BY id",
                            (county + "%",)).fetchall()
        for street_id, *box in rows:
            port = conn.execute(WORKER_OF_STREET_SQL, (street_id,)).fetchone()[0]
            held.setdefault(port, (street_id, tuple(box)))
        if len(held) >= 2:
            return held
    raise AssertionError(f"every street landed on one worker: {held}")


def incident_at(box: tuple, title: str) -> dict:
    """An incident at the middle of `box`."""
    x0, y0, x1, y1 = box
    return {"lon": (x0 + x1) / 2, "lat": (y0 + y1) / 2, "category": "garbage", "title": title,
            "source": "hotline"}


def report(http: httpx.Client, box: tuple, title: str) -> httpx.Response:
    """POST /incidents at the middle of `box`."""
    return http.post("/incidents", json=incident_at(box, title))


def titles_in_street(http: httpx.Client, street_id: int) -> list[str]:
    """Titles of a street's incidents, read with a filter on the shard key (street_id)."""
    r = http.get("/collections/incidents/items",
                 params={"filter": f"street_id = {street_id}", "limit": 100})
    assert r.status_code == 200, r.text
    return [f["properties"]["title"] for f in r.json()["features"]]


def assert_node_down(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["status"] == 503 and "node" in r.json()["detail"]


def test_a_stopped_worker_fails_only_what_needs_it(db_url: str, live_server: str,
                                                    make_token, client) -> None:
    settings = Settings()
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        held = streets_on_two_workers(conn)
        (port_a, (street_a, box_a)), (port_b, (street_b, box_b)) = sorted(held.items())[:2]
        grid_a = conn.execute("SELECT g.code FROM grids g JOIN communities c ON c.id = "
                              "g.parent_id WHERE c.parent_id = %s", (street_a,)).fetchone()[0]
    node_b = port_b - settings.citus_coordinator_port
    assert node_b >= 1  # a worker, not the coordinator
    token = make_token("admin")
    with httpx.Client(base_url=live_server, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        assert report(http, box_a, "before A").status_code == 201
        assert report(http, box_b, "before B").status_code == 201

        citus_local.stop_node(settings, node_b)
        try:
            started = time.monotonic()
            r = report(http, box_a, "during A")  # A's worker is up: stored, with its event
            assert r.status_code == 201, r.text
            assert r.json()["street_id"] == street_a and r.json()["status"] == "reported"
            assert "during A" in titles_in_street(http, street_a)
            assert_node_down(report(http, box_b, "during B"))
            # a batch is all or nothing: its street-A row is not kept when B's cannot be
            assert_node_down(http.post("/incidents/batch", json={"incidents": [
                incident_at(box_a, "batch A"), incident_at(box_b, "batch B")]}))
            assert "batch A" not in titles_in_street(http, street_a)
            # a read over every shard needs the stopped worker too
            assert_node_down(http.get("/collections/incidents/items", params={"limit": 5}))
            assert time.monotonic() - started < 10  # answered at once, not after a timeout
            # street A's areas (reference tables) are still served, from the coordinator's copy
            r = http.get("/collections/micro-grids/items", params={"parent_code": grid_a})
            assert r.status_code == 200, r.text
            assert r.json()["numberReturned"] == 1
            assert http.get("/conformance").status_code == 200  # the API itself is fine
        finally:
            citus_local.start_node(settings, node_b)
            # The session's in-process app saw no failure, so its pooled coordinator backends
            # still hold connections to the old worker: the first request on each would answer
            # 503 once (the API renews its pool at the first such failure). Renew it now, as
            # that failure would, so the tests after this one start clean.
            client.portal.call(client.app.state.pool.drain)

        deadline = time.monotonic() + BACK_WITHIN_S
        while True:  # the coordinator reconnects to the worker on the next request
            r = report(http, box_b, "after B")
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        assert report(http, box_a, "after A").status_code == 201
        r = http.get("/collections/incidents/items", params={"limit": 5})
        assert r.status_code == 200, r.text

    with psycopg.connect(libpq_url(db_url)) as conn:
        titles = dict(conn.execute(
            "SELECT street_id, array_agg(title ORDER BY id) FROM incidents "
            "WHERE street_id IN (%s, %s) GROUP BY 1", (street_a, street_b)).fetchall())
        events = conn.execute(
            "SELECT i.title, count(e.id) FILTER (WHERE e.action = 'report') FROM incidents i "
            "LEFT JOIN incident_events e ON e.street_id = i.street_id AND e.incident_id = i.id "
            "WHERE i.street_id IN (%s, %s) GROUP BY i.id, i.title", (street_a, street_b)
        ).fetchall()
    assert titles[street_a] == ["before A", "during A", "after A"]
    assert titles[street_b] == ["before B", "after B"]  # the refused reports left nothing
    assert sorted(events) == sorted((t, 1) for t in titles[street_a] + titles[street_b])
