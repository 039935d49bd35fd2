"""Request limits and security headers that every endpoint shares."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from pyproj import Transformer

from api.ogc.params import BBox
from tests.conftest import with_settings


def test_oversized_body_is_413_before_reaching_any_handler(client) -> None:
    limit = client.app.state.settings.max_body_bytes
    response = client.post("/auth/token", content=b"x" * (limit + 1),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert str(limit) in response.json()["detail"]


def test_streamed_oversized_body_is_413(live_server: str, client, admin_headers) -> None:
    """A chunked body with no Content-Length is cut off at the limit too."""
    limit = client.app.state.settings.max_body_bytes

    def chunks():
        yield b'{"incidents": ['
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536
        yield b"]}"

    response = httpx.post(f"{live_server}/incidents/batch", content=chunks(), timeout=30,
                          headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


def test_security_headers_on_every_response(client) -> None:
    response = client.get("/openapi.json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_cors_is_closed_by_default(client) -> None:
    response = client.options("/auth/token", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers


# a bbox over about 30 x 30 km of Beijing (some 900 km²), and a block of about 1 km²
WIDE_BBOX = "116.2,39.8,116.55,40.07"
BLOCK_BBOX = "116.40,39.90,116.412,39.909"


def test_wide_bbox_on_a_detail_collection_is_a_clear_400(client, admin_headers) -> None:
    limit = client.app.state.settings.max_bbox_km2
    for cid in ("buildings", "micro-grids", "incidents", "patrol-points"):
        response = client.get(f"/collections/{cid}/items", params={"bbox": WIDE_BBOX},
                              headers=admin_headers)
        assert response.status_code == 400, cid
        assert response.headers["content-type"].startswith("application/problem+json")
        detail = response.json()["detail"]
        assert f"{limit:g} km² limit" in detail and "WANGGE_MAX_BBOX_KM2" in detail


def test_wide_bbox_in_web_mercator_is_limited_too(client, admin_headers) -> None:
    crs = "http://www.opengis.net/def/crs/EPSG/0/3857"
    bbox = "12934000,4838000,12974000,4878000"  # 40 x 40 km of projected metres near Beijing
    response = client.get("/collections/buildings/items", headers=admin_headers,
                          params={"bbox": bbox, "bbox-crs": crs})
    assert response.status_code == 400
    assert "km²" in response.json()["detail"]


def test_small_bboxes_and_coarse_collections_are_not_limited(client, admin_headers) -> None:
    assert client.get("/collections/buildings/items", params={"bbox": BLOCK_BBOX},
                      headers=admin_headers).status_code == 200
    for cid in ("streets", "communities", "grids"):  # a few hundred polygons per district
        assert client.get(f"/collections/{cid}/items", params={"bbox": WIDE_BBOX},
                          headers=admin_headers).status_code == 200
    # paging a whole collection without a bbox stays possible (GIS clients do it)
    assert client.get("/collections/buildings/items", headers=admin_headers).status_code == 200


def test_bbox_limit_is_configurable(client, admin_headers) -> None:
    with with_settings(client, max_bbox_km2=0):
        assert client.get("/collections/buildings/items", params={"bbox": WIDE_BBOX},
                          headers=admin_headers).status_code == 200
    with with_settings(client, max_bbox_km2=0.5):
        response = client.get("/collections/buildings/items", params={"bbox": BLOCK_BBOX},
                              headers=admin_headers)
    assert response.status_code == 400 and "over the 0.5 km² limit" in response.json()["detail"]


def test_batch_size_limits_are_configurable(client, admin_headers) -> None:
    report = {"category": "sanitation", "title": "t", "lon": 116.4, "lat": 39.9}
    with with_settings(client, max_batch=2):
        response = client.post("/incidents/batch", json={"incidents": [report] * 3},
                               headers=admin_headers)
    assert response.status_code == 422
    assert "at most 2 incidents" in response.json()["detail"]


@examples(max_examples=200, deadline=None)
@given(lon=st.floats(-179, 178), lat=st.floats(-80, 79), w=st.floats(1e-4, 1),
       h=st.floats(1e-4, 1))
def test_bbox_area_is_the_same_in_both_crs(lon: float, lat: float, w: float, h: float) -> None:
    """A bbox measures the same whether given in CRS84 or projected to Web Mercator."""
    geographic = BBox(lon, lat, lon + w, lat + h, 4326)
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    (x1, x2), (y1, y2) = to_merc.transform([lon, lon + w], [lat, lat + h])
    projected = BBox(x1, y1, x2, y2, 3857)
    assert projected.area_km2() == pytest.approx(geographic.area_km2(), rel=1e-6)
    # and it is the spherical area: width x height near the equator
    if abs(lat) < 1 and h < 0.01:
        assert geographic.area_km2() == pytest.approx(111.32 * w * 111.32 * h, rel=2e-2)
