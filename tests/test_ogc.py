"""OGC API – Features: documents, paging, filters, scope, bad input, and GDAL's OAPIF driver."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import psycopg
import pytest

from gis.database import libpq_url

COUNTY = "460105"
X0, Y0 = 100.0, 30.0  # the fixture's street is the square X0..X0+0.02, Y0..Y0+0.02
COLLECTIONS = {"streets": "streets", "communities": "communities", "grids": "grids",
               "micro-grids": "micro_grids", "buildings": "buildings",
               "incidents": "incidents", "patrol-points": "patrol_points"}


def _box(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"ST_Multi(ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, 4326))"


def build_layers(conn: psycopg.Connection) -> dict:
    """A street split into 2 communities x 2 grids x 2 micro-grids, with buildings, incidents
    and patrol points (idempotent: reuses the rows when present)."""
    street_code = COUNTY + "001"
    row = conn.execute("SELECT id FROM streets WHERE code = %s", (street_code,)).fetchone()
    if row is None:
        with conn.transaction():
            _insert(conn, street_code)
    ids: dict = {}
    for table in ("streets", "communities", "grids", "micro_grids"):
        ids[table] = [r[0] for r in conn.execute(
            f"SELECT id FROM {table} WHERE code LIKE %s ORDER BY code", (street_code + "%",))]
    return ids


def _insert(conn: psycopg.Connection, street_code: str) -> None:
    sid = conn.execute(
        f"INSERT INTO streets (code, name, parent_code, geom) VALUES (%s, '测试街道', %s, "
        f"{_box(X0, Y0, X0 + 0.02, Y0 + 0.02)}) RETURNING id", (street_code, COUNTY)).fetchone()[0]
    for ci in range(2):
        ccode = f"{street_code}{ci + 1:03d}"
        cx = X0 + ci * 0.01
        cid = conn.execute(
            f"INSERT INTO communities (code, name, parent_id, parent_code, class, geom) "
            f"VALUES (%s, %s, %s, %s, 'A', {_box(cx, Y0, cx + 0.01, Y0 + 0.02)}) RETURNING id",
            (ccode, f"社区{ci}", sid, street_code)).fetchone()[0]
        for gi in range(2):
            gcode = f"{ccode}{gi + 1:03d}"
            gy = Y0 + 0.01 - gi * 0.01
            gid = conn.execute(
                f"INSERT INTO grids (code, name, parent_id, parent_code, geom) VALUES "
                f"(%s, %s, %s, %s, {_box(cx, gy, cx + 0.01, gy + 0.01)}) RETURNING id",
                (gcode, f"网格{ci}{gi}", cid, ccode)).fetchone()[0]
            for mi in range(2):
                mcode = f"{gcode}{mi + 1:03d}"
                mx = cx + mi * 0.005
                mid = conn.execute(
                    f"INSERT INTO micro_grids (code, name, parent_id, parent_code, households,"
                    f" geom) VALUES (%s, %s, %s, %s, 40, "
                    f"{_box(mx, gy, mx + 0.005, gy + 0.01)}) RETURNING id",
                    (mcode, f"微网格{mi}", gid, gcode)).fetchone()[0]
                for bi in range(2):
                    bx, by = mx + 0.001 + bi * 0.002, gy + 0.004
                    conn.execute(
                        "INSERT INTO buildings (code, micro_grid_id, grid_id, households, floors,"
                        " geom) VALUES (%s, %s, %s, 20, 6, "
                        f"ST_MakeEnvelope({bx}, {by}, {bx + 0.001}, {by + 0.001}, 4326))",
                        (f"{mcode}B{bi}", mid, gid))
                for k, status in enumerate(("reported", "in_progress", "closed")):
                    px, py = mx + 0.001 + k * 0.001, gy + 0.002
                    conn.execute(
                        "INSERT INTO incidents (code, category, title, source, status, geom, "
                        "reported_at, due_at, micro_grid_id, grid_id, community_id, street_id, "
                        "accepted_at, resolved_at, closed_at) "
                        "VALUES (%s, %s, 'test', 'worker', %s, ST_Point(%s, %s, 4326), "
                        "timestamptz '2026-10-01 08:00Z' + %s * interval '1 day', "
                        "timestamptz '2026-10-02 08:00Z' + %s * interval '1 day', "
                        "%s, %s, %s, %s, %s, %s, %s)",
                        (f"T{mcode}{k}", "sanitation" if k else "safety", status, px, py,
                         k, k, mid, gid, cid, sid, *(["2026-10-03 08:00Z"] * 3 if k == 2
                                                     else [None] * 3)))
    worker = conn.execute("INSERT INTO workers (name) VALUES ('patroller') RETURNING id")
    pid = conn.execute("INSERT INTO patrols (worker_id, started_at) VALUES (%s, "
                       "'2026-10-01 08:00Z') RETURNING id", (worker.fetchone()[0],)).fetchone()[0]
    for k in range(5):
        conn.execute(
            "INSERT INTO patrol_points (patrol_id, t, geom, street_id) VALUES "
            "(%s, timestamptz '2026-10-01 08:00Z' + %s * interval '1 minute', "
            "ST_Point(%s, %s, 4326), %s)", (pid, k, X0 + 0.001 + k * 0.003, Y0 + 0.015, sid))


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def db_count(conn: psycopg.Connection, table: str, where: str = "TRUE") -> int:
    current = " AND valid_to IS NULL" if table in ("streets", "communities", "grids",
                                                   "micro_grids") else ""
    return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}{current}").fetchone()[0]


def test_landing_and_conformance_are_public(client):
    landing = client.get("/")
    assert landing.status_code == 200
    rels = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert all("type" in link for link in landing.json()["links"])
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conf
    assert client.get("/openapi.json").status_code == 200


def test_data_needs_a_token(client, layers):
    for path in ("/collections", "/collections/grids", "/collections/grids/items"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


def test_collections_list_every_collection_with_extent_and_schema(client, admin_headers, layers):
    body = client.get("/collections", headers=admin_headers).json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert set(COLLECTIONS) <= set(by_id)
    grids = by_id["grids"]
    rels = {link["rel"]: link for link in grids["links"]}
    assert rels["items"]["type"] == "application/geo+json"
    assert rels["describedby"]["type"] == "application/schema+json"
    x1, y1, x2, y2 = grids["extent"]["spatial"]["bbox"][0]
    assert x1 <= X0 and y1 <= Y0 and x2 >= X0 + 0.02 and y2 >= Y0 + 0.02
    assert "temporal" in by_id["incidents"]["extent"]
    schema = client.get(rels["describedby"]["href"], headers=admin_headers)
    assert schema.status_code == 200 and "households" in schema.json()["properties"]


def test_items_page_with_links_counts_and_rounded_coordinates(client, admin_headers, conn,
                                                               layers):
    response = client.get("/collections/micro-grids/items?limit=3", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    page = response.json()
    assert page["type"] == "FeatureCollection"
    assert page["numberMatched"] == db_count(conn, "micro_grids")
    assert page["numberReturned"] == len(page["features"]) == 3
    links = {link["rel"]: link for link in page["links"]}
    assert links["next"]["type"] == "application/geo+json" and "offset=3" in links["next"]["href"]
    assert "prev" not in links
    feature = page["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert {"code", "name", "households", "parent_code"} <= set(feature["properties"])
    coords = re.findall(r"-?\d+\.\d+", response.text.split('"features"')[1])
    assert all(len(c.split(".")[1]) <= 7 for c in coords)
    ids = [f["id"] for f in page["features"]]
    second = client.get(links["next"]["href"], headers=admin_headers).json()
    assert not set(ids) & {f["id"] for f in second["features"]}
    assert "prev" in {link["rel"] for link in second["links"]}


def test_limit_is_clamped_and_openapi_declares_the_maximum(client, admin_headers, layers):
    page = client.get("/collections/buildings/items?limit=50000", headers=admin_headers).json()
    assert "limit=10000" in next(x for x in page["links"] if x["rel"] == "self")["href"]
    spec = client.get("/openapi.json").json()
    params = spec["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in params if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000


def test_bbox_filters_and_property_filters(client, admin_headers, conn, layers):
    bbox = f"{X0},{Y0},{X0 + 0.0099},{Y0 + 0.0099}"
    page = client.get(f"/collections/incidents/items?bbox={bbox}&limit=1000",
                      headers=admin_headers).json()
    expected = conn.execute(
        "SELECT count(*) FROM incidents WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
        (X0, Y0, X0 + 0.0099, Y0 + 0.0099)).fetchone()[0]
    assert page["numberMatched"] == expected == 6
    closed = client.get("/collections/incidents/items?status=closed&category=sanitation",
                        headers=admin_headers).json()
    assert closed["numberMatched"] == db_count(
        conn, "incidents", "status = 'closed' AND category = 'sanitation'")
    assert all(f["properties"]["status"] == "closed" for f in closed["features"])
    grid_code = COUNTY + "001001001"
    children = client.get(f"/collections/micro-grids/items?parent_code={grid_code}",
                          headers=admin_headers).json()
    assert {f["properties"]["parent_code"] for f in children["features"]} == {grid_code}
    assert children["numberMatched"] == 2
    # EPSG:4326 in bbox-crs means latitude first
    swapped = client.get(
        f"/collections/incidents/items?bbox={Y0},{X0},{Y0 + 0.0099},{X0 + 0.0099}"
        "&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326", headers=admin_headers).json()
    assert swapped["numberMatched"] == 6


def test_overdue_and_datetime(client, admin_headers, conn, layers):
    page = client.get("/collections/incidents/items?datetime=2026-10-02T00:00:00Z/..&limit=1000",
                      headers=admin_headers).json()
    assert page["numberMatched"] == db_count(
        conn, "incidents", "reported_at >= '2026-10-02T00:00:00Z'")
    assert page["numberMatched"] > 0
    now = datetime.now(UTC)
    for feature in page["features"]:  # other tests' incidents share the database: use due_at
        p = feature["properties"]
        due = p["due_at"] and datetime.fromisoformat(p["due_at"].replace("Z", "+00:00"))
        assert p["overdue"] == bool(due and due < now and p["status"] in (
            "reported", "accepted", "dispatched", "in_progress"))
    instant = client.get("/collections/patrol-points/items?datetime=2026-10-01T08:02:00Z",
                         headers=admin_headers).json()
    assert instant["numberMatched"] == db_count(conn, "patrol_points",
                                                "t = '2026-10-01T08:02:00Z'") >= 1


def test_single_feature(client, admin_headers, layers):
    gid = layers["grids"][0]
    response = client.get(f"/collections/grids/items/{gid}", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["id"] == gid and body["type"] == "Feature"
    assert client.get("/collections/grids/items/999999999",
                      headers=admin_headers).status_code == 404


def test_worker_sees_only_their_area(client, make_token, layers):
    grid_id = layers["grids"][0]
    headers = {"Authorization": f"Bearer {make_token('worker', [('grid', grid_id)])}"}
    grids = client.get("/collections/grids/items", headers=headers).json()
    assert [f["id"] for f in grids["features"]] == [grid_id]
    micro = client.get("/collections/micro-grids/items", headers=headers).json()
    assert micro["numberMatched"] == 2
    incidents = client.get("/collections/incidents/items", headers=headers).json()
    assert incidents["numberMatched"] == 6
    assert {f["properties"]["grid_id"] for f in incidents["features"]} == {grid_id}
    other = layers["grids"][1]
    assert client.get(f"/collections/grids/items/{other}", headers=headers).status_code == 404


@pytest.mark.parametrize("query", [
    "limit=abc", "limit=0", "offset=-1", "bogus=1", "bbox=1,2,3", "bbox=10,0,5,1",
    "bbox=170,0,190,10", "bbox=a,b,c,d", "datetime=yesterday", "datetime=../..",
    "bbox-crs=EPSG:9999", "f=html", "datetime=2026-10-05T00:00:00Z/2026-10-01T00:00:00Z",
])
def test_bad_input_is_a_400_problem(client, admin_headers, layers, query):
    response = client.get(f"/collections/incidents/items?{query}", headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 400


def test_unknown_collection_is_a_404_problem(client, admin_headers):
    for path in ("/collections/nope", "/collections/nope/items", "/collections/nope/items/1"):
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


def _ogr(live_server: str, token: str, *args: str) -> str:
    proc = subprocess.run(
        ["ogrinfo", "-ro", "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}",
         *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_gdal_reads_every_collection(live_server, make_token, conn, layers):
    token = make_token("admin")
    listing = _ogr(live_server, token, f"OAPIF:{live_server}/")
    for cid in COLLECTIONS:
        assert re.search(rf"^\d+: {re.escape(cid)}\b", listing, re.M), listing
    for cid, table in COLLECTIONS.items():
        out = _ogr(live_server, token, "-oo", "PAGE_SIZE=7", "-al", "-q",
                   f"OAPIF:{live_server}/collections/{cid}", cid)
        assert out.count("OGRFeature(") == db_count(conn, table), cid
