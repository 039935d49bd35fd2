"""The command map's live situation through the API: live positions (last ten minutes, allowed
roles only), unpatrolled micro-grids, staffing gaps and one area's people, cases and rates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401
from tests.test_stats_rates import PERIOD, A, rated_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

STREET2 = f"{COUNTY}002"


def test_live_positions_show_the_last_ten_minutes(client, make_token, admin_headers, world,
                                                  conn) -> None:
    grid = f"{COUNTY}002001001"
    me = bearer(make_token("worker", [("grid", world.id(grid))], username="live_walker"))
    pid = client.post("/patrols", json={}, headers=me).json()["id"]
    lon, lat = world.centers[grid + "001"]
    now = datetime.now(UTC)
    points = [{"t": (now - timedelta(minutes=30)).isoformat(), "lon": lon, "lat": lat},
              {"t": (now - timedelta(minutes=1)).isoformat(), "lon": lon + 0.001, "lat": lat}]
    assert client.post(f"/patrols/{pid}/points", json={"points": points},
                       headers=me).status_code == 200
    live = client.get("/map/live-positions", headers=admin_headers).json()["positions"]
    mine = [p for p in live if p["name"] == "live_walker"]
    assert len(mine) == 1 and abs(mine[0]["lon"] - (lon + 0.001)) < 1e-6
    assert client.get("/map/live-positions", headers=me).status_code == 403
    other = bearer(make_token("commander", [("street", world.id(f"{COUNTY}001"))]))
    names = {p["name"] for p in client.get("/map/live-positions", headers=other).json()[
        "positions"]}
    assert "live_walker" not in names  # the point lies in street 2


def test_unpatrolled_equals_the_micro_grids_without_points(client, admin_headers, make_token,
                                                           world, conn) -> None:
    start, end = "2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z"
    grid = f"{COUNTY}001001001"
    walker = bearer(make_token("worker", [("grid", world.id(grid))],
                               username="unpatrolled_walker"))
    pid = client.post("/patrols", json={"started_at": "2025-06-01T08:00:00Z"},
                      headers=walker).json()["id"]
    lon, lat = world.centers[grid + "002"]
    client.post(f"/patrols/{pid}/points", headers=walker, json={
        "points": [{"t": "2025-06-01T08:05:00Z", "lon": lon, "lat": lat}]})
    fc = client.get("/map/unpatrolled", params={"start": start, "end": end},
                    headers=admin_headers).json()
    shown = {f["properties"]["code"] for f in fc["features"]}
    expected = {c for (c,) in conn.execute(
        "SELECT code FROM micro_grids m WHERE valid_to IS NULL AND m.id NOT IN (SELECT "
        "p.micro_grid_id FROM patrol_points p WHERE p.micro_grid_id IS NOT NULL "
        "AND p.t >= %s AND p.t < %s)",
        (start, end))}
    assert shown == expected and grid + "002" not in shown and grid + "001" in shown
    west = next(f for f in fc["features"] if f["properties"]["code"] == grid + "001")
    assert {"name": "unpatrolled_walker", "role": "full_time"} in [
        {"name": a["name"], "role": a["role"]} for a in west["properties"]["grid_assignees"]]
    held = {w for (w,) in conn.execute(  # those who hold the micro-grid itself (other tests')
        "SELECT a.worker_id FROM assignments a JOIN micro_grids m ON m.id = a.area_id "
        "WHERE a.level = 'micro_grid' AND m.code = %s AND a.starts_on <= current_date "
        "AND (a.ends_on IS NULL OR a.ends_on > current_date)", (grid + "001",))}
    assert {a["worker_id"] for a in west["properties"]["assignees"]} == held
    assert west["geometry"]["type"] == "MultiPolygon"
    later = client.get("/map/unpatrolled", params={"start": "2025-06-02T00:00:00Z",
                                                   "end": "2025-06-03T00:00:00Z",
                                                   "area": grid}, headers=admin_headers).json()
    east = next(f for f in later["features"] if f["properties"]["code"] == grid + "002")
    assert east["properties"]["last_patrol"].startswith("2025-06-01T08:05")
    assert {f["properties"]["code"][:15] for f in later["features"]} == {grid}


LEADERLESS_SQL = """
SELECT m.code FROM micro_grids m WHERE m.valid_to IS NULL AND NOT EXISTS (
  SELECT 1 FROM assignments a WHERE a.level = 'micro_grid' AND a.area_id = m.id
    AND a.role = 'micro_grid_leader' AND a.starts_on <= current_date
    AND (a.ends_on IS NULL OR a.ends_on > current_date))"""


def test_staffing_gaps(client, admin_headers, make_token, world, conn) -> None:
    # a grid of this world with no full-time worker yet (other tests staff some of them)
    grid = conn.execute(
        "SELECT g.code FROM grids g WHERE g.valid_to IS NULL AND g.code LIKE %s AND NOT EXISTS ("
        "SELECT 1 FROM assignments a WHERE a.level = 'grid' AND a.area_id = g.id AND a.role = "
        "'full_time' AND (a.ends_on IS NULL OR a.ends_on > current_date)) ORDER BY g.code DESC "
        "LIMIT 1", (f"{COUNTY}%",)).fetchone()[0]
    before = client.get("/map/staffing", headers=admin_headers).json()
    assert grid in {f["id"] for f in before["grids_without_full_time"]}
    worker = conn.execute("INSERT INTO workers (name) VALUES ('staff-one') RETURNING id"
                          ).fetchone()[0]
    idle = conn.execute("INSERT INTO workers (name) VALUES ('staff-idle') RETURNING id"
                        ).fetchone()[0]
    soon = date.today() + timedelta(days=3)
    conn.execute("INSERT INTO assignments (worker_id, level, area_id, role, starts_on, ends_on) "
                 "VALUES (%s, 'grid', %s, 'full_time', current_date - 10, %s), "
                 "(%s, 'micro_grid', %s, 'micro_grid_leader', current_date - 10, NULL)",
                 (worker, world.id(grid), soon, worker, world.id(grid + "001")))
    after = client.get("/map/staffing", headers=admin_headers).json()
    assert grid not in {f["id"] for f in after["grids_without_full_time"]}
    leaderless = {f["id"] for f in after["micro_grids_without_leader"]}
    assert grid + "001" not in leaderless
    assert leaderless == {c for (c,) in conn.execute(LEADERLESS_SQL)}
    ending = [a for a in after["ending_soon"] if a["worker_id"] == worker]
    assert [(a["code"], a["ends_on"]) for a in ending] == [(grid, soon.isoformat())]
    idle_ids = {w["worker_id"] for w in after["workers_without_area"]}
    assert idle in idle_ids and worker not in idle_ids
    scoped = bearer(make_token("commander", [("street", world.id(f"{COUNTY}001"))]))
    mine = client.get("/map/staffing", headers=scoped).json()
    assert all(f["id"].startswith(f"{COUNTY}001") for f in mine["grids_without_full_time"])
    assert mine["workers_without_area"] == []
    assert client.get("/map/staffing", headers=bearer(make_token("planner"))).status_code == 403


def test_an_areas_people_cases_and_rates(client, admin_headers, rated, conn) -> None:
    lon, lat = rated.centers[A]
    at = client.get("/map/areas-at", params={"lon": lon, "lat": lat},
                    headers=admin_headers).json()["areas"]
    assert [a["code"] for a in at] == [A[:9], A[:12], A[:15], A]
    info = client.get(f"/map/area/{A[:12]}", params=PERIOD, headers=admin_headers)
    assert info.status_code == 200, info.text
    info = info.json()
    stats = client.get("/stats", params={"level": "community", **PERIOD},
                       headers=admin_headers).json()
    assert info["stats"] == next(a for a in stats["areas"] if a["code"] == A[:12])
    open_codes = {c for (c,) in conn.execute(
        "SELECT code FROM incidents WHERE community_id = %s AND status IN ('reported', "
        "'accepted', 'dispatched', 'in_progress')", (rated.id(A[:12]),))}
    assert {c["code"] for c in info["open_cases"]} == open_codes
    assert info["open_count"] == len(open_codes)
    street = client.get(f"/map/area/{A[:9]}", params=PERIOD, headers=admin_headers).json()
    assert street["stats"]["code"] == A[:9]
    assert client.get("/map/area/123", headers=admin_headers).status_code == 400
    assert client.get(f"/map/area/{COUNTY}009", headers=admin_headers).status_code == 404
