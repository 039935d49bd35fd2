"""Incident routing (gis/routing.py): reads by id and scoped lists name the street, same answers.

A district of its own (a database of its own: its streets are re-divided here): street A holds
communities A1 and A2, street B community B1, each with one grid and one micro-grid. B's
community, grid and micro-grid are stored before A's, so a point on the A/B edge is attributed
to street A (the lower street id) and to B1's community, grid and micro-grid (lower ids there):
attribution picks each level on its own. Then street A is re-divided: a new street row takes its
code and its communities (their ids kept), so a new report in A2 lands in the new street while
the old one keeps street A.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point

from gis.accounts import hash_password, issue_token
from gis.database import libpq_url
from gis.incidents import detail_sql, list_sql
from gis.rating import digest
from gis.routing import SCOPE_STREETS_SQL
from gis.scope import Principal, expand_scope, scope_fragment
from gis.settings import Settings
from importers.incidents import write_incidents
from importers.validation import ImportReport
from tests.citus import on_citus
from tests.conftest import TEST_SECRET, fresh_database

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

COUNTY = "610197"
X0, Y0, S = 109.60, 34.60, 0.01


def _box(x0: float, x1: float) -> str:
    return (f"SRID=4326;MULTIPOLYGON((({x0} {Y0},{x1} {Y0},{x1} {Y0 + S},{x0} {Y0 + S},"
            f"{x0} {Y0})))")


@dataclass
class District:
    url: str
    client: TestClient
    settings: Settings
    ids: dict[str, int]

    def headers(self, role: str, level: str | None = None, area: str | None = None,
                name: str | None = None) -> dict[str, str]:
        """Authorization headers of a new account (a worker assigned to `area`, or another role
        confined to it)."""
        name = name or f"{role}_{os.urandom(4).hex()}"
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            worker = None
            if role == "worker":
                worker = conn.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                                      (name,)).fetchone()[0]
                conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                             "VALUES (%s, %s, %s, 'full_time')", (worker, level, self.ids[area]))
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role, worker_id) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (name, hash_password("pw-" + name), role, worker)).fetchone()[0]
            if role != "worker" and level:
                conn.execute("INSERT INTO account_areas VALUES (%s, %s, %s)",
                             (account, level, self.ids[area]))
        token = issue_token(self.settings, account, name, role, 0)[0]
        return {"Authorization": f"Bearer {token}", "X-Account": str(account)}


def _build(conn: psycopg.Connection) -> dict[str, int]:
    ids: dict[str, int] = {}

    def add(table: str, key: str, code: str, parent: str | None, x0: float, x1: float) -> None:
        cols = "code, name, parent_code, geom" + (", parent_id" if parent else "")
        vals = [code, key, code[:-3], _box(x0, x1)] + ([ids[parent]] if parent else [])
        ids[key] = conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(vals))}) "
            "RETURNING id", vals).fetchone()[0]

    a, b = f"{COUNTY}001", f"{COUNTY}002"
    add("streets", "A", a, None, X0, X0 + 2 * S)
    add("streets", "B", b, None, X0 + 2 * S, X0 + 3 * S)
    for key, street, code, x0, x1 in (("B1", "B", b + "001", X0 + 2 * S, X0 + 3 * S),
                                      ("A1", "A", a + "001", X0, X0 + S),
                                      ("A2", "A", a + "002", X0 + S, X0 + 2 * S)):
        add("communities", key, code, street, x0, x1)
        add("grids", "G" + key, code + "001", key, x0, x1)
        add("micro_grids", "M" + key, code + "001001", "G" + key, x0, x1)
    return ids


@pytest.fixture(scope="module")
def district(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    from api.app import create_app

    with fresh_database(server_url, f"wangge_route_{os.getpid()}") as url:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn, conn.transaction():
            ids = _build(conn)
        settings = Settings(database_url=url, secret_key=TEST_SECRET,
                            local_dir=tmp_path_factory.mktemp("route"))
        with TestClient(create_app(settings)) as client:
            yield District(url, client, settings, ids)


def _report(d: District, headers: dict, x: float, title: str) -> dict:
    r = d.client.post("/incidents", headers=headers, json={
        "lon": x, "lat": Y0 + S / 2, "category": "garbage", "title": title})
    assert r.status_code == 201, r.text
    return r.json()


def _redivide_street_a(d: District) -> None:
    """A re-division of street A: its row is retired and a new street takes its code (codes are
    unique among current areas only) and territory; communities A1 and A2 keep their ids and
    codes and now belong to the new street (ids["A'"]). A case reported in A2 before keeps
    street A; one reported after lands in the new street."""
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn, conn.transaction():
        conn.execute("UPDATE streets SET valid_to = now(), version = version + 1 WHERE id = %s",
                     (d.ids["A"],))
        d.ids["A'"] = conn.execute(
            "INSERT INTO streets (code, name, parent_code, geom) VALUES (%s, %s, %s, %s) "
            "RETURNING id", (f"{COUNTY}001", "A'", COUNTY, _box(X0, X0 + 2 * S))).fetchone()[0]
        conn.execute("UPDATE communities SET parent_id = %s, version = version + 1 "
                     "WHERE parent_id = %s", (d.ids["A'"], d.ids["A"]))


def _unpruned_ids(d: District, headers: dict) -> set[int]:
    """What the scope filter alone admits (no street condition), read straight from the
    incidents: the answer the routed list must equal."""
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn:
        scope = expand_scope(conn, int(headers["X-Account"]))
        rows = conn.execute(f"SELECT id FROM incidents i WHERE {scope_fragment('incidents', 'i')}",
                            {f"scope_{lv}": list(scope.ids(lv)) for lv in
                             ("street", "community", "grid", "micro_grid")}).fetchall()
    return {r[0] for r in rows}


def _listed(d: District, headers: dict, path: str = "/incidents") -> set[int]:
    r = d.client.get(path, headers=headers, params={"limit": 1000} if path == "/incidents"
                     else None)
    assert r.status_code == 200, r.text
    return {i["id"] for i in r.json()["items"]}


@pytest.fixture(scope="module")
def cases(district: District) -> dict[str, dict]:
    d = district
    admin = d.headers("admin")
    before = _report(d, admin, X0 + 1.5 * S, "in A2 before the move")
    edge = _report(d, admin, X0 + 2 * S, "on the edge of A and B")
    _redivide_street_a(d)
    after = _report(d, admin, X0 + 1.5 * S, "in A2 after the move")
    other = _report(d, admin, X0 + 0.5 * S, "in A1")
    return {"before": before, "edge": edge, "after": after, "other": other, "admin": admin}


def test_attribution_gives_the_cases_their_streets(district: District, cases: dict) -> None:
    ids = district.ids
    assert (cases["before"]["street_id"], cases["before"]["community_id"]) == (ids["A"],
                                                                              ids["A2"])
    assert (cases["after"]["street_id"], cases["after"]["community_id"]) == (ids["A'"],
                                                                             ids["A2"])
    # the edge point: street A, but B1's community, grid and micro-grid
    assert (cases["edge"]["street_id"], cases["edge"]["micro_grid_id"]) == (ids["A"],
                                                                            ids["MB1"])


def test_a_case_reported_before_its_community_moved_is_still_listed(district: District,
                                                                   cases: dict) -> None:
    d = district
    commander = d.headers("commander", "community", "A2")
    listed = _listed(d, commander)
    assert {cases["before"]["id"], cases["after"]["id"]} <= listed
    assert cases["other"]["id"] not in listed
    assert listed == _unpruned_ids(d, commander)
    grid_worker = d.headers("worker", "grid", "GA2")
    assert _listed(d, grid_worker) == _unpruned_ids(d, grid_worker) >= {cases["before"]["id"]}
    for key in ("before", "after"):  # read by id through the map, in scope
        r = d.client.get(f"/incidents/{cases[key]['id']}", headers=commander)
        assert r.status_code == 200 and r.json()["street_id"] == cases[key]["street_id"]


def test_a_case_on_the_edge_of_two_streets_reaches_the_other_streets_worker(
        district: District, cases: dict) -> None:
    d = district
    name = f"worker_b1_{os.urandom(3).hex()}"
    worker = d.headers("worker", "grid", "GB1", name=name)
    assert cases["edge"]["id"] in _listed(d, worker)
    assert _listed(d, worker) == _unpruned_ids(d, worker)
    admin, case = cases["admin"], cases["edge"]["id"]
    assert d.client.post(f"/incidents/{case}/transitions", headers=admin,
                         json={"action": "accept"}).status_code == 200
    r = d.client.post(f"/incidents/{case}/transitions", headers=admin, json={
        "action": "dispatch", "assignee_account_id": int(worker["X-Account"])})
    assert r.status_code == 200, r.text
    tasks = d.client.get("/map/me/tasks", headers=worker).json()["items"]
    assert [t["id"] for t in tasks] == [case]
    r = d.client.get("/map/area/" + f"{COUNTY}002001001", headers=admin)  # grid GB1
    assert r.status_code == 200 and case in {c["id"] for c in r.json()["open_cases"]}


def test_every_scope_lists_what_its_filter_admits(district: District, cases: dict) -> None:
    d = district
    for level, area in (("street", "A"), ("street", "A'"), ("street", "B"), ("community", "A1"),
                        ("community", "A2"), ("community", "B1"), ("grid", "GA2"),
                        ("micro_grid", "MB1"), ("micro_grid", "MA1")):
        commander = d.headers("commander", level, area)
        assert _listed(d, commander) == _unpruned_ids(d, commander), (level, area)
    assert _listed(d, cases["admin"]) >= {c["id"] for k, c in cases.items() if k != "admin"}


def test_every_writer_records_the_route(district: District, cases: dict,
                                        tmp_path) -> None:
    """Intake (single and batch) and the incident import record each incident's street and the
    streets of its areas; on Citus nothing else would (no trigger on distributed tables)."""
    d = district
    r = d.client.post("/incidents/batch", headers=cases["admin"], json={"incidents": [
        {"lon": X0 + x * S, "lat": Y0 + S / 2, "category": "garbage", "title": "batch"}
        for x in (0.25, 1.25, 2.5)]})
    assert r.status_code == 201, r.text
    report = ImportReport("incidents", "route.geojson")
    with psycopg.connect(libpq_url(d.url)) as conn, conn.transaction():
        write_incidents(conn, [{"row": 0, "code": "IMP-route-1", "category": "garbage",
                                "title": "imported", "description": "", "reported_at": None,
                                "source": "hotline", "geom": Point(X0 + 2.7 * S, Y0 + S / 3)}],
                        report)
    assert report.inserted == 1
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn:
        mapped = dict(conn.execute("SELECT id, street_id FROM incident_streets").fetchall())
        pairs = set(conn.execute("SELECT level, area_id, street_id FROM incident_area_streets"))
        rows = conn.execute("SELECT id, street_id, community_id, grid_id, micro_grid_id "
                            "FROM incidents").fetchall()
    assert {r[0]: r[1] for r in rows} == mapped
    assert len(rows) == 8
    for _id, street, community, grid, micro in rows:
        assert {("community", community, street), ("grid", grid, street),
                ("micro_grid", micro, street)} <= pairs


def _task_count(conn: psycopg.Connection, sql: str, params: dict) -> int:
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + sql, params))
    counts = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
    assert counts, plan
    return max(counts)


@pytest.mark.citus_only
def test_on_citus_a_case_is_read_on_one_shard_and_a_list_on_its_streets_shards(
        district: District, cases: dict) -> None:
    """EXPLAIN of the API's own statements: by id with the street, one task; a community's
    list, one task per shard of the streets its cases lie in; without the street condition,
    every shard."""
    d = district
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn:
        assert on_citus(conn)
        shards = conn.execute("SELECT count(*) FROM pg_dist_shard "
                              "WHERE logicalrelid = 'incidents'::regclass").fetchone()[0]
        case = cases["before"]
        sql, params = detail_sql(None, case["street_id"])
        assert _task_count(conn, sql, {**params, "id": case["id"]}) == 1
        scope = expand_scope(conn, int(d.headers("commander", "community", "A2")["X-Account"]))
        principal = Principal(0, "c", "commander", scope=scope)
        streets = tuple(conn.execute(SCOPE_STREETS_SQL, scope.params()).fetchone()[0])
        assert set(streets) == {d.ids["A"], d.ids["A'"]}
        wanted = conn.execute(
            "SELECT count(DISTINCT get_shard_id_for_distribution_column('incidents', s)) "
            "FROM unnest(%s::bigint[]) s", (list(streets),)).fetchone()[0]
        page = {"limit": 100, "offset": 0}
        sql, params = list_sql(principal, [], [], None, None, None, None, streets=streets)
        assert _task_count(conn, sql, {**params, **page}) == wanted < shards
        sql, params = list_sql(principal, [], [], None, None, None, None)
        assert _task_count(conn, sql, {**params, **page}) == shards
        # a street commander: the scope names street_id in an OR, which Citus prunes only
        # when the AND-ed street condition is the one plain term on it (gis.scope, shard_key)
        scope = expand_scope(conn, int(d.headers("commander", "street", "A")["X-Account"]))
        principal = Principal(0, "c", "commander", scope=scope)
        streets = tuple(conn.execute(SCOPE_STREETS_SQL, scope.params()).fetchone()[0])
        wanted = conn.execute(
            "SELECT count(DISTINCT get_shard_id_for_distribution_column('incidents', s)) "
            "FROM unnest(%s::bigint[]) s", (list(streets),)).fetchone()[0]
        sql, params = list_sql(principal, [], [], None, None, None, None, streets=streets)
        assert _task_count(conn, sql, {**params, **page}) == wanted < shards


def test_a_rating_token_carries_its_street_and_older_tokens_still_work(
        district: District, cases: dict) -> None:
    d, admin, case = district, cases["admin"], cases["other"]
    worker = d.headers("worker", "grid", "GA1")

    def act(headers: dict, action: str, **extra) -> None:
        r = d.client.post(f"/incidents/{case['id']}/transitions", headers=headers,
                          json={"action": action, **extra})
        assert r.status_code == 200, r.text

    act(admin, "accept")
    act(admin, "dispatch", assignee_account_id=int(worker["X-Account"]))
    for who, step in ((worker, "start"), (worker, "resolve"), (admin, "verify"),
                      (admin, "close")):
        act(who, step)
    r = d.client.post(f"/incidents/{case['id']}/rating-link", headers=admin)
    assert r.status_code == 201, r.text
    token = r.json()["path"].rsplit("/", 1)[1]
    street, _, rest = token.partition(".")
    assert street == str(case["street_id"]) and len(rest) == 43
    # the last character changed to another one (the token's own last character may be "A")
    altered = rest[:-1] + ("E" if rest.endswith("A") else "A")
    for forged in (f"{d.ids['B']}.{rest}", rest, f"{street}.{altered}"):
        assert d.client.get(f"/rate/{forged}/case").status_code == 410, forged
    assert d.client.get(f"/rate/{token}/case").json()["code"] == case["code"]
    # a link made before tokens carried their street is found on every shard
    legacy = "legacy-token-without-a-street-0123456789abcdef"
    with psycopg.connect(libpq_url(d.url), autocommit=True) as conn:
        conn.execute("DELETE FROM rating_links WHERE incident_id = %s AND street_id = %s",
                     (case["id"], case["street_id"]))
        conn.execute("INSERT INTO rating_links (incident_id, street_id, token_sha256, "
                     "created_by, expires_at) VALUES (%s, %s, %s, 'admin', "
                     "now() + interval '1 day')",
                     (case["id"], case["street_id"], digest(legacy)))
    assert d.client.get(f"/rate/{token}/case").status_code == 410
    assert d.client.post(f"/rate/{legacy}", json={"score": 5}).status_code == 200
    r = d.client.get(f"/incidents/{case['id']}", headers=admin)
    assert r.json()["satisfaction"] == 5 and r.json()["events"][-1]["action"] == "rate"
