"""Confinement on every read path: patrols, statistics and the live feed show only what lies
inside the caller's areas, and say nothing about areas outside them."""

from __future__ import annotations

from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

GRID_A = f"{COUNTY}001001001"
GRID_B = f"{COUNTY}001001002"
GRID_C = f"{COUNTY}002002001"


def _patrol_over_a_and_b(client, make_token, world) -> int:
    """A worker of grids A and B walks two points in A, then two in B; returns the patrol id."""
    both = bearer(make_token("worker", [("grid", world.id(GRID_A)), ("grid", world.id(GRID_B))]))
    pid = client.post("/patrols", headers=both).json()["id"]
    points = []
    for i, code in enumerate((GRID_A + "001", GRID_A + "002", GRID_B + "001", GRID_B + "002")):
        lon, lat = world.centers[code]
        points.append({"t": f"2026-02-01T08:0{i}:00Z", "lon": lon, "lat": lat})
    r = client.post(f"/patrols/{pid}/points", json={"points": points}, headers=both)
    assert r.status_code == 200, r.text
    return pid


def test_a_patrol_shows_only_the_points_and_micro_grids_in_your_scope(client, make_token,
                                                                        admin_headers,
                                                                        world) -> None:
    pid = _patrol_over_a_and_b(client, make_token, world)
    whole = client.get(f"/patrols/{pid}", headers=admin_headers).json()
    assert whole["points"] == 4 and len(whole["track"]["coordinates"]) == 4

    only_a = bearer(make_token("worker", [("grid", world.id(GRID_A))]))
    r = client.get(f"/patrols/{pid}", headers=only_a)
    assert r.status_code == 200
    seen = r.json()
    assert seen["points"] == 2
    assert sorted(seen["micro_grids"]) == sorted(world.id(GRID_A + m) for m in ("001", "002"))
    coords = seen["track"]["coordinates"]
    assert [(round(x, 6), round(y, 6)) for x, y in coords] == [
        tuple(round(v, 6) for v in world.centers[GRID_A + m]) for m in ("001", "002")]
    assert 0 < seen["length_m"] < whole["length_m"]

    only_c = bearer(make_token("worker", [("grid", world.id(GRID_C))]))
    assert client.get(f"/patrols/{pid}", headers=only_c).status_code == 404


def test_stats_for_an_area_outside_your_scope_answer_like_an_unknown_code(client, make_token,
                                                                           world) -> None:
    only_a = bearer(make_token("worker", [("grid", world.id(GRID_A))]))
    outside = client.get("/stats", params={"level": "grid", "area": GRID_C[:12]},
                         headers=only_a)
    unknown = client.get("/stats", params={"level": "grid", "area": f"{COUNTY}009009"},
                         headers=only_a)
    assert outside.status_code == unknown.status_code == 404
    assert outside.json()["detail"].replace(GRID_C[:12], "X") == \
        unknown.json()["detail"].replace(f"{COUNTY}009009", "X")
    inside = client.get("/stats", params={"level": "grid", "area": GRID_A[:12]}, headers=only_a)
    assert inside.status_code == 200
    assert [a["code"] for a in inside.json()["areas"]] == [GRID_A]
