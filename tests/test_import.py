"""Importers against the real PostGIS with real files (tests/data, see ATTRIBUTION.md)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import psycopg
import pytest

from gis.database import libpq_url
from importers.options import ImportFailed, ImportOptions
from importers.reader import ReadError
from importers.run import import_file

DATA = Path(__file__).resolve().parent / "data"
TOWN = DATA / "taipei_town_neihu.geojson"
VILLAGES = DATA / "taipei_village_neihu.geojson"
MONACO = DATA / "monaco.osm.pbf"


@pytest.fixture(scope="module")
def taipei(db_url):
    """Neihu district as a street (generated code under 630000), its 39 villages as communities."""
    street = import_file(db_url, "streets", TOWN, ImportOptions(district_code="630000",
                                                               name_field="TNAME"))
    villages = import_file(db_url, "communities", VILLAGES, ImportOptions(name_field="VNAME"))
    return street, villages


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _feature(geometry, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_taipei_villages_import_with_repairs_listed(taipei, db_url):
    street, villages = taipei
    assert street.inserted == 1 and villages.inserted == 39 and villages.rejected == 0
    repaired = [i for i in villages.issues if i.status == "repaired"]
    assert len(repaired) == 2 and all("Self-intersection" in i.reason for i in repaired)
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows = conn.execute(
            "SELECT c.code, c.name, ST_IsValid(c.geom), ST_CoveredBy(ST_PointOnSurface(c.geom), "
            "s.geom) FROM communities c JOIN streets s ON s.id = c.parent_id "
            "WHERE s.parent_code = '630000'").fetchall()
    assert len(rows) == 39
    assert all(code.startswith("630000001") and len(code) == 12 for code, *_ in rows)
    assert all(valid and inside for _, _, valid, inside in rows)
    assert {"西湖里", "寶湖里"} <= {name for _, name, *_ in rows}


def test_reimport_is_idempotent(taipei, db_url):
    again = import_file(db_url, "communities", VILLAGES, ImportOptions(name_field="VNAME"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 39)


def test_bad_rows_reject_the_whole_import(taipei, db_url, tmp_path):
    square = {"type": "Polygon", "coordinates": [[[121.58, 25.07], [121.581, 25.07],
                                                  [121.581, 25.071], [121.58, 25.07]]]}
    features = [
        _feature(square, code="630000001901", name="ok"),
        _feature(None, code="630000001902"),
        _feature({"type": "Polygon", "coordinates": []}, code="630000001903"),
        _feature({"type": "Point", "coordinates": [121.58, 25.07]}, code="630000001904"),
        _feature({"type": "Polygon", "coordinates": [[[500, 25], [501, 25], [501, 26],
                                                      [500, 25]]]}, code="630000001905"),
        _feature(square, code="12345"),
        _feature(square, code="630000001901"),
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01],
                                                      [0, 0]]]}, code="630000001906"),
        _feature(square, code="110000001907"),
    ]
    path = _write(tmp_path / "bad.geojson", features)
    opts = ImportOptions(code_field="code", name_field="name")
    with pytest.raises(ImportFailed) as caught:
        import_file(db_url, "communities", path, opts)
    reasons = {i.row: i.reason for i in caught.value.report.issues if i.status == "rejected"}
    assert reasons[2] == "no geometry"
    assert "empty" in reasons[3]
    assert "Point where Polygon or MultiPolygon" in reasons[4]
    assert "out of range" in reasons[5]
    assert "not 12 digits" in reasons[6]
    assert "duplicate code" in reasons[7]
    assert "no parent contains it" in reasons[8]
    assert "does not start with its parent's code" in reasons[9]
    with psycopg.connect(libpq_url(db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM communities WHERE code = '630000001901'"
                            ).fetchone()[0] == 0
    report_file = tmp_path / "rows.csv"
    caught.value.report.write(str(report_file))
    assert "no geometry" in report_file.read_text()
    skipped = import_file(db_url, "communities", path,
                          ImportOptions(code_field="code", name_field="name", skip_invalid=True))
    assert skipped.inserted == 1 and skipped.rejected == 8


def test_dry_run_and_csv_lonlat_and_crs(taipei, db_url, tmp_path):
    csv_file = tmp_path / "b.csv"
    csv_file.write_text("id,lon,lat,hh\nb1,121.59,25.08,12\nb2,121.591,25.081,x\n")
    with pytest.raises(ImportFailed) as caught:
        import_file(db_url, "buildings", csv_file, ImportOptions(code_field="id",
                                                                 households_field="hh"))
    assert "is not a number" in caught.value.report.issues[0].reason
    ok = tmp_path / "ok.csv"
    ok.write_text("id,wkt,hh\nc1,\"POINT (121.59 25.08)\",12\nc2,\"POINT (nan 25)\",3\n")
    with pytest.raises(ImportFailed, match="1 of 2 rows"):
        import_file(db_url, "buildings", ok, ImportOptions(code_field="id",
                                                           households_field="hh"))
    dry = import_file(db_url, "buildings", ok, ImportOptions(
        code_field="id", households_field="hh", skip_invalid=True, dry_run=True))
    assert dry.inserted == 1 and not dry.written
    with psycopg.connect(libpq_url(db_url)) as conn:
        assert conn.execute("SELECT count(*) FROM buildings WHERE code = 'c1'").fetchone()[0] == 0
    # a projected CRS override: TWD97 / TM2 (EPSG:3826) metres
    tm2 = tmp_path / "tm2.csv"
    tm2.write_text("id,x,y,hh\nt1,309000,2775000,5\n")
    done = import_file(db_url, "buildings", tm2, ImportOptions(code_field="id",
                                                               households_field="hh",
                                                               crs="EPSG:3826"))
    assert done.inserted == 1
    with psycopg.connect(libpq_url(db_url)) as conn:
        lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM buildings WHERE code = 't1'"
                                ).fetchone()
    assert 121.5 < lon < 121.7 and 25.0 < lat < 25.2


def test_gcj02_points_are_converted(db_url, tmp_path):
    path = _write(tmp_path / "p.geojson", [_feature(
        {"type": "Point", "coordinates": [116.40, 39.90]}, code="gcj-1", hh=3)])
    import_file(db_url, "buildings", path, ImportOptions(code_field="code", households_field="hh",
                                                         crs="gcj02"))
    with psycopg.connect(libpq_url(db_url)) as conn:
        lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM buildings WHERE code = "
                                "'gcj-1'").fetchone()
    assert 0.004 < 116.40 - lon < 0.008 and 0.0005 < 39.90 - lat < 0.003


def test_zipped_shapefile_and_unreadable_files(db_url, tmp_path):
    import pyogrio.raw
    import shapely

    shp = tmp_path / "roads.shp"
    line = shapely.LineString([(121.58, 25.07), (121.59, 25.08)])
    pyogrio.raw.write(str(shp), geometry=np.array([line.wkb], dtype=object),
                      field_data=[np.array(["Main"], dtype=object)], fields=["name"],
                      geometry_type="LineString", crs="EPSG:4326", driver="ESRI Shapefile")
    archive = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("roads.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    first = import_file(db_url, "roads", archive, ImportOptions(name_field="name"))
    second = import_file(db_url, "roads", archive, ImportOptions(name_field="name"))
    assert first.inserted == 1 and second.unchanged == 1
    with pytest.raises(ReadError, match="no such file"):
        import_file(db_url, "roads", tmp_path / "missing.geojson")
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not json")
    with pytest.raises(ReadError, match="cannot read"):
        import_file(db_url, "roads", junk)
    with pytest.raises(ValueError, match="unknown layer"):
        import_file(db_url, "rivers", junk)


def test_streets_need_a_district_code(db_url):
    with pytest.raises(ImportFailed) as caught:
        import_file(db_url, "streets", TOWN, ImportOptions(name_field="TNAME"))
    assert "--district-code" in caught.value.report.issues[0].reason
