"""The access matrix: each role against each data endpoint, OGC items and tiles included.

A worker of one grid must see nothing outside it by any path, even with a bbox or a tile that
reaches over the whole district; a street commander sees that street; admin sees everything.
"""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

from tests.test_incidents_fixture import COUNTY, STEP, X0, Y0, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

GRID = f"{COUNTY}002001002"  # the worker's grid (street 2)
STREET = f"{COUNTY}001"  # the commander's street
BBOX = f"{X0 - 0.01},{Y0 - 0.01},{X0 + 2 * STEP + 0.01},{Y0 + STEP + 0.01}"
PERIOD = {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}  # at most a year


@pytest.fixture(scope="module")
def setup(client, make_token, world, admin_headers):
    tokens = {"admin": admin_headers,
              "planner": bearer(make_token("planner")),
              "commander": bearer(make_token("commander", [("street", world.id(STREET))])),
              "worker": bearer(make_token("worker", [("grid", world.id(GRID))]))}
    other = bearer(make_token("worker", [("street", world.id(STREET))]))
    incidents = {}
    for code in world.centers:
        lon, lat = world.centers[code]
        r = client.post("/incidents", headers=admin_headers, json={
            "lon": lon, "lat": lat, "category": "garbage", "title": "access",
            "reported_at": "2026-06-01T00:00:00Z"})
        incidents[code] = r.json()["id"]
    for headers, code in ((tokens["worker"], GRID + "001"), (other, STREET + "001001001")):
        pid = client.post("/patrols", headers=headers).json()["id"]
        lon, lat = world.centers[code]
        r = client.post(f"/patrols/{pid}/points", headers=headers, json={"points": [
            {"t": "2026-06-01T08:00:00Z", "lon": lon, "lat": lat}]})
        assert r.status_code == 200, r.text
    return tokens, incidents


def in_scope(world, role: str) -> set[str]:
    """The micro-grid codes each role may see."""
    codes = set(world.centers)
    return {"admin": codes, "planner": codes,
            "commander": {c for c in codes if c.startswith(STREET)},
            "worker": {c for c in codes if c.startswith(GRID)}}.get(role, set())


OPEN = ["/", "/conformance", "/openapi.json"]
DATA = ["/collections/micro-grids/items", "/collections/incidents/items",
        "/collections/patrol-points/items", "/incidents", "/stats", "/stats/density?zoom=12&bbox="
        + BBOX, "/patrols/coverage", "/tiles/incidents/14/13147/6558.pbf",
        "/incidents/categories"]
WRITES = [("POST", "/incidents"), ("POST", "/incidents/batch"), ("POST", "/patrols"),
          ("POST", "/patrols/1/points"), ("POST", "/patrols/1/end"),
          ("POST", "/incidents/1/transitions"), ("POST", "/plans")]


def test_open_pages_need_no_token_and_data_does(client) -> None:
    for path in OPEN:
        assert client.get(path).status_code == 200, path
    for path in DATA:
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
    for method, path in WRITES:
        assert client.request(method, path, json={}).status_code == 401, path


def test_forged_and_expired_tokens_are_refused(client, make_token) -> None:
    expired = make_token("admin", minutes=-1)
    token = make_token("admin")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for token in (expired, forged, "not-a-token"):
        r = client.get("/incidents", headers=bearer(token))
        assert r.status_code == 401 and r.headers["content-type"].startswith(
            "application/problem+json")


@pytest.mark.parametrize("role", ["admin", "commander", "worker", "planner"])
def test_incident_endpoints_by_role(client, world, setup, role) -> None:
    tokens, incidents = setup
    headers = tokens[role]
    visible = in_scope(world, role)
    r = client.get("/incidents", params={"limit": 1000, "start": PERIOD["start"]},
                   headers=headers)
    if role == "planner":  # reads, never writes incidents
        lon, lat = world.centers[min(world.centers)]
        assert client.post("/incidents", headers=headers, json={
            "lon": lon, "lat": lat, "category": "noise", "title": "x"}).status_code == 403
    seen = {i["micro_grid_id"] for i in r.json()["items"] if i["title"] == "access"}
    assert seen == {world.id(c) for c in visible}
    for code, iid in incidents.items():
        status = client.get(f"/incidents/{iid}", headers=headers).status_code
        assert status == (200 if code in visible else 404), (role, code)
    rows = client.get("/stats", params={"level": "micro_grid", **PERIOD},
                      headers=headers).json()
    mine = {a["code"] for a in rows["areas"] if a["code"].startswith(COUNTY)}  # other tests'
    assert mine == visible  # areas share the session database
    density = client.get("/stats/density", params={"bbox": BBOX, "zoom": 12, **PERIOD},
                         headers=headers).json()
    assert sum(f["properties"]["count"] for f in density["features"]) >= len(visible)
    if role == "worker":
        assert sum(f["properties"]["count"] for f in density["features"]) == rows["total"][
            "total"]
    cov = client.get("/patrols/coverage", params=PERIOD, headers=headers).json()
    assert {m["code"] for m in cov["micro_grids"]} <= visible


@pytest.mark.parametrize("role", ["admin", "commander", "worker", "planner"])
@pytest.mark.parametrize("collection", ["streets", "communities", "grids", "micro-grids",
                                        "incidents", "patrol-points"])
def test_ogc_items_with_a_bbox_over_the_district(client, world, setup, role,
                                                 collection) -> None:
    tokens, _ = setup
    r = client.get(f"/collections/{collection}/items",
                   params={"bbox": BBOX, "limit": 1000}, headers=tokens[role])
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    visible = in_scope(world, role)
    allowed_ids = {world.id(c) for c in visible}
    if collection == "micro-grids":
        assert {f["properties"]["code"] for f in features if f["properties"]["code"].startswith(
            COUNTY)} == visible
    elif collection in ("incidents", "patrol-points"):
        assert {f["properties"]["micro_grid_id"] for f in features} <= allowed_ids
    elif role == "worker":
        codes = {f["properties"]["code"] for f in features}
        assert codes <= {GRID}, codes
    for f in features[:3]:  # a feature outside the scope is also hidden by id
        assert client.get(f"/collections/{collection}/items/{f['id']}",
                          headers=tokens[role]).status_code == 200
    if role == "worker" and collection == "micro-grids":
        outside = world.id(f"{STREET}001001001")
        assert client.get(f"/collections/{collection}/items/{outside}",
                          headers=tokens[role]).status_code == 404


def _tiles(z: int) -> list[tuple[int, int]]:
    def tile(lon: float, lat: float) -> tuple[int, int]:
        n = 2 ** z
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    (x0, y1), (x1, y0) = tile(X0, Y0), tile(X0 + 2 * STEP, Y0 + STEP)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


@pytest.mark.parametrize("role", ["admin", "planner", "commander", "worker"])
@pytest.mark.parametrize("layer", ["micro-grids", "incidents", "patrol-points"])
def test_tiles_over_the_district_hold_only_what_the_role_may_see(client, world, setup, role,
                                                                 layer) -> None:
    tokens, incidents = setup
    ids: set[int] = set()
    z = 15
    for x, y in _tiles(z):
        r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.pbf", headers=tokens[role])
        assert r.status_code in (200, 204), r.text
        if r.status_code == 200 and r.content:
            decoded = mapbox_vector_tile.decode(r.content)
            for f in decoded.get(layer, {}).get("features", []):
                ids.add(f["id"])
    visible = in_scope(world, role)
    if layer == "micro-grids":
        fixture_ids = {world.id(c) for c in world.centers}
        assert ids & fixture_ids == {world.id(c) for c in visible}
    elif layer == "incidents":
        mine = {incidents[c] for c in visible}
        others = set(incidents.values()) - mine
        assert mine <= ids and not ids & others
    elif role == "worker":
        assert len(ids) == 1  # its own point only, not the street-1 worker's
    else:
        assert ids
