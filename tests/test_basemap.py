"""The offline basemap: OSM import, the `basemap` tile layer generalized by zoom, its labels, and
the demo's basemap drawn from the district's own roads and buildings."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections import Counter

import mapbox_vector_tile
import psycopg
import pytest

from gis.database import libpq_url
from gis.settings import PROJECT_ROOT
from importers.basemap import classify, label

MONACO = PROJECT_ROOT / "tests" / "data" / "monaco.osm.pbf"
CENTER = (7.4215, 43.7375)  # Monaco-Ville / La Condamine


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def monaco(db_url: str) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-m", "cli.main", "import", "basemap", str(MONACO)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600,
                          env={**os.environ, "DATABASE_URL": db_url})
    assert proc.returncode == 0, proc.stderr
    assert "basemap:" in proc.stdout
    with psycopg.connect(libpq_url(db_url)) as conn:
        return dict(conn.execute("SELECT kind, count(*) FROM basemap GROUP BY kind").fetchall())


def test_classify_rules() -> None:
    assert classify("lines", {"highway": "primary"}) == ("road", "primary", 9)
    assert classify("lines", {"highway": "footway"})[2] > classify("lines", {"highway":
                                                                             "motorway"})[2]
    assert classify("multipolygons", {"building": "yes", "landuse": "residential"})[0] == \
        "building"
    assert classify("multipolygons", {"leisure": "park"})[0] == "park"
    assert classify("multipolygons", {"natural": "water"})[0] == "water"
    assert classify("points", {"place": "suburb"}) == ("place", "suburb", 11)
    assert classify("points", {"amenity": "bench"}) is None
    assert classify("lines", {"highway": "proposed"}) is None
    assert label({"name": "Monaco", "name:zh": "摩纳哥"}) == "摩纳哥"
    assert label({"name": "Monaco"}) == "Monaco"


def test_osm_import_loads_every_kind(monaco: dict[str, int], conn) -> None:
    for kind in ("road", "building", "park", "place"):
        assert monaco.get(kind, 0) > 0, monaco
    assert set(monaco) <= {"landuse", "park", "water", "building", "railway", "road", "place"}
    srid = conn.execute("SELECT DISTINCT ST_SRID(geom) FROM basemap").fetchall()
    assert srid == [(3857,)]
    assert conn.execute("SELECT count(*) FROM basemap WHERE NOT ST_IsValid(geom)"
                        ).fetchone()[0] == 0
    zh = conn.execute("SELECT count(*) FROM basemap WHERE kind = 'place' AND name ~ '[一-龥]'"
                      ).fetchone()[0]
    assert zh > 0  # name:zh preferred where OSM has it


def test_import_rejects_a_non_osm_file(db_url, tmp_path) -> None:
    bad = tmp_path / "roads.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}')
    proc = subprocess.run([sys.executable, "-m", "cli.main", "import", "basemap", str(bad)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          env={**os.environ, "DATABASE_URL": db_url})
    assert proc.returncode == 1 and ".osm.pbf" in proc.stderr and "Traceback" not in proc.stderr


def _kinds(client, headers, z: int) -> Counter:
    x, y = _tile_xy(*CENTER, z)
    response = client.get(f"/tiles/basemap/{z}/{x}/{y}.pbf", headers=headers)
    assert response.status_code == 200, response.text
    decoded = mapbox_vector_tile.decode(response.content)
    assert set(decoded) == {"basemap"}
    return Counter((f["properties"]["kind"], f["properties"].get("class"))
                   for f in decoded["basemap"]["features"])


def test_tiles_are_generalized_by_zoom(client, admin_headers, monaco) -> None:
    near = _kinds(client, admin_headers, 16)
    assert near[("building", "yes")] > 0 or any(k == "building" for k, _ in near)
    assert any(k == "road" and c in ("residential", "service", "footway", "steps")
               for k, c in near)
    far = _kinds(client, admin_headers, 11)
    assert not any(k == "building" for k, _ in far)
    assert all(c not in ("service", "footway", "path", "steps") for k, c in far if k == "road")
    assert sum(far.values()) < sum(_kinds(client, admin_headers, 14).values())
    x, y = _tile_xy(*CENTER, 7)
    assert client.get(f"/tiles/basemap/7/{x}/{y}.pbf", headers=admin_headers).status_code == 204
    assert client.get("/tiles/basemap/16/1/1.pbf").status_code == 401


def test_a_new_load_changes_the_etag(client, admin_headers, monaco, db_url) -> None:
    x, y = _tile_xy(*CENTER, 15)
    first = client.get(f"/tiles/basemap/15/{x}/{y}.pbf", headers=admin_headers)
    etag = first.headers["etag"]
    again = client.get(f"/tiles/basemap/15/{x}/{y}.pbf",
                       headers={**admin_headers, "If-None-Match": etag})
    assert again.status_code == 304
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO basemap_loads (source, features) VALUES ('test', 0)")
    after = client.get(f"/tiles/basemap/15/{x}/{y}.pbf",
                       headers={**admin_headers, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag


def test_labels_for_the_view(client, admin_headers, monaco) -> None:
    bbox = "7.40,43.72,7.44,43.76"
    near = client.get(f"/basemap/labels?bbox={bbox}&zoom=15", headers=admin_headers).json()
    far = client.get(f"/basemap/labels?bbox={bbox}&zoom=9", headers=admin_headers).json()
    assert len(near["features"]) > len(far["features"])
    assert all(f["properties"]["name"] for f in near["features"])
    assert client.get("/basemap/labels?bbox=1,2,3&zoom=3", headers=admin_headers
                      ).status_code == 400


def test_demo_basemap_comes_from_its_roads_and_buildings(demo_url: str) -> None:
    with psycopg.connect(libpq_url(demo_url)) as conn:
        kinds = dict(conn.execute("SELECT kind, count(*) FROM basemap GROUP BY kind"))
        roads = conn.execute("SELECT count(*) FROM roads").fetchone()[0]
        footprints = conn.execute("SELECT count(*) FROM buildings WHERE GeometryType(geom) IN "
                                  "('POLYGON', 'MULTIPOLYGON')").fetchone()[0]
        streets = conn.execute("SELECT count(*) FROM streets").fetchone()[0]
    assert kinds["road"] == roads > 0
    assert kinds["building"] == footprints > 0
    assert kinds["place"] >= streets
