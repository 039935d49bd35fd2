"""Community class (--class-field) and grid kind (--kind-field) imports: dedicated grids take
codes from 901; bad values reject the file."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from shapely.geometry import box, mapping

from gis.database import libpq_url
from importers.options import ImportFailed, ImportOptions
from importers.run import import_file

LON, LAT = 101.0, 11.0


def _file(path: Path, rows: list[tuple]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": mapping(geom)}
        for geom, props in rows]}))
    return path


def test_class_and_kind_fields(db_url, tmp_path):
    whole = box(LON, LAT, LON + 0.01, LAT + 0.01)
    import_file(db_url, "streets", _file(tmp_path / "s.geojson", [(whole, {"n": "街"})]),
                ImportOptions(district_code="129900", name_field="n"))
    bad = _file(tmp_path / "bad.geojson", [(whole, {"n": "社区", "cls": "E"})])
    with pytest.raises(ImportFailed) as caught:
        import_file(db_url, "communities", bad, ImportOptions(name_field="n", class_field="cls"))
    assert "not one of A, B, C, D" in caught.value.report.issues[0].reason
    import_file(db_url, "communities", _file(tmp_path / "c.geojson", [
        (whole, {"n": "社区", "cls": "b"})]), ImportOptions(name_field="n", class_field="cls"))
    west, east = box(LON, LAT, LON + 0.005, LAT + 0.01), box(LON + 0.005, LAT, LON + 0.01,
                                                             LAT + 0.01)
    import_file(db_url, "grids", _file(tmp_path / "g.geojson", [
        (west, {"n": "学校", "kind": "专属网格"}), (east, {"n": "东", "kind": "standard"})]),
        ImportOptions(name_field="n", kind_field="kind"))
    with psycopg.connect(libpq_url(db_url)) as conn:
        community = conn.execute("SELECT code, class FROM communities WHERE name = '社区' AND "
                                 "valid_to IS NULL AND parent_code LIKE '129900%'").fetchone()
        grids = conn.execute("SELECT name, kind, right(code, 3), attributes FROM grids "
                             "WHERE parent_code = %s ORDER BY name", (community[0],)).fetchall()
    assert community[1] == "B"
    assert [g[:3] for g in grids] == [("东", "standard", "001"), ("学校", "dedicated", "901")]
    assert all("kind" not in g[3] for g in grids)
    # a code that contradicts the kind is refused
    clash = _file(tmp_path / "x.geojson", [(east, {"n": "东", "kind": "dedicated",
                                                   "code": community[0] + "002"})])
    with pytest.raises(ImportFailed) as caught:
        import_file(db_url, "grids", clash, ImportOptions(name_field="n", kind_field="kind",
                                                         code_field="code"))
    assert "from 901" in caught.value.report.issues[0].reason
