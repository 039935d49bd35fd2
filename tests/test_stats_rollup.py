"""The statistics rollup stays exact through every incident write path, on one node and on Citus
(there kept by triggers on the incidents' shards, migration 0012_citus_rollup): after reports
over several days, a batch over both streets, the workflow, escalation, a resident's rating and
a phone follow-up, the rollup equals the counts from incidents, and GET /stats and
/stats/series read from it give the answers computed from incidents alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gis import stats, stats_series
from gis.cluster import CITUS
from tests.test_incidents_fixture import COUNTY, World, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

# every micro-grid of both streets (2 streets x 2 communities x 2 grids x 2 micro-grids)
MICRO_GRIDS = [f"{COUNTY}{s:03d}{c:03d}{g:03d}{m:03d}" for s in (1, 2) for c in (1, 2)
               for g in (1, 2) for m in (1, 2)]
CATEGORIES = ("garbage", "noise", "road_damage")

# the rollup's counters summed per (day, street, category, status), and the same from incidents
ROLLED = """
SELECT day, street_id, category, status, sum(n), sum(n_on_time), sum(n_closed),
       round(sum(close_s)), sum(n_sat), sum(sat_sum), sum(n_responded), sum(n_sat_good)
FROM incident_rollup GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4"""
DIRECT = """
SELECT (reported_at AT TIME ZONE 'UTC')::date, coalesce(street_id, 0), category, status,
       count(*), count(*) FILTER (WHERE resolved_at <= due_at),
       count(*) FILTER (WHERE status = 'closed'),
       round(coalesce(sum(extract(epoch FROM closed_at - reported_at))
                      FILTER (WHERE status = 'closed'), 0)),
       count(satisfaction), coalesce(sum(satisfaction), 0),
       count(*) FILTER (WHERE accepted_at <= respond_by),
       count(*) FILTER (WHERE satisfaction >= 4)
FROM incidents GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
HIST_ROLLED = """SELECT day, street_id, bin, sum(n) FROM incident_close_hist
GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3"""
HIST_DIRECT = """SELECT (reported_at AT TIME ZONE 'UTC')::date, coalesce(street_id, 0),
       wangge_close_bin(closed_at - reported_at), count(*)
FROM incidents WHERE status = 'closed' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""


def report(client, headers, world: World, code: str, category: str, at: datetime) -> int:
    lon, lat = world.centers[code]
    r = client.post("/incidents", json={"lon": lon, "lat": lat, "category": category,
                                        "title": "rollup", "reported_at": at.isoformat()},
                    headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def act(client, headers, case: int, action: str, **extra) -> None:
    r = client.post(f"/incidents/{case}/transitions", json={"action": action, **extra},
                    headers=headers)
    assert r.status_code == 200, r.text


def assert_rollup_exact(conn) -> None:
    assert conn.execute(ROLLED).fetchall() == conn.execute(DIRECT).fetchall()
    assert conn.execute(HIST_ROLLED).fetchall() == conn.execute(HIST_DIRECT).fetchall()


def test_rollup_stays_exact_through_every_write_path(client, conn, admin_headers,
                                                     world) -> None:
    department = conn.execute(
        "INSERT INTO departments (code, name, kind) VALUES ('rollup-dept', '区城管局', "
        "'urban_management') RETURNING id").fetchone()[0]
    now = datetime.now(UTC).replace(microsecond=0)
    # single reports over four days, then one batch over both streets and every micro-grid
    cases = [report(client, admin_headers, world, MICRO_GRIDS[i % 16], CATEGORIES[i % 3],
                    now - timedelta(days=i % 4, hours=i)) for i in range(12)]
    batch = [{"lon": world.centers[mg][0], "lat": world.centers[mg][1],
              "category": CATEGORIES[i % 3], "title": "batch",
              "reported_at": (now - timedelta(days=i % 3, minutes=i)).isoformat()}
             for i, mg in enumerate(MICRO_GRIDS * 2)]
    r = client.post("/incidents/batch", json={"incidents": batch}, headers=admin_headers)
    assert r.status_code == 201, r.text
    streets = conn.execute("SELECT count(DISTINCT street_id) FROM incidents WHERE title = "
                           "'batch'").fetchone()[0]
    assert streets == 2
    assert_rollup_exact(conn)
    # the workflow: to closed (with a satisfaction), rejected, resolved and sent back
    for case in cases[:6]:
        act(client, admin_headers, case, "accept")
        act(client, admin_headers, case, "dispatch", assignee_department_id=department)
        act(client, admin_headers, case, "start")
        act(client, admin_headers, case, "resolve")
    for case in cases[:3]:
        act(client, admin_headers, case, "verify")
        act(client, admin_headers, case, "close", satisfaction=2 + cases.index(case))
    act(client, admin_headers, cases[5], "send_back", note="again")
    act(client, admin_headers, cases[6], "reject", note="duplicate")
    act(client, admin_headers, cases[7], "accept")
    assert_rollup_exact(conn)
    # escalation (a multi-shard update), a resident's rating and a phone follow-up
    assert client.post("/incidents/escalate", headers=admin_headers).status_code == 200
    act(client, admin_headers, cases[3], "verify")
    act(client, admin_headers, cases[3], "close")
    link = client.post(f"/incidents/{cases[3]}/rating-link", headers=admin_headers)
    assert link.status_code == 201, link.text
    assert client.post(link.json()["path"], json={"score": 5}).status_code == 200
    act(client, admin_headers, cases[4], "verify")
    act(client, admin_headers, cases[4], "close")
    r = client.post(f"/incidents/{cases[4]}/follow-up", json={"score": 4},
                    headers=admin_headers)
    assert r.status_code == 200, r.text
    assert_rollup_exact(conn)
    rated = conn.execute("SELECT count(*) FROM incidents WHERE id = ANY(%s) AND satisfaction "
                         "IS NOT NULL", (cases[:5],)).fetchone()[0]
    assert rated == 5

    # the statistics read from the rollup (whole days) equal those from incidents alone
    day = now.replace(hour=0, minute=0, second=0)
    period = {"start": (day - timedelta(days=5)).isoformat(),
              "end": (day + timedelta(days=1)).isoformat()}
    got = client.get("/stats", params={"level": "street", **period}, headers=admin_headers)
    assert got.status_code == 200, got.text
    citus = conn.execute(f"SELECT {CITUS}").fetchone()[0]
    start, end = day - timedelta(days=5), day + timedelta(days=1)
    sql, params = stats.stats_sql(None, "street", start, end, rollup=False, distributed=citus)
    areas, total = stats.shape(conn.execute(sql, params).fetchall())
    assert got.json()["areas"] == areas and got.json()["total"] == total
    ours = {a["code"]: a for a in areas}
    assert ours[f"{COUNTY}001"]["total"] > 0 and ours[f"{COUNTY}002"]["total"] > 0
    assert total["closed"] >= 5 and total["satisfaction"]["count"] >= 5
    series = client.get("/stats/series", params={"bucket": "day", **period},
                        headers=admin_headers)
    assert series.status_code == 200, series.text
    sql, params = stats_series.series_sql(None, start, end, "day", rollup=False)
    raw = stats_series.shape_series(conn.execute(sql, params).fetchall())
    assert [(s["reports"], s["closures"], s["disposal_rate"], s["satisfaction_rate"])
            for s in series.json()["series"]] == [
        (s["reports"], s["closures"], s["disposal_rate"], s["satisfaction_rate"]) for s in raw]


@pytest.mark.citus_only
def test_on_citus_the_rollup_lives_with_its_streets_incidents(conn) -> None:
    groups = dict(conn.execute(
        "SELECT logicalrelid::text, colocationid FROM pg_dist_partition WHERE logicalrelid = "
        "ANY('{incidents,incident_rollup,incident_close_hist}'::regclass[])").fetchall())
    assert len(groups) == 3 and len(set(groups.values())) == 1
    keys = conn.execute(
        "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition "
        "WHERE logicalrelid = ANY('{incident_rollup,incident_close_hist}'::regclass[])"
    ).fetchall()
    assert keys == [("street_id",), ("street_id",)]
