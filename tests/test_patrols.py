"""Patrols: start, upload attributed GPS points (any CRS), end with a track, coverage, scope."""

from __future__ import annotations

import pytest

from gis.crs import wgs84_to_gcj02
from tests.conftest import with_settings
from tests.test_incidents_fixture import COUNTY, STEP, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

GRID = f"{COUNTY}002002001"  # its micro-grids ...001 (west) and ...002 (east)


def test_a_patrol_from_start_to_track_and_coverage(client, make_token, admin_headers,
                                                   world) -> None:
    me = bearer(make_token("worker", [("grid", world.id(GRID))]))
    r = client.post("/patrols", json={"started_at": "2026-01-05T08:00:00Z"}, headers=me)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    (x1, y1), (x2, y2) = world.centers[GRID + "001"], world.centers[GRID + "002"]
    gx, gy = wgs84_to_gcj02(x2, y2)
    points = [{"t": "2026-01-05T08:01:00Z", "lon": x1, "lat": y1, "accuracy": 5},
              {"t": "2026-01-05T08:01:30Z", "lon": x1 + STEP / 40, "lat": y1},
              {"t": "2026-01-05T08:02:00Z", "lon": float(gx), "lat": float(gy), "crs": "gcj02"}]
    r = client.post(f"/patrols/{pid}/points", json={"points": points}, headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 3
    assert r.json()["micro_grids"] == sorted([world.id(GRID + "001"), world.id(GRID + "002")])
    r = client.post(f"/patrols/{pid}/end", json={"ended_at": "2026-01-05T09:00:00Z"},
                    headers=me)
    assert r.status_code == 200
    patrol = r.json()
    assert patrol["track"]["type"] == "LineString" and len(patrol["track"]["coordinates"]) == 3
    assert abs(patrol["track"]["coordinates"][2][0] - x2) < 1e-6
    assert patrol["points"] == 3 and 400 < patrol["length_m"] < 520
    assert client.post(f"/patrols/{pid}/points", json={"points": points},
                       headers=me).status_code == 409
    cov = client.get("/patrols/coverage", params={"start": "2026-01-05T00:00:00Z",
                                                  "end": "2026-01-06T00:00:00Z"},
                     headers=admin_headers).json()["micro_grids"]
    west = next(m for m in cov if m["code"] == GRID + "001")
    assert west["points"] == 2 and west["patrols"] == 1 and len(west["workers"]) == 1
    assert client.get(f"/patrols/{pid}", headers=me).status_code == 200
    stranger = bearer(make_token("worker", [("grid", world.id(f"{COUNTY}001001001"))]))
    assert client.get(f"/patrols/{pid}", headers=stranger).status_code == 404
    assert client.get("/patrols/coverage", params={"start": "2026-01-05T00:00:00Z",
                                                   "end": "2026-01-06T00:00:00Z"},
                      headers=stranger).json()["micro_grids"] == []


def test_points_outside_the_workers_areas_are_refused(client, make_token, world, conn) -> None:
    me = bearer(make_token("worker", [("grid", world.id(GRID))]))
    pid = client.post("/patrols", headers=me).json()["id"]
    inside = world.centers[GRID + "001"]
    outside = world.centers[f"{COUNTY}001001001001"]
    r = client.post(f"/patrols/{pid}/points", headers=me, json={"points": [
        {"t": "2026-01-05T08:01:00Z", "lon": inside[0], "lat": inside[1]},
        {"t": "2026-01-05T08:02:00Z", "lon": outside[0], "lat": outside[1]}]})
    assert r.status_code == 403 and r.json()["errors"] == [
        {"index": 1, "reason": "outside your areas"}]
    assert conn.execute("SELECT count(*) FROM patrol_points WHERE patrol_id = %s",
                        (pid,)).fetchone()[0] == 0
    r = client.post(f"/patrols/{pid}/points", headers=me, json={"points": [
        {"t": "2026-01-05T08:01:00Z", "lon": 500, "lat": inside[1]}]})
    assert r.status_code == 422


def test_only_workers_patrol_and_only_their_own(client, make_token, admin_headers,
                                                world) -> None:
    assert client.post("/patrols", headers=admin_headers).status_code == 403
    me = bearer(make_token("worker", [("grid", world.id(GRID))]))
    pid = client.post("/patrols", headers=me).json()["id"]
    other = bearer(make_token("worker", [("grid", world.id(GRID))]))
    assert client.post(f"/patrols/{pid}/end", headers=other).status_code == 404
    assert client.post("/patrols").status_code == 401


def test_patrol_batch_limit_is_configurable(client, make_token, world, conn) -> None:
    me = bearer(make_token("worker", [("grid", world.id(GRID))]))
    pid = client.post("/patrols", headers=me).json()["id"]
    lon, lat = world.centers[GRID + "001"]
    points = [{"t": f"2026-01-05T08:0{i}:00Z", "lon": lon, "lat": lat} for i in range(3)]
    with with_settings(client, max_patrol_points=2):
        r = client.post(f"/patrols/{pid}/points", headers=me, json={"points": points})
    assert r.status_code == 422 and "at most 2 points" in r.json()["detail"]
    assert conn.execute("SELECT count(*) FROM patrol_points WHERE patrol_id = %s",
                        (pid,)).fetchone()[0] == 0
    r = client.post(f"/patrols/{pid}/points", headers=me, json={"points": points})
    assert r.status_code == 200, r.text
