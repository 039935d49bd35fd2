"""Routing for years (migration 0014): a worker's history by the streets they reported in, a
feature read by id with its street, and incident_streets partitioned by id range.

A district of its own: street A (community A1, grid GA1) and street B (B1, GB1). A worker
reports in A, is then moved to B's grid: their history must still hold the report in A (a
street outside today's scope), and on Citus reach only the shards of A and B.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from api.ogc.features import one
from api.ogc.registry import get as collection
from gis import worker_app
from gis.accounts import hash_password, issue_token
from gis.database import libpq_url
from gis.routing import ROUTE_IDS
from gis.scope import Principal, expand_scope
from gis.settings import Settings
from importers.incidents import write_incidents
from importers.validation import ImportReport
from tests.citus import on_citus
from tests.conftest import TEST_SECRET, fresh_database

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

COUNTY = "610198"
X0, Y0, S = 109.80, 34.80, 0.01


def _box(x0: float, x1: float) -> str:
    return (f"SRID=4326;MULTIPOLYGON((({x0} {Y0},{x1} {Y0},{x1} {Y0 + S},{x0} {Y0 + S},"
            f"{x0} {Y0})))")


@dataclass
class Worker:
    username: str
    account: int
    worker: int
    headers: dict[str, str]


@dataclass
class District:
    url: str
    client: TestClient
    settings: Settings
    ids: dict[str, int]
    admin: dict[str, str]

    def account(self, role: str, grid: str | None = None) -> Worker:
        """A new account (a worker assigned to grid `grid`, full time)."""
        name = f"{role}_{os.urandom(4).hex()}"
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            worker = None
            if grid:
                worker = conn.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                                      (name,)).fetchone()[0]
                conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                             "VALUES (%s, 'grid', %s, 'full_time')", (worker, self.ids[grid]))
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role, worker_id) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (name, hash_password("pw-" + name), role, worker)).fetchone()[0]
        token = issue_token(self.settings, account, name, role, 0)[0]
        return Worker(name, account, worker, {"Authorization": f"Bearer {token}"})

    def report(self, who: Worker | dict, x: float, title: str) -> dict:
        headers = who.headers if isinstance(who, Worker) else who
        r = self.client.post("/incidents", headers=headers, json={
            "lon": x, "lat": Y0 + S / 2, "category": "garbage", "title": title})
        assert r.status_code == 201, r.text
        return r.json()

    def sql(self, query: str, params: tuple | dict = ()) -> list[tuple]:
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


def _build(conn: psycopg.Connection) -> dict[str, int]:
    ids: dict[str, int] = {}

    def add(table: str, key: str, code: str, parent: str | None, x0: float, x1: float) -> None:
        cols = "code, name, parent_code, geom" + (", parent_id" if parent else "")
        vals = [code, key, code[:-3], _box(x0, x1)] + ([ids[parent]] if parent else [])
        ids[key] = conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(vals))}) "
            "RETURNING id", vals).fetchone()[0]

    for key, x0 in (("A", X0), ("B", X0 + S)):
        code = f"{COUNTY}00{1 if key == 'A' else 2}"
        add("streets", key, code, None, x0, x0 + S)
        add("communities", key + "1", code + "001", key, x0, x0 + S)
        add("grids", "G" + key + "1", code + "001001", key + "1", x0, x0 + S)
        add("micro_grids", "M" + key + "1", code + "001001001", "G" + key + "1", x0, x0 + S)
    return ids


@pytest.fixture(scope="module")
def district(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    from api.app import create_app

    with fresh_database(server_url, f"wangge_archive_{os.getpid()}") as url:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.transaction():
            ids = _build(conn)
        settings = Settings(database_url=url, secret_key=TEST_SECRET,
                            local_dir=tmp_path_factory.mktemp("archive"))
        with TestClient(create_app(settings)) as client:
            d = District(url, client, settings, ids, {})
            d.admin = d.account("admin").headers
            yield d


def _move_to_grid(d: District, w: Worker, grid: str) -> None:
    d.sql("UPDATE assignments SET area_id = %s WHERE worker_id = %s", (d.ids[grid], w.worker))


def _history_ids(d: District, w: Worker) -> list[int]:
    r = d.client.get("/map/me/history", headers=w.headers)
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["reports"]]


def _own_reports(d: District, w: Worker) -> list[int]:
    """What the history's filter alone admits (no street condition), newest first."""
    return [r[0] for r in d.sql(
        "SELECT i.id FROM incidents i JOIN incident_events e ON e.incident_id = i.id "
        "AND e.street_id = i.street_id WHERE e.action = 'report' AND e.actor = %s "
        "AND i.reported_at >= now() - interval '30 days' ORDER BY i.reported_at DESC",
        (w.username,))]


@pytest.fixture(scope="module")
def moved_worker(district: District) -> tuple[Worker, dict, dict]:
    """A worker who reported in street A, was moved to B's grid and reported there."""
    d = district
    w = d.account("worker", "GA1")
    in_a = d.report(w, X0 + 0.5 * S, "reported in A")
    _move_to_grid(d, w, "GB1")
    r = d.client.post("/incidents", headers=w.headers, json={
        "lon": X0 + 0.5 * S, "lat": Y0 + S / 2, "category": "garbage", "title": "A again"})
    assert r.status_code == 403, r.text  # A is outside the worker's scope now
    in_b = d.report(w, X0 + 1.5 * S, "reported in B")
    return w, in_a, in_b


def test_history_keeps_reports_in_streets_outside_todays_scope(district: District,
                                                               moved_worker) -> None:
    d = district
    w, in_a, in_b = moved_worker
    assert (in_a["street_id"], in_b["street_id"]) == (d.ids["A"], d.ids["B"])
    assert _history_ids(d, w) == _own_reports(d, w) == [in_b["id"], in_a["id"]]
    recorded = d.sql("SELECT street_id, last_day = (now() AT TIME ZONE 'UTC')::date "
                     "FROM incident_actor_streets WHERE actor = %s ORDER BY 1", (w.username,))
    assert recorded == [(d.ids["A"], True), (d.ids["B"], True)]
    # another worker's reports never show, and one without reports has an empty history
    other = d.account("worker", "GA1")
    d.report(other, X0 + 0.25 * S, "someone else's")
    assert _history_ids(d, w) == [in_b["id"], in_a["id"]]
    assert _history_ids(d, d.account("worker", "GB1")) == []


def test_history_window_follows_the_report_time(district: District) -> None:
    """A report given a time 40 days ago (an offline queue sent late) is outside the 30-day
    history; its street's record is not moved forward by it."""
    d = district
    w = d.account("worker", "GB1")
    r = d.client.post("/incidents", headers=w.headers, json={
        "lon": X0 + 1.5 * S, "lat": Y0 + S / 2, "category": "garbage", "title": "old",
        "reported_at": "2000-01-01T00:00:00Z"})
    assert r.status_code == 201, r.text
    assert _history_ids(d, w) == _own_reports(d, w) == []
    assert d.sql("SELECT street_id, last_day FROM incident_actor_streets WHERE actor = %s",
                 (w.username,))[0][1].year == 2000
    fresh = d.report(w, X0 + 1.5 * S, "new")
    assert _history_ids(d, w) == [fresh["id"]]


def test_every_writer_records_its_report_streets(district: District) -> None:
    """The batch intake and the incident import record the streets their report events' actor
    reported in (on Citus nothing else would: no trigger on distributed tables)."""
    d = district
    w = d.account("worker", "GB1")
    r = d.client.post("/incidents/batch", headers=w.headers, json={"incidents": [
        {"lon": X0 + x * S, "lat": Y0 + S / 2, "category": "garbage", "title": "batch",
         **({"reported_at": "2001-02-03T04:05:06Z"} if x > 1.5 else {})}
        for x in (1.25, 1.75)]})
    assert r.status_code == 201, r.text
    assert d.sql("SELECT street_id, last_day = (now() AT TIME ZONE 'UTC')::date "
                 "FROM incident_actor_streets WHERE actor = %s", (w.username,)) == [
        (d.ids["B"], True)]
    report = ImportReport("incidents", "actors.geojson")
    with psycopg.connect(libpq_url(d.url)) as conn, conn.transaction():
        write_incidents(conn, [{"row": 0, "code": f"IMP-actor-{os.getpid()}",
                                "category": "garbage", "title": "imported", "description": "",
                                "reported_at": None, "source": "hotline",
                                "geom": Point(X0 + 0.5 * S, Y0 + S / 3)}], report)
    assert report.inserted == 1
    assert (d.ids["A"],) in d.sql("SELECT street_id FROM incident_actor_streets "
                                  "WHERE actor = 'import'")


def test_a_feature_by_id_is_read_with_its_street(district: District, moved_worker) -> None:
    d = district
    _w, in_a, _in_b = moved_worker
    r = d.client.get(f"/collections/incidents/items/{in_a['id']}", headers=d.admin)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == in_a["id"]
    assert r.json()["properties"]["code"] == in_a["code"]
    missing = d.client.get("/collections/incidents/items/987654321", headers=d.admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    # out of scope: a worker of street B does not see street A's case
    assert d.client.get(f"/collections/incidents/items/{in_a['id']}",
                        headers=d.account("worker", "GB1").headers).status_code == 404


def test_archived_map_partitions_fall_back_to_the_incidents(district: District,
                                                           moved_worker) -> None:
    """Dropping the map's partitions of archived ids keeps every read by id right (they are
    looked up on the incidents); ids of a range without a partition wait in the default
    partition until repartitioned; a new batch prepares its range and the next."""
    d = district
    w, in_a, in_b = moved_worker
    ids = [r[0] for r in d.sql("SELECT id FROM incidents ORDER BY id")]
    assert max(ids) < ROUTE_IDS  # this district's ids lie in partition 0
    parts = {r[0] for r in d.sql("SELECT c.relname FROM pg_inherits i JOIN pg_class c "
                                 "ON c.oid = i.inhrelid WHERE i.inhparent = "
                                 "'incident_streets'::regclass")}
    assert {"incident_streets_default", "incident_streets_p0", "incident_streets_p1"} <= parts
    assert d.sql("SELECT count(*) FROM incident_streets_p0")[0][0] == len(ids)
    # archive: the partitions below ROUTE_IDS leave; every case is still read by id
    assert d.sql("SELECT wangge_route_drop(%s)", (ROUTE_IDS,))[0][0] == 1
    assert d.sql("SELECT count(*) FROM incident_streets")[0][0] == 0
    for case in (in_a, in_b):
        r = d.client.get(f"/incidents/{case['id']}", headers=d.admin)
        assert r.status_code == 200 and r.json()["street_id"] == case["street_id"]
        r = d.client.get(f"/collections/incidents/items/{case['id']}", headers=d.admin)
        assert r.status_code == 200 and r.json()["id"] == case["id"]
    assert _history_ids(d, w) == [in_b["id"], in_a["id"]]
    # a range without a partition: its rows wait in the default partition
    far = 7 * ROUTE_IDS + 5
    d.sql("INSERT INTO incident_streets VALUES (%s, %s)", (far, d.ids["B"]))
    assert d.sql("SELECT id FROM incident_streets_default") == [(far,)]
    assert d.sql("SELECT wangge_route_repartition()")[0][0] == 1
    assert d.sql("SELECT count(*) FROM incident_streets_default")[0][0] == 0
    assert d.sql("SELECT id FROM incident_streets_p7") == [(far,)]
    d.sql("DELETE FROM incident_streets WHERE id = %s", (far,))
    # the next report prepares partition 0 again (its id's range) and records its street
    new = d.report(w, X0 + 1.5 * S, "after the archive")
    assert d.sql("SELECT street_id FROM incident_streets_p0 WHERE id = %s",
                 (new["id"],)) == [(d.ids["B"],)]
    assert d.sql("SELECT wangge_route_rebuild(), wangge_route_repartition()")
    assert d.sql("SELECT count(*) FROM incident_streets")[0][0] == len(ids) + 1


# --- on Citus: which shards a request reaches -------------------------------------------------

def _reached(url: str, call) -> set[str]:
    """The shard tables named in the remote commands Citus issued for `call(conn)`."""
    async def run() -> set[str]:
        notices: list[str] = []
        async with await psycopg.AsyncConnection.connect(libpq_url(url),
                                                         autocommit=True) as conn:
            await conn.execute("SET citus.log_remote_commands = on")
            conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
            await call(conn)
        return {m for n in notices for m in re.findall(r"\b(incidents_\d+)\b", n)}
    return asyncio.run(run())


@pytest.mark.citus_only
def test_on_citus_history_and_feature_reach_their_streets_shards(district: District,
                                                                moved_worker) -> None:
    d = district
    w, in_a, _in_b = moved_worker
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn:
        assert on_citus(conn)
        principal = Principal(w.account, w.username, "worker", w.worker,
                              expand_scope(conn, w.account))
        wanted = {r[0] for r in conn.execute(
            "SELECT shard_name('incidents', get_shard_id_for_distribution_column("
            "'incidents', s)) FROM unnest(%s::bigint[]) s", ([d.ids["A"], d.ids["B"]],))}
        shards = conn.execute("SELECT count(*) FROM pg_dist_shard "
                              "WHERE logicalrelid = 'incidents'::regclass").fetchone()[0]
        admin = Principal(0, "admin", "admin")

    async def history(conn) -> None:
        ids = [x["id"] for x in (await worker_app.history(conn, principal))["reports"]]
        assert in_a["id"] in ids

    async def feature(conn) -> None:
        assert await one(conn, collection("incidents"), admin, in_a["id"]) is not None

    assert _reached(d.url, history) == wanted and len(wanted) < shards
    assert len(_reached(d.url, feature)) == 1
