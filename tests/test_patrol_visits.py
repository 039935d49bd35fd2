"""The patrol rate's rollup (patrol_visits, migration 0015_patrol_visits) stays exact, on one node
and on Citus: after uploads (several micro-grids and days in one batch, a second batch adding to
the same day), after points are moved and deleted, and the statistics read from it (whole days)
and from patrol_points (the partial days at either end) give the figures patrol_points alone give.
On Citus a street's statistics then reach only that street's shards."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest

from gis import stats
from gis.cluster import CITUS
from gis.patrol_visits import REBUILD_IF_CITUS_SQL
from gis.routing import SCOPE_STREETS_SQL
from gis.scope import Principal, expand_scope
from tests.citus import on_citus
from tests.test_incidents_fixture import COUNTY, World, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

STREET = f"{COUNTY}001"
COMMUNITY = f"{STREET}002"  # two grids of two micro-grids each
M1, M2, M3, M4 = (f"{COMMUNITY}{g}{m}" for g in ("001", "002") for m in ("001", "002"))

ROLLED = """SELECT day, micro_grid_id, street_id, n FROM patrol_visits
WHERE day >= %(d0)s AND day < %(d1)s ORDER BY 1, 2, 3"""
DIRECT = """SELECT (t AT TIME ZONE 'UTC')::date, micro_grid_id, coalesce(street_id, 0), count(*)
FROM patrol_points WHERE micro_grid_id IS NOT NULL
  AND t >= %(d0)s::date AT TIME ZONE 'UTC' AND t < %(d1)s::date AT TIME ZONE 'UTC'
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""


def upload(client, world: World, headers: dict, started: str,
           points: list[tuple[str, str]]) -> int:
    """A patrol of the worker with one batch of points (micro-grid code, time) per list."""
    r = client.post("/patrols", json={"started_at": started}, headers=headers)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    add(client, world, headers, pid, points)
    return pid


def add(client, world: World, headers: dict, pid: int, points: list[tuple[str, str]]) -> None:
    batch = [{"t": t, "lon": world.centers[code][0], "lat": world.centers[code][1]}
             for code, t in points]
    r = client.post(f"/patrols/{pid}/points", json={"points": batch}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == len(points)


def rolled_equals_direct(conn: psycopg.Connection, d0: str, d1: str) -> list[tuple]:
    """The rollup's rows of days [d0, d1), asserted equal to the counts from patrol_points."""
    rolled = conn.execute(ROLLED, {"d0": d0, "d1": d1}).fetchall()
    assert rolled == conn.execute(DIRECT, {"d0": d0, "d1": d1}).fetchall()
    return rolled


def patrolled(client, headers: dict, start: str, end: str) -> dict[str, int]:
    """GET /stats per micro-grid of COMMUNITY: micro-grid code -> patrolled (0 or 1)."""
    r = client.get("/stats", params={"level": "micro_grid", "area": COMMUNITY, "start": start,
                                     "end": end}, headers=headers)
    assert r.status_code == 200, r.text
    return {a["code"]: a["patrol"]["patrolled"] for a in r.json()["areas"]}


def assert_same_as_raw(client, conn, headers: dict, world: World, start: str,
                       end: str) -> None:
    """GET /stats (rollup and partial days) equals the statement over patrol_points alone,
    per micro-grid of COMMUNITY and per street of the region."""
    citus = conn.execute(f"SELECT {CITUS}").fetchone()[0]
    t0, t1 = datetime.fromisoformat(start), datetime.fromisoformat(end)
    for level, parent, params in (
            ("micro_grid", ("community", world.id(COMMUNITY)), {"area": COMMUNITY}),
            ("street", None, {})):
        got = client.get("/stats", params={"level": level, "start": start, "end": end,
                                           **params}, headers=headers)
        assert got.status_code == 200, got.text
        sql, args = stats.stats_sql(None, level, t0, t1, parent, rollup=False,
                                    distributed=citus)
        areas, total = stats.shape(conn.execute(sql, args).fetchall())
        assert [a["patrol"] for a in got.json()["areas"]] == [a["patrol"] for a in areas]
        assert got.json()["total"]["patrol"] == total["patrol"]


@pytest.fixture(scope="module")
def walked(client, make_token, world: World) -> dict:
    """A worker of COMMUNITY patrols February 2027: one batch over three micro-grids and three
    days (a point a second before and one after midnight UTC), then a second batch adding
    points to days and micro-grids already visited."""
    me = bearer(make_token("worker", [("community", world.id(COMMUNITY))]))
    pid = upload(client, world, me, "2027-02-01T23:00:00Z", [
        (M1, "2027-02-01T23:59:30Z"), (M2, "2027-02-02T00:00:30Z"),
        (M3, "2027-02-02T10:00:00Z"), (M1, "2027-02-03T10:00:00Z")])
    add(client, world, me, pid, [(M1, "2027-02-03T10:05:00Z"), (M3, "2027-02-02T10:01:00Z")])
    return {"patrol": pid, "worker": me}


def test_the_visits_count_every_uploaded_point(walked, conn, world: World) -> None:
    rolled = rolled_equals_direct(conn, "2027-02-01", "2027-02-04")
    street = world.id(STREET)
    assert [(d.isoformat(), m, s, n) for d, m, s, n in rolled] == [
        ("2027-02-01", world.id(M1), street, 1), ("2027-02-02", world.id(M2), street, 1),
        ("2027-02-02", world.id(M3), street, 2), ("2027-02-03", world.id(M1), street, 2)]


@pytest.mark.parametrize(("start", "end", "expected"), [
    # whole days only
    ("2027-02-01T00:00:00+00:00", "2027-02-04T00:00:00+00:00", (1, 1, 1, 0)),
    ("2027-02-02T00:00:00+00:00", "2027-02-03T00:00:00+00:00", (0, 1, 1, 0)),
    # no whole day: patrol_points alone
    ("2027-02-01T12:00:00+00:00", "2027-02-02T00:00:10+00:00", (1, 0, 0, 0)),
    ("2027-02-02T00:00:31+00:00", "2027-02-03T10:02:00+00:00", (1, 0, 1, 0)),
    # a whole day with partial days at either end
    ("2027-02-01T23:59:00+00:00", "2027-02-03T09:00:00+00:00", (1, 1, 1, 0)),
    ("2027-02-01T23:59:31+00:00", "2027-02-03T09:00:00+00:00", (0, 1, 1, 0)),
    ("2027-02-01T23:59:31+00:00", "2027-02-03T10:00:01+00:00", (1, 1, 1, 0)),
])
def test_the_patrol_rate_from_the_visits_equals_the_points(walked, client, conn, world: World,
                                                           admin_headers, start: str, end: str,
                                                           expected: tuple) -> None:
    got = patrolled(client, admin_headers, start, end)
    assert tuple(got[m] for m in (M1, M2, M3, M4)) == expected
    assert_same_as_raw(client, conn, admin_headers, world, start, end)


def test_moved_and_deleted_points_leave_the_visits_exact(client, make_token, conn,
                                                         world: World, admin_headers) -> None:
    """One node: the triggers follow an UPDATE and a DELETE of points; Citus: points changed
    outside the application are followed by wangge_patrol_visits_rebuild() (docs/scale.md)."""
    me = bearer(make_token("worker", [("community", world.id(COMMUNITY))]))
    pid = upload(client, world, me, "2027-03-01T08:00:00Z", [
        (M1, "2027-03-01T08:00:00Z"), (M2, "2027-03-01T08:10:00Z"),
        (M2, "2027-03-01T08:20:00Z"), (M3, "2027-03-02T08:00:00Z")])
    day = ("2027-03-01T00:00:00+00:00", "2027-03-03T00:00:00+00:00")
    assert tuple(patrolled(client, admin_headers, *day)[m] for m in (M1, M2, M3, M4)) == (
        1, 1, 1, 0)
    conn.execute("UPDATE patrol_points SET micro_grid_id = %s WHERE patrol_id = %s "
                 "AND micro_grid_id = %s AND t = '2027-03-01T08:10:00Z'",
                 (world.id(M4), pid, world.id(M2)))
    conn.execute(REBUILD_IF_CITUS_SQL)
    rolled_equals_direct(conn, "2027-03-01", "2027-03-03")
    assert tuple(patrolled(client, admin_headers, *day)[m] for m in (M1, M2, M3, M4)) == (
        1, 1, 1, 1)
    conn.execute("DELETE FROM patrol_points WHERE patrol_id = %s AND micro_grid_id = ANY(%s)",
                 (pid, [world.id(M2), world.id(M3)]))
    conn.execute(REBUILD_IF_CITUS_SQL)
    rolled = rolled_equals_direct(conn, "2027-03-01", "2027-03-03")
    assert {m for _, m, _, _ in rolled} == {world.id(M1), world.id(M4)}
    assert tuple(patrolled(client, admin_headers, *day)[m] for m in (M1, M2, M3, M4)) == (
        1, 0, 0, 1)
    assert_same_as_raw(client, conn, admin_headers, world, *day)


def _task_counts(conn: psycopg.Connection, sql: str, params: dict) -> list[int]:
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (COSTS OFF) " + sql, params))
    return [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]


@pytest.mark.citus_only
def test_on_citus_a_streets_statistics_reach_only_its_shards(walked, conn, make_token,
                                                             world: World) -> None:
    """EXPLAIN of GET /stats's statements: a street's figures (an admin's, per community) and
    a street commander's (per street, the rollup path) are routed to the street's shards;
    with the patrol rate read from patrol_points every shard of the points is read, and
    without the recorded streets every shard of the incidents."""
    assert on_citus(conn)
    shards, incident_shards = (conn.execute(
        "SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = %s::regclass", (table,)
    ).fetchone()[0] for table in ("patrol_points", "incidents"))
    street = world.id(STREET)
    start, end = datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)
    sql, params = stats.stats_sql(None, "community", start, end, ("street", street),
                                  distributed=True)
    assert max(_task_counts(conn, sql, params)) == 1
    sql, params = stats.stats_sql(None, "community", start, end, ("street", street),
                                  rollup=False, distributed=True)
    assert max(_task_counts(conn, sql, params)) == shards

    make_token("commander", [("street", street)], username="visits_street_commander")
    account = conn.execute("SELECT id FROM accounts WHERE username = "
                           "'visits_street_commander'").fetchone()[0]
    scope = expand_scope(conn, account)
    assert scope.street == (street,)
    principal = Principal(account, "c", "commander", scope=scope)
    streets = tuple(conn.execute(SCOPE_STREETS_SQL, scope.params()).fetchone()[0])
    wanted = conn.execute(
        "SELECT count(DISTINCT get_shard_id_for_distribution_column('incidents', s)) "
        "FROM unnest(%s::bigint[]) s", (list(streets),)).fetchone()[0]
    sql, params = stats.stats_sql(principal, "street", start, end, distributed=True,
                                  streets=streets)
    assert max(_task_counts(conn, sql, params)) == wanted < incident_shards
    sql, params = stats.stats_sql(principal, "street", start, end, distributed=True)
    assert max(_task_counts(conn, sql, params)) == incident_shards
