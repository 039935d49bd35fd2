"""Statistics equal values computed by hand on a small fixture (rollup and raw paths alike)."""

from __future__ import annotations

from datetime import datetime

import psycopg
import pytest

from gis import stats
from gis.cluster import CITUS
from gis.database import libpq_url
from gis.patrol_visits import REBUILD_IF_CITUS_SQL as VISITS_REBUILD_SQL
from gis.routing import REBUILD_SQL as ROUTE_REBUILD_SQL
from gis.scope import Principal, expand_scope
from tests.test_incidents_fixture import COUNTY, World, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

A = f"{COUNTY}001001001001"  # street 1 / community 001
B = f"{COUNTY}002002002002"  # street 2 / community 002
PERIOD = {"start": "2025-03-01T00:00:00Z", "end": "2025-03-04T12:00:00Z"}
H = 3600

# (micro-grid, category, reported, due hours, status, resolved, closed, satisfaction)
ROWS = [
    (A, "garbage", "2025-03-01 08:00", 24, "closed", "2025-03-01 20:00", "2025-03-02 08:00", 5),
    (A, "noise", "2025-03-02 10:00", 12, "closed", "2025-03-03 10:00", "2025-03-03 12:00", 3),
    (A, "garbage", "2025-03-03 00:00", 24, "in_progress", None, None, None),
    (A, "noise", "2025-03-04 06:00", 12, "rejected", None, None, None),
    (A, "garbage", "2025-03-04 10:00", 24, "resolved", "2025-03-04 11:00", None, None),
    (B, "road_damage", "2025-03-01 12:00", 72, "closed", "2025-03-02 12:00", "2025-03-05 12:00",
     None),  # closed after 96 h
    (B, "petition", "2025-03-02 12:00", 168, "accepted", None, None, None),
    (B, "road_damage", "2025-02-28 23:00", 72, "closed", "2025-03-01 01:00", "2025-03-01 02:00",
     1),  # before the period
    (A, "garbage", "2025-03-04 12:00", 24, "reported", None, None, None),  # at the (open) end
]


@pytest.fixture(scope="module")
def cases(db_url: str, world: World) -> World:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn, conn.transaction():
        for i, (mg, cat, rep, due, status, res, clo, sat) in enumerate(ROWS):
            lon, lat = world.centers[mg]
            conn.execute(
                "INSERT INTO incidents (code, category, title, geom, reported_at, source, status,"
                " due_at, resolved_at, closed_at, satisfaction, street_id, community_id,"
                " grid_id, micro_grid_id) VALUES (%s, %s, 't', ST_SetSRID(ST_MakePoint(%s, %s),"
                " 4326), %s::timestamptz, 'hotline', %s, %s::timestamptz + make_interval("
                "hours => %s), %s, %s, %s, %s, %s, %s, %s)",
                (f"STATS{i}", cat, lon, lat, rep + "Z", status, rep + "Z", due,
                 res and res + "Z", clo and clo + "Z", sat, world.id(mg[:9]), world.id(mg[:12]),
                 world.id(mg[:15]), world.id(mg)))
        worker = conn.execute("INSERT INTO workers (name) VALUES ('stats-walker') RETURNING id"
                              ).fetchone()[0]
        conn.execute("INSERT INTO assignments (worker_id, level, area_id, role, starts_on) "
                     "VALUES (%s, 'grid', %s, 'full_time', '2025-01-01')",
                     (worker, world.id(A[:15])))
        patrol = conn.execute("INSERT INTO patrols (worker_id, started_at) VALUES "
                              "(%s, '2025-03-02 09:00Z') RETURNING id", (worker,)).fetchone()[0]
        lon, lat = world.centers[A]
        conn.execute("INSERT INTO patrol_points (patrol_id, t, geom, micro_grid_id, grid_id,"
                     " community_id, street_id) VALUES (%s, '2025-03-02 09:10Z',"
                     " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s)",
                     (patrol, lon, lat, world.id(A), world.id(A[:15]), world.id(A[:12]),
                      world.id(A[:9])))
        # a writer outside the API: the routes and the visits (on Citus no trigger keeps them)
        conn.execute(ROUTE_REBUILD_SQL)
        conn.execute(VISITS_REBUILD_SQL)
    return world


EXPECTED_1 = {"total": 5, "by_status": {"closed": 2, "in_progress": 1, "rejected": 1,
                                        "resolved": 1},
              "by_category": {"garbage": 3, "noise": 2}, "accepted": 4, "disposed": 3,
              "disposal_rate": 0.75, "on_time_rate": 0.666667, "closed": 2,
              "mean_close_hours": 25.0, "overdue": 1,
              "satisfaction": {"count": 2, "mean": 4.0},
              "patrol": {"assigned": 2, "patrolled": 1, "rate": 0.5}}
EXPECTED_2 = {"total": 2, "by_status": {"closed": 1, "accepted": 1},
              "by_category": {"road_damage": 1, "petition": 1}, "accepted": 2, "disposed": 1,
              "disposal_rate": 0.5, "on_time_rate": 1.0, "closed": 1, "mean_close_hours": 96.0,
              "overdue": 1, "satisfaction": {"count": 0, "mean": None},
              "patrol": {"assigned": 0, "patrolled": 0, "rate": None}}
P90 = {1: 26.0, 2: 96.0}


def check(report: dict, expected: dict, p90: float) -> None:
    assert {k: report[k] for k in expected} == expected
    assert report["p90_close_hours"] == pytest.approx(p90, rel=0.025)


@pytest.mark.parametrize("level, codes", [
    ("street", (A[:9], B[:9])),  # the rollup for whole days + incidents for the partial day
    ("community", (A[:12], B[:12])),  # incidents through the area indexes
])
def test_stats_equal_hand_computed_values(client, admin_headers, cases, level, codes) -> None:
    r = client.get("/stats", params={"level": level, **PERIOD}, headers=admin_headers)
    assert r.status_code == 200, r.text
    by_code = {a["code"]: a for a in r.json()["areas"]}
    check(by_code[codes[0]], EXPECTED_1, P90[1])
    check(by_code[codes[1]], EXPECTED_2, P90[2])
    total = r.json()["total"]
    assert {k: total[k] for k in ("total", "accepted", "disposed", "closed", "overdue")} == {
        "total": 7, "accepted": 6, "disposed": 4, "closed": 3, "overdue": 2}
    assert total["disposal_rate"] == 0.666667 and total["on_time_rate"] == 0.75
    assert total["mean_close_hours"] == pytest.approx((24 + 26 + 96) / 3, abs=1e-4)
    assert total["p90_close_hours"] == pytest.approx(96, rel=0.025)
    assert total["satisfaction"] == {"count": 2, "mean": 4.0}


def test_stats_under_an_area_and_for_a_scoped_worker(client, admin_headers, make_token,
                                                     cases) -> None:
    r = client.get("/stats", params={"level": "micro_grid", "area": A[:9], **PERIOD},
                   headers=admin_headers).json()
    assert {a["code"][:9] for a in r["areas"]} == {A[:9]} and len(r["areas"]) == 8
    mg_expected = EXPECTED_1 | {"patrol": {"assigned": 1, "patrolled": 1, "rate": 1.0}}
    check(next(a for a in r["areas"] if a["code"] == A), mg_expected, P90[1])
    token = make_token("worker", [("grid", cases.id(B[:15]))])
    mine = client.get("/stats", params={"level": "micro_grid", **PERIOD},
                      headers=bearer(token)).json()
    assert {a["code"] for a in mine["areas"]} == {B[:15] + "001", B}
    assert mine["total"]["total"] == 2 and mine["total"]["overdue"] == 1
    streets = client.get("/stats", params={"level": "street", **PERIOD},
                         headers=bearer(token)).json()
    assert streets["areas"] == [] and streets["total"]["total"] == 2


def test_rollup_stays_exact_through_updates_and_deletes(conn, cases) -> None:
    query = """
    SELECT street_id, category, status, n, n_on_time, n_closed, round(close_s), n_sat, sat_sum
    FROM ({}) x WHERE n <> 0 ORDER BY 1, 2, 3"""
    # times as values: Citus runs no stable function (timestamptz + interval) of a column in
    # an UPDATE
    conn.execute("UPDATE incidents SET status = 'resolved', resolved_at = '2025-03-03 00:00Z' "
                 "WHERE code = 'STATS2'")
    try:
        conn.execute("UPDATE incidents SET status = 'closed', closed_at = '2025-03-04 16:00Z' "
                     "WHERE code = 'STATS4'")
        rolled = conn.execute(query.format(
            "SELECT street_id, category, status, sum(n) n, sum(n_on_time) n_on_time, "
            "sum(n_closed) n_closed, sum(close_s) close_s, sum(n_sat) n_sat, "
            "sum(sat_sum) sat_sum FROM incident_rollup GROUP BY 1, 2, 3")).fetchall()
        direct = conn.execute(query.format(
            "SELECT coalesce(street_id, 0) street_id, category, status, count(*) n, "
            "count(*) FILTER (WHERE resolved_at <= due_at) n_on_time, "
            "count(*) FILTER (WHERE status = 'closed') n_closed, "
            "coalesce(sum(extract(epoch FROM closed_at - reported_at)) FILTER "
            "(WHERE status = 'closed'), 0) close_s, count(satisfaction) n_sat, "
            "coalesce(sum(satisfaction), 0) sat_sum FROM incidents GROUP BY 1, 2, 3")
        ).fetchall()
        assert rolled == direct
    finally:  # the module's other tests count the fixture as it was
        conn.execute("UPDATE incidents SET status = 'in_progress', resolved_at = NULL "
                     "WHERE code = 'STATS2'")
        conn.execute("UPDATE incidents SET status = 'resolved', closed_at = NULL "
                     "WHERE code = 'STATS4'")


def test_bad_stats_requests_are_400(client, admin_headers) -> None:
    assert client.get("/stats?level=county", headers=admin_headers).status_code == 400
    assert client.get("/stats?area=123", headers=admin_headers).status_code == 400
    r = client.get("/stats", params={"start": "2025-03-02T00:00:00Z",
                                     "end": "2025-03-01T00:00:00Z"}, headers=admin_headers)
    assert r.status_code == 400


def test_density_counts_cells_in_scope(client, admin_headers, cases) -> None:
    r = client.get("/stats/density", params={
        "bbox": "108.8,34.1,109.0,34.3", "zoom": 12, **PERIOD}, headers=admin_headers)
    assert r.status_code == 200, r.text
    cells = r.json()["features"]
    assert sum(f["properties"]["count"] for f in cells) == 7
    assert len(cells) == 2


def raw_report(conn, username: str, categories: list[str] | None) -> dict:
    """GET /stats?level=street's answer computed from incidents only (no rollup)."""
    account = conn.execute("SELECT id FROM accounts WHERE username = %s", (username,)
                           ).fetchone()[0]
    principal = Principal(account, username, "commander", scope=expand_scope(conn, account))
    start, end = (datetime.fromisoformat(PERIOD[k].replace("Z", "+00:00"))
                  for k in ("start", "end"))
    citus = conn.execute(f"SELECT {CITUS}").fetchone()[0]
    sql, params = stats.stats_sql(principal, "street", start, end, rollup=False,
                                  categories=categories, distributed=citus)
    areas, total = stats.shape(conn.execute(sql, params).fetchall())
    return {"areas": areas, "total": total}


@pytest.mark.parametrize("categories", [None, ["garbage", "road_damage"]])
def test_scoped_street_stats_equal_the_raw_count(client, conn, make_token, cases,
                                                 categories) -> None:
    # street 1 whole, and one community of street 2: street 2's incidents there count in the
    # total (by their community) though their street is outside the scope
    name = f"scoped_cmd_{len(categories or [])}"
    token = make_token("commander", [("street", cases.id(A[:9])),
                                     ("community", cases.id(B[:12]))], username=name)
    params = {"level": "street", **PERIOD} | ({"category": categories} if categories else {})
    r = client.get("/stats", params=params, headers=bearer(token))
    assert r.status_code == 200, r.text
    got = r.json()
    assert [a["code"] for a in got["areas"]] == [A[:9]]
    if categories is None:
        check(got["areas"][0], EXPECTED_1, P90[1])
        assert got["total"]["total"] == 7 and got["total"]["overdue"] == 2
        assert got["total"]["by_category"] == {"garbage": 3, "noise": 2, "road_damage": 1,
                                               "petition": 1}
        assert got["total"]["mean_close_hours"] == pytest.approx((24 + 26 + 96) / 3, abs=1e-4)
    else:
        assert got["total"]["by_category"] == {"garbage": 3, "road_damage": 1}
    expected = raw_report(conn, name, categories)
    assert got["areas"] == expected["areas"] and got["total"] == expected["total"]


def test_a_scope_of_communities_only_reads_incidents(client, make_token,
                                                   cases) -> None:
    # no street in the scope: no rollup, and the empty street list adds no term
    token = make_token("commander", [("community", cases.id(B[:12]))])
    got = client.get("/stats", params={"level": "street", **PERIOD},
                     headers=bearer(token)).json()
    assert got["areas"] == [] and got["total"]["total"] == 2
    assert got["total"]["by_status"] == {"closed": 1, "accepted": 1}
