"""Incident intake: attribution, CRSs, bad input, all-or-nothing batches, idempotent retries."""

from __future__ import annotations

import concurrent.futures as cf

import httpx
import psycopg
import pytest

from gis.crs import gcj02_to_bd09, wgs84_to_gcj02
from gis.database import libpq_url
from tests.test_incidents_fixture import (  # noqa: F401
    COUNTY,
    World,
    bearer,
    serve,
    world_fixture,
)

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MG = f"{COUNTY}001002001002"  # street 1, community 2, grid 1 (north), micro-grid 2


def body(world: World, code: str = MG, **extra) -> dict:
    lon, lat = world.centers[code]
    return {"lon": lon, "lat": lat, "category": "garbage", "title": "垃圾堆放", **extra}


def test_report_is_attributed_to_all_four_levels(client, admin_headers, world) -> None:
    r = client.post("/incidents", json=body(world, reporter="张三", source="hotline"),
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["street_id"], item["community_id"], item["grid_id"], item["micro_grid_id"]) == (
        world.id(MG[:9]), world.id(MG[:12]), world.id(MG[:15]), world.id(MG))
    assert item["status"] == "reported" and item["code"].startswith("E")
    detail = client.get(f"/incidents/{item['id']}", headers=admin_headers).json()
    assert detail["areas"] == {"street": MG[:9], "community": MG[:12], "grid": MG[:15],
                               "micro_grid": MG}
    assert [e["action"] for e in detail["events"]] == ["report"]
    assert detail["allowed_actions"] == ["accept", "reject"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "EPSG:4490", "EPSG:3857"])
def test_report_in_other_crs_lands_in_the_same_micro_grid(client, admin_headers, world,
                                                          crs) -> None:
    lon, lat = world.centers[MG]
    if crs == "gcj02":
        x, y = wgs84_to_gcj02(lon, lat)
    elif crs == "bd09":
        x, y = gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    elif crs == "EPSG:3857":
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    else:
        x, y = lon, lat
    r = client.post("/incidents", headers=admin_headers, json={
        "lon": float(x), "lat": float(y), "crs": crs, "category": "noise", "title": "t"})
    assert r.status_code == 201, r.text
    assert r.json()["micro_grid_id"] == world.id(MG)
    assert abs(r.json()["lon"] - lon) < 1e-6 and abs(r.json()["lat"] - lat) < 1e-6


def test_due_time_follows_the_category(client, admin_headers, world, db_url) -> None:
    item = client.post("/incidents", json=body(world, category="illegal_parking"),
                       headers=admin_headers).json()
    with psycopg.connect(libpq_url(db_url)) as conn:
        hours = conn.execute("SELECT extract(epoch FROM due_at - reported_at) / 3600 "
                             "FROM incidents WHERE id = %s", (item["id"],)).fetchone()[0]
    assert hours == 4


def count(db_url: str) -> int:
    with psycopg.connect(libpq_url(db_url)) as conn:
        return conn.execute("SELECT count(*) FROM incidents").fetchone()[0]


@pytest.mark.parametrize("patch, status, words", [
    ({"category": "aliens"}, 422, "unknown category"),
    ({"lon": 500.0}, 422, "out of range"),
    ({"lat": -91.0}, 422, "out of range"),
    ({"crs": "EPSG:999999"}, 422, "unknown CRS"),
    ({"source": "pigeon"}, 422, "source"),
    ({"title": ""}, 422, "title"),
    ({"lon": 0.5, "lat": 0.5}, 422, "outside every area"),
])
def test_bad_incidents_are_rejected_with_a_clear_problem(client, admin_headers, world, db_url,
                                                         patch, status, words) -> None:
    before = count(db_url)
    r = client.post("/incidents", json=body(world) | patch, headers=admin_headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert words in r.text
    assert count(db_url) == before


def test_nan_coordinates_are_rejected(client, admin_headers, world) -> None:
    text = '{"lon": NaN, "lat": 34.2, "category": "garbage", "title": "x"}'
    r = client.post("/incidents", content=text, headers={
        **admin_headers, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_batch_is_all_or_nothing(client, admin_headers, world, db_url) -> None:
    items = [body(world, code) for code in list(world.centers)[:5]]
    items[3] = items[3] | {"lon": 1.0, "lat": 1.0}
    before = count(db_url)
    r = client.post("/incidents/batch", json={"incidents": items}, headers=admin_headers)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"index": 3, "reason": "the point lies outside every area"}]
    assert count(db_url) == before
    items[3] = body(world)
    r = client.post("/incidents/batch", json={"incidents": items}, headers=admin_headers)
    assert r.status_code == 201 and r.json()["count"] == 5
    codes = list(world.centers)[:5]
    assert [i["micro_grid_id"] for i in r.json()["items"]] == [
        world.id(c) if i != 3 else world.id(MG) for i, c in enumerate(codes)]
    assert count(db_url) == before + 5


def test_batch_over_the_limit_is_rejected(client, admin_headers, world, db_url) -> None:
    before = count(db_url)
    r = client.post("/incidents/batch", json={"incidents": [body(world)] * 1001},
                    headers=admin_headers)
    assert r.status_code == 422 and "at most 1000" in r.text
    assert count(db_url) == before


def test_same_idempotency_key_returns_the_first_result(client, admin_headers, world,
                                                       db_url) -> None:
    headers = {**admin_headers, "Idempotency-Key": "retry-1"}
    first = client.post("/incidents", json=body(world), headers=headers)
    before = count(db_url)
    again = client.post("/incidents", json=body(world), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert count(db_url) == before
    other = client.post("/incidents", json=body(world, title="else"), headers=headers)
    assert other.status_code == 422 and "different request" in other.text


def test_concurrent_retries_store_one_batch(settings, make_token, world, db_url) -> None:
    token = make_token("commander")
    payload = {"incidents": [body(world, c) for c in world.centers]}
    before = count(db_url)
    with serve(settings) as base, httpx.Client(base_url=base, timeout=30) as http:
        def send(_: int) -> httpx.Response:
            return http.post("/incidents/batch", json=payload,
                             headers={**bearer(token), "Idempotency-Key": "storm"})

        with cf.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(16)))
    assert {a.status_code for a in answers} == {201}
    assert len({tuple(i["id"] for i in a.json()["items"]) for a in answers}) == 1
    assert count(db_url) == before + len(world.centers)


def test_worker_reports_only_inside_its_areas(client, make_token, world, db_url) -> None:
    token = make_token("worker", [("grid", world.id(MG[:15]))])
    inside = client.post("/incidents", json=body(world), headers=bearer(token))
    assert inside.status_code == 201
    before = count(db_url)
    other = f"{COUNTY}002001001001"
    outside = client.post("/incidents", json=body(world, other), headers=bearer(token))
    assert outside.status_code == 403 and "outside your areas" in outside.text
    assert count(db_url) == before
    assert client.get(f"/incidents/{inside.json()['id']}", headers=bearer(token)).status_code \
        == 200
    seen = client.get("/incidents?limit=1000", headers=bearer(token)).json()["items"]
    assert seen and {i["grid_id"] for i in seen} == {world.id(MG[:15])}


def test_unknown_status_filter_and_bad_bbox_are_400(client, admin_headers) -> None:
    assert client.get("/incidents?status=lost", headers=admin_headers).status_code == 400
    assert client.get("/incidents?bbox=1,2,3", headers=admin_headers).status_code == 400
