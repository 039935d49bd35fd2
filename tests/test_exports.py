"""Collection downloads (GeoPackage, CSV with WKT, GeoJSON): filtered, scoped, streamed, and
readable by GDAL."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest

from gis.database import libpq_url
from tests.test_ogc import X0, Y0, build_layers, db_count

REPORTED = "status = 'reported' AND code LIKE 'T460105%'"


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def _download(base: str, token: str, path: str, dest: Path) -> httpx.Response:
    with httpx.stream("GET", base + path, headers={"Authorization": f"Bearer {token}"},
                      timeout=120) as response:
        if response.status_code == 200:
            with dest.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        else:
            response.read()
    return response


def _ogr_count(*args: str) -> tuple[int, str]:
    proc = subprocess.run(["ogrinfo", "-ro", "-al", "-so", *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"Feature Count: (\d+)", proc.stdout)
    assert found, proc.stdout
    return int(found.group(1)), proc.stdout


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "geojson"])
def test_filtered_export_opens_in_gdal(live_server, make_token, conn, layers, tmp_path, fmt):
    token = make_token("admin")
    dest = tmp_path / f"incidents.{fmt}"
    response = _download(live_server, token, "/collections/incidents/export?format="
                         f"{fmt}&filter={quote(REPORTED)}", dest)
    assert response.status_code == 200, response.text
    assert f'filename="incidents.{fmt}"' in response.headers["content-disposition"]
    if fmt != "gpkg":  # rows are sent as the cursor yields them: no length known up front
        assert "content-length" not in response.headers
    args = ["-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO"] if fmt == "csv" \
        else []
    count, info = _ogr_count(*args, str(dest))
    assert count == db_count(conn, "incidents", REPORTED) > 0
    if fmt != "csv":  # a CSV carries no CRS
        assert "Point" in info and ("4326" in info or "WGS 84" in info), info
    else:
        assert "wkt:" not in info  # GDAL took the column as the geometry
        text = dest.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("id,code,category,title,status")
        assert text.splitlines()[1].endswith(")") and "POINT" in text


def test_export_in_web_mercator(live_server, make_token, conn, layers, tmp_path):
    token = make_token("admin")
    dest = tmp_path / "grids.gpkg"
    crs = quote("http://www.opengis.net/def/crs/EPSG/0/3857")
    assert _download(live_server, token, f"/collections/grids/export?format=gpkg&crs={crs}",
                     dest).status_code == 200
    count, info = _ogr_count(str(dest))
    assert count == db_count(conn, "grids")
    assert re.search(r'ID\["EPSG",3857\]|AUTHORITY\["EPSG","3857"\]', info), info


def test_a_worker_exports_only_their_area(live_server, make_token, layers, tmp_path):
    grid_id = layers["grids"][0]
    token = make_token("worker", [("grid", grid_id)])
    dest = tmp_path / "mine.geojson"
    assert _download(live_server, token, "/collections/incidents/export?format=geojson",
                     dest).status_code == 200
    features = json.loads(dest.read_text())["features"]
    assert len(features) == 6 and {f["properties"]["grid_id"] for f in features} == {grid_id}


def test_an_empty_export_is_still_a_file(live_server, make_token, layers, tmp_path):
    token = make_token("admin")
    dest = tmp_path / "none.gpkg"
    bbox = f"{X0 - 1},{Y0 - 1},{X0 - 0.99},{Y0 - 0.99}"
    assert _download(live_server, token, f"/collections/incidents/export?format=gpkg&bbox={bbox}",
                     dest).status_code == 200
    assert _ogr_count(str(dest))[0] == 0


@pytest.mark.parametrize("query", ["format=shp", "format=csv&filter=nope%20%3D%201",
                                   "format=csv&limit=5", "format=csv&crs=EPSG:1"])
def test_bad_export_requests_are_a_400_problem(client, admin_headers, layers, query):
    response = client.get(f"/collections/incidents/export?{query}", headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_export_needs_a_token(client, layers):
    assert client.get("/collections/incidents/export?format=csv").status_code == 401
