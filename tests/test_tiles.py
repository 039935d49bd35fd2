"""Vector tiles: decoded features equal the database's, stable bytes, ETags, 304s, scope, errors."""

from __future__ import annotations

import gzip
import math
import time

import mapbox_vector_tile
import psycopg
import pytest

from gis.database import libpq_url
from tests.citus import announce
from tests.test_ogc import X0, Y0, build_layers
from tiles.fastpath import match
from tiles.layers import LAYERS, MARGIN
from tiles.router import CACHE

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def db_ids(conn, table: str, z: int, x: int, y: int, where: str = "TRUE") -> set[int]:
    current = " AND valid_to IS NULL" if table in ("streets", "communities", "grids",
                                                   "micro_grids") else ""
    rows = conn.execute(
        f"SELECT id FROM {table} WHERE ST_Intersects(geom_3857, "
        f"ST_TileEnvelope(%s, %s, %s, margin => {MARGIN})) AND {where}{current}",
        (z, x, y)).fetchall()
    return {r[0] for r in rows}


def decode(content: bytes) -> dict[str, dict]:
    return {name: {f["id"]: f["properties"] for f in layer["features"]}
            for name, layer in mapbox_vector_tile.decode(content).items()}


@pytest.mark.parametrize("z", [14, 15, 16])
def test_combined_tile_matches_the_database(client, admin_headers, conn, layers, z):
    tz, tx, ty = tile_of(X0 + 0.004, Y0 + 0.004, z)
    response = client.get(f"/tiles/all/{tz}/{tx}/{ty}.pbf", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    decoded = decode(response.content)
    for lay in LAYERS.values():
        expected = db_ids(conn, lay.table, tz, tx, ty) if z >= lay.minzoom else set()
        assert set(decoded.get(lay.id, {})) == expected, lay.id
    assert decoded["micro-grids"], "the fixture lies in this tile"
    if z > 14:
        return
    some = next(iter(decoded["incidents"].values()))
    assert {"code", "category", "status", "priority", "overdue"} <= set(some)
    grid = next(iter(decoded["grids"].values()))
    assert {"code", "name", "households", "kind"} <= set(grid)


def test_tile_bytes_are_stable(client, admin_headers, layers):
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 15)
    first = client.get(f"/tiles/all/{z}/{x}/{y}.pbf", headers=admin_headers)
    CACHE.clear()
    second = client.get(f"/tiles/all/{z}/{x}/{y}.pbf", headers=admin_headers)
    assert first.content == second.content and first.content
    assert first.headers["etag"] == second.headers["etag"]


def test_etag_304_and_invalidation_on_edit(client, admin_headers, conn, layers):
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 14)
    url = f"/tiles/grids/{z}/{x}/{y}.pbf"
    first = client.get(url, headers=admin_headers)
    etag = first.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]
    again = client.get(url, headers={**admin_headers, "If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    gid = layers["grids"][0]
    conn.execute("UPDATE grids SET name = '改名网格' WHERE id = %s", (gid,))
    announce(conn, "grids")
    try:
        # The change reaches the API by NOTIFY on its listener connection, a few ms after the
        # commit: a busy machine may answer the very next request from the old counters.
        deadline = time.monotonic() + 5
        while True:
            after = client.get(url, headers={**admin_headers, "If-None-Match": etag})
            if after.status_code != 304 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert after.status_code == 200 and after.headers["etag"] != etag
        assert decode(after.content)["grids"][gid]["name"] == "改名网格"
    finally:
        conn.execute("UPDATE grids SET name = '网格00' WHERE id = %s", (gid,))
        announce(conn, "grids")


def test_gzip_when_asked(client, admin_headers, layers):
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 15)
    url = f"/tiles/all/{z}/{x}/{y}.pbf"
    plain = client.get(url, headers={**admin_headers, "Accept-Encoding": "identity"})
    zipped = client.get(url, headers={**admin_headers, "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # the client inflates it
    raw = client.stream("GET", url, headers={**admin_headers, "Accept-Encoding": "gzip"})
    with raw as response:
        body = b"".join(response.iter_raw())
    assert gzip.decompress(body) == plain.content


def test_empty_tiles_are_204(client, admin_headers, layers):
    assert client.get("/tiles/all/15/0/0.pbf", headers=admin_headers).status_code == 204
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 12)
    assert client.get(f"/tiles/buildings/{z}/{x}/{y}.pbf",
                      headers=admin_headers).status_code == 204  # below the layer's zoom


def test_worker_tile_holds_only_their_area(client, admin_headers, make_token, conn, layers):
    grid_id = layers["grids"][1]  # the south-west grid, inside the tile
    headers = {"Authorization": f"Bearer {make_token('worker', [('grid', grid_id)])}"}
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 14)
    mine = client.get(f"/tiles/all/{z}/{x}/{y}.pbf", headers=headers)
    admin = client.get(f"/tiles/all/{z}/{x}/{y}.pbf", headers=admin_headers)
    assert mine.headers["etag"] != admin.headers["etag"]
    decoded = decode(mine.content)
    assert set(decoded["grids"]) == {grid_id}
    assert set(decoded["micro-grids"]) == db_ids(conn, "micro_grids", z, x, y,
                                                 f"parent_id = {grid_id}")
    assert "streets" not in decoded
    assert {p["code"][:15] for p in decoded["buildings"].values()} == {
        decoded["grids"][grid_id]["code"]}


def test_tilejson_and_ogc_tiles(client, admin_headers, layers):
    doc = client.get("/tiles/grids.json", headers=admin_headers).json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}.pbf")
    assert doc["vector_layers"][0]["id"] == "grids" and doc["minzoom"] == 12
    combined = client.get("/tiles/all.json", headers=admin_headers).json()
    assert {lay["id"] for lay in combined["vector_layers"]} == set(LAYERS)
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert len(tms["tileMatrices"]) == 23
    assert client.get("/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    sets = client.get("/collections/grids/tiles", headers=admin_headers).json()
    assert sets["tilesets"][0]["dataType"] == "vector"
    meta = client.get("/collections/grids/tiles/WebMercatorQuad", headers=admin_headers).json()
    assert any(link["rel"] == "item" for link in meta["links"])
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 14)
    ogc = client.get(f"/collections/grids/tiles/WebMercatorQuad/{z}/{y}/{x}",
                     headers=admin_headers)
    xyz = client.get(f"/tiles/grids/{z}/{x}/{y}.pbf", headers=admin_headers)
    assert ogc.status_code == 200 and ogc.headers["content-type"] == MVT
    assert ogc.content == xyz.content


def test_tiles_need_a_token(client, layers):
    assert client.get("/tiles/all/14/0/0.pbf").status_code == 401
    assert client.get("/tiles/grids.json").status_code == 401


@pytest.mark.parametrize("path,status", [
    ("/tiles/all/23/0/0.pbf", 400), ("/tiles/all/3/8/0.pbf", 400), ("/tiles/all/3/0/-1.pbf", 400),
    ("/tiles/all/a/b/c.pbf", 400), ("/tiles/nope/3/0/0.pbf", 404), ("/tiles/nope.json", 404),
    ("/tiles/all/3/0/0.pbf?x=1", 400), ("/collections/grids/tiles/Other/3/0/0", 404),
    ("/collections/nope/tiles/WebMercatorQuad/3/0/0", 404),
    ("/collections/grids/tiles/WebMercatorQuad/3/0/9", 400),
])
def test_bad_tile_requests_are_problems(client, admin_headers, path, status):
    response = client.get(path, headers=admin_headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_tile_rendered_during_an_uncommitted_write_is_not_cached(client, admin_headers, db_url,
                                                                   layers):
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 14)
    url = f"/tiles/grids/{z}/{x}/{y}.pbf"
    gid = layers["grids"][1]
    CACHE.clear()
    with psycopg.connect(libpq_url(db_url)) as writer:
        writer.execute("UPDATE grids SET name = '进行中' WHERE id = %s", (gid,))
        announce(writer, "grids")
        during = client.get(url, headers=admin_headers)  # the version is bumped, not committed
        assert decode(during.content)["grids"][gid]["name"] != "进行中"
        writer.commit()
    try:
        # the commit's notification moves the version: within moments the tile is re-rendered
        deadline = time.monotonic() + 2
        while True:
            after = client.get(url, headers=admin_headers)
            if decode(after.content)["grids"][gid]["name"] == "进行中" or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert decode(after.content)["grids"][gid]["name"] == "进行中"
        assert after.headers["etag"] != during.headers["etag"]
    finally:
        with psycopg.connect(libpq_url(db_url), autocommit=True) as c:
            c.execute("UPDATE grids SET name = '网格01' WHERE id = %s", (gid,))
            announce(c, "grids")


def test_fast_path_claims_only_tile_urls() -> None:
    assert match("/tiles/grids/14/13490/6208.pbf")[1] == ("grids", "14", "13490", "6208")
    assert match("/collections/grids/tiles/WebMercatorQuad/14/6208/13490")[1] == (
        "grids", "WebMercatorQuad", "14", "6208", "13490")
    for other in ("/tiles/grids.json", "/tiles/grids/14/13490/6208.mvt",
                  "/collections/grids/tiles", "/collections/grids/tiles/WebMercatorQuad",
                  "/collections/grids/items/14/6208/13490/1", "/tileMatrixSets/WebMercatorQuad"):
        assert match(other) is None, other


def test_head_agrees_with_get(client, admin_headers, layers):
    """HEAD answers like GET without the body; errors are the same problem documents."""
    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 15)
    for url in (f"/tiles/all/{z}/{x}/{y}.pbf",
                f"/collections/grids/tiles/WebMercatorQuad/{z}/{y}/{x}"):
        got = client.get(url, headers=admin_headers)
        head = client.head(url, headers=admin_headers)
        assert got.status_code == head.status_code == 200
        assert got.headers["etag"] == head.headers["etag"] and not head.content
        assert got.headers["content-type"] == head.headers["content-type"] == MVT
        assert got.headers["x-content-type-options"] == "nosniff"  # the outer middleware ran
    for url in ("/tiles/nope/15/0/0.pbf", "/tiles/all/15/0/x.pbf", "/tiles/all/99/0/0.pbf"):
        got, head = client.get(url, headers=admin_headers), client.head(url, headers=admin_headers)
        assert got.status_code == head.status_code and got.status_code in (400, 404)
        assert got.headers["content-type"] == "application/problem+json"


def test_configured_cors_covers_tiles(settings, admin_headers, layers):
    """Cross-origin tile requests get CORS headers when WANGGE_CORS_ORIGINS allows the origin."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    z, x, y = tile_of(X0 + 0.004, Y0 + 0.004, 15)
    url = f"/tiles/all/{z}/{x}/{y}.pbf"
    app = create_app(settings.model_copy(update={"cors_origins": ["https://map.example"]}))
    with TestClient(app) as other:
        allowed = other.get(url, headers={**admin_headers, "Origin": "https://map.example"})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://map.example"
        assert allowed.headers["x-content-type-options"] == "nosniff"
        refused = other.get(url, headers={**admin_headers, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in refused.headers
