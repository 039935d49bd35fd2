"""OGC API – Features Part 3 (CQL2 filters, queryables) and Part 2 (crs), with GDAL as client."""

from __future__ import annotations

import json
import os
import re
import subprocess
from urllib.parse import quote

import pytest

from tests.test_ogc import X0, Y0, db_count

ITEMS = "/collections/incidents/items"
IN_TEST_STREET = f"ST_Intersects(geom, ST_MakeEnvelope({X0}, {Y0}, {X0 + 0.02}, {Y0 + 0.02}, 4326))"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    import psycopg

    from gis.database import libpq_url
    from tests.test_ogc import build_layers

    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def _matched(client, headers, query: str) -> int:
    response = client.get(f"{ITEMS}?{query}&limit=1000", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["numberMatched"]


def _cql(text: str, extra: str = "") -> str:
    return f"filter={quote(text)}{extra}"


def test_conformance_and_queryables_declare_the_filter(client, admin_headers, layers):
    conf = client.get("/conformance").json()["conformsTo"]
    for cls in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text",
                "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                "cql2/1.0/conf/basic-spatial-functions", "ogcapi-features-2/1.0/conf/crs"):
        assert f"http://www.opengis.net/spec/{cls}" in conf
    coll = client.get("/collections/incidents", headers=admin_headers).json()
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in {x["rel"] for x in coll["links"]}
    assert EPSG3857 in coll["crs"] and coll["storageCrs"].endswith("CRS84")
    q = client.get("/collections/incidents/queryables", headers=admin_headers)
    assert q.status_code == 200 and q.headers["content-type"] == "application/schema+json"
    props = q.json()["properties"]
    assert {"status", "category", "reported_at", "geometry"} <= set(props)
    assert props["reported_at"]["format"] == "date-time"
    assert props["geometry"]["format"] == "geometry-point"
    assert "overdue" not in props  # computed, not a column


def test_cql2_text_and_json_select_the_same_rows(client, admin_headers, conn, layers):
    expected = db_count(conn, "incidents", f"status = 'reported' AND category = 'safety' "
                                           f"AND {IN_TEST_STREET}")
    text = _matched(client, admin_headers, _cql(
        f"status = 'reported' AND category = 'safety' AND S_INTERSECTS(geometry, "
        f"BBOX({X0}, {Y0}, {X0 + 0.02}, {Y0 + 0.02}))"))
    tree = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "status"}, "reported"]},
        {"op": "=", "args": [{"property": "category"}, "safety"]},
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                         {"bbox": [X0, Y0, X0 + 0.02, Y0 + 0.02]}]}]}
    as_json = _matched(client, admin_headers,
                       _cql(json.dumps(tree), "&filter-lang=cql2-json"))
    assert text == as_json == expected > 0


def test_s_intersects_polygon_in_crs84_and_in_web_mercator(client, admin_headers, conn, layers):
    x1, y1, x2, y2 = X0, Y0, X0 + 0.0099, Y0 + 0.0099
    expected = db_count(conn, "incidents",
                        f"ST_Intersects(geom, ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, 4326))")
    ring = f"{x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}"
    assert _matched(client, admin_headers,
                    _cql(f"S_INTERSECTS(geometry, POLYGON(({ring})))")) == expected > 0
    m = conn.execute(f"SELECT ST_AsText(ST_Transform(ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, "
                     "4326), 3857))").fetchone()[0]
    merc = _matched(client, admin_headers, _cql(f"S_INTERSECTS(geometry, {m})",
                                                f"&filter-crs={quote(EPSG3857)}"))
    assert merc == expected
    latlon = f"{y1} {x1}, {y1} {x2}, {y2} {x2}, {y2} {x1}, {y1} {x1}"
    assert _matched(client, admin_headers, _cql(f"S_INTERSECTS(geometry, POLYGON(({latlon})))",
                                                f"&filter-crs={quote(EPSG4326)}")) == expected


def test_t_intersects_and_advanced_comparisons(client, admin_headers, conn, layers):
    window = ("reported_at >= '2026-10-02T00:00:00Z' AND reported_at <= '2026-10-03T12:00:00Z' "
              f"AND {IN_TEST_STREET}")
    got = _matched(client, admin_headers, _cql(
        "T_INTERSECTS(reported_at, INTERVAL('2026-10-02T00:00:00Z', '2026-10-03T12:00:00Z')) AND "
        f"S_INTERSECTS(geometry, BBOX({X0}, {Y0}, {X0 + 0.02}, {Y0 + 0.02}))"))
    assert got == db_count(conn, "incidents", window) > 0
    open_end = _matched(client, admin_headers, _cql(
        "T_INTERSECTS(reported_at, INTERVAL('2026-10-03', '..')) AND code LIKE 'T460105%'"))
    assert open_end == db_count(conn, "incidents",
                                "reported_at >= '2026-10-03' AND code LIKE 'T460105%'") > 0
    listed = _matched(client, admin_headers, _cql(
        "status IN ('closed', 'in_progress') AND NOT (category = 'safety') "
        "AND code LIKE 'T460105%'"))
    assert listed == db_count(conn, "incidents", "status IN ('closed', 'in_progress') AND "
                              "category <> 'safety' AND code LIKE 'T460105%'") > 0


def test_a_filter_cannot_leave_the_callers_scope_or_inject_sql(client, make_token, conn,
                                                               layers):
    grid_id = layers["grids"][0]
    headers = {"Authorization": f"Bearer {make_token('worker', [('grid', grid_id)])}"}
    assert _matched(client, headers, _cql("status = 'reported' OR status <> 'reported'")) == 6
    sneaky = _cql("title = 'x'' OR 1=1; DROP TABLE incidents; --'")
    assert _matched(client, headers, sneaky) == 0
    assert db_count(conn, "incidents") > 0


@pytest.mark.parametrize("query", [
    _cql("status = "),                                     # malformed
    _cql("nope = 1"),                                      # not a queryable
    _cql("overdue = true"),                                # computed property
    _cql("status = 3"),                                    # type mismatch
    _cql("reported_at > 12"),
    _cql("S_INTERSECTS(status, POINT(1 2))"),              # not the geometry
    _cql("geometry = 'x'"),
    _cql("T_INTERSECTS(status, TIMESTAMP('2026-10-01T00:00:00Z'))"),
    _cql("{not json", "&filter-lang=cql2-json"),
    _cql("status = 'x'", "&filter-lang=sql"),
    _cql("S_INTERSECTS(geometry, POINT(1 2))", "&filter-crs=EPSG:9999"),
    "filter-lang=cql2-text",                               # no filter
    "crs=EPSG:9999",
])
def test_invalid_filters_are_a_400_problem(client, admin_headers, layers, query):
    response = client.get(f"{ITEMS}?{query}", headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_items_in_another_crs(client, admin_headers, conn, layers):
    fid, lon, lat, mx, my = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom), ST_X(ST_Transform(geom, 3857)), "
        "ST_Y(ST_Transform(geom, 3857)) FROM incidents WHERE code LIKE 'T460105%' "
        "ORDER BY id LIMIT 1").fetchone()
    merc = client.get(f"{ITEMS}/{fid}?crs={quote(EPSG3857)}", headers=admin_headers)
    assert merc.headers["content-crs"] == f"<{EPSG3857}>"
    x, y = merc.json()["geometry"]["coordinates"]
    assert abs(x - mx) < 0.01 and abs(y - my) < 0.01
    latlon = client.get(f"{ITEMS}/{fid}?crs={quote(EPSG4326)}", headers=admin_headers).json()
    assert latlon["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-7)
    default = client.get(f"{ITEMS}/{fid}", headers=admin_headers)
    assert default.headers["content-crs"].endswith("CRS84>")
    assert default.json()["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
    cgcs = client.get(f"{ITEMS}?crs={quote('http://www.opengis.net/def/crs/EPSG/0/4490')}"
                      "&limit=1", headers=admin_headers)
    assert cgcs.status_code == 200 and cgcs.headers["content-crs"].endswith("4490>")


def _ogr(token: str, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPL_DEBUG": "ON"} if debug else None
    proc = subprocess.run(
        ["ogrinfo", "-ro", "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}",
         *args], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_gdal_sends_its_where_as_cql2_and_gets_the_filtered_rows(live_server, make_token, conn,
                                                                 layers):
    token = make_token("admin")
    proc = _ogr(token, "-al", "-q", "-where", "status = 'reported' AND category = 'safety'",
                f"OAPIF:{live_server}/collections/incidents", "incidents", debug=True)
    fetched = re.findall(r"/collections/incidents/items\?\S+", proc.stderr)
    sent = [u for u in fetched if "filter=" in u]
    assert sent, f"GDAL evaluated the filter itself: {fetched}"
    assert "filter-lang=cql-text" in sent[0] and "status" in sent[0]
    assert proc.stdout.count("OGRFeature(") == db_count(
        conn, "incidents", "status = 'reported' AND category = 'safety'")


def test_gdal_reads_items_in_web_mercator(live_server, make_token, conn, layers):
    token = make_token("admin")
    url = (f"{live_server}{ITEMS}?limit=1000&crs={quote(EPSG3857)}&"
           + _cql(f"S_INTERSECTS(geometry, BBOX({X0}, {Y0}, {X0 + 0.02}, {Y0 + 0.02}))"))
    out = _ogr(token, "-al", "-so", f"GeoJSON:{url}").stdout
    assert re.search(r'ID\["EPSG",3857\]|AUTHORITY\["EPSG","3857"\]', out), out
    xmin, ymin, xmax, ymax = conn.execute(
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
        f"ST_Extent(ST_Transform(geom, 3857)) e FROM incidents WHERE {IN_TEST_STREET}) x"
    ).fetchone()
    found = re.search(r"Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)", out)
    assert found, out
    assert [float(v) for v in found.groups()] == pytest.approx([xmin, ymin, xmax, ymax], abs=0.05)
    assert f"Feature Count: {db_count(conn, 'incidents', IN_TEST_STREET)}" in out
