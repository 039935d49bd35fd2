"""Geometry fuzzing: broken geometries through the importers and every endpoint taking geometry.

Self-intersections, unclosed rings, NaN and infinite coordinates, empty and collection geometries,
wrong winding, projected coordinates passed as EPSG:4326 and huge polygons must each end in a
clear rejection (a 4xx, or a rejected row with its reason) or a repaired geometry with a note:
never a 500, never a stored invalid geometry, never a stuck worker.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis.database import libpq_url
from importers.options import ImportFailed, ImportOptions
from importers.run import import_file
from tests import test_editing_fixture as fx
from tests.test_editing_fixture import CELL, X0, Y0, micro, snapshot, violations

district, edit_app, edit_client, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_client, fx.edit_settings, fx.edit_url, fx.token)

# a street of its own (county 659001) so nothing here collides with other importer tests
SX, SY = 87.60, 43.80
SQUARE = f"POLYGON(({SX} {SY}, {SX + .01} {SY}, {SX + .01} {SY + .01}, {SX} {SY + .01}, {SX} {SY}))"
CLOCKWISE = (f"POLYGON(({SX + .02} {SY}, {SX + .02} {SY + .01}, {SX + .03} {SY + .01}, "
             f"{SX + .03} {SY}, {SX + .02} {SY}))")
BOWTIE = (f"POLYGON(({SX + .04} {SY}, {SX + .05} {SY + .01}, {SX + .05} {SY}, "
          f"{SX + .04} {SY + .01}, {SX + .04} {SY}))")
BAD_ROWS = {
    "nan": f"POLYGON(({SX} {SY}, NaN {SY}, {SX} {SY + 1}, {SX} {SY}))",
    "inf": f"POLYGON(({SX} {SY}, Inf {SY}, {SX} {SY + 1}, {SX} {SY}))",
    "empty": "POLYGON EMPTY",
    "collection": f"GEOMETRYCOLLECTION(POINT({SX} {SY}))",
    "line": f"LINESTRING({SX} {SY}, {SX + 1} {SY})",
    "projected": "POLYGON((500000 4800000, 501000 4800000, 501000 4801000, 500000 4800000))",
    "zero_area": f"POLYGON(({SX} {SY}, {SX + 1} {SY}, {SX + 2} {SY}, {SX} {SY}))",
}


def _csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["name,wkt"] + [f'{name},"{wkt}"' for name, wkt in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _invalid_stored(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("""
            SELECT (SELECT count(*) FROM streets WHERE NOT ST_IsValid(geom))
                 + (SELECT count(*) FROM communities WHERE NOT ST_IsValid(geom))
                 + (SELECT count(*) FROM buildings WHERE NOT ST_IsValid(geom))""").fetchone()[0]


def test_importer_rejects_or_repairs_each_broken_row(db_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path / "streets.csv",
                [("square", SQUARE), ("clockwise", CLOCKWISE), ("bowtie", BOWTIE)]
                + list(BAD_ROWS.items()))
    opts = ImportOptions(district_code="659001", name_field="name", crs="EPSG:4326")
    with pytest.raises(ImportFailed) as failed:
        import_file(db_url, "streets", path, opts)
    report = failed.value.report
    rejected = {i.row: i.reason for i in report.issues if i.status == "rejected"}
    assert set(rejected) == set(range(4, 4 + len(BAD_ROWS)))  # every bad row, by number
    reasons = dict(zip(BAD_ROWS, (rejected[r] for r in sorted(rejected)), strict=True))
    assert "non-finite" in reasons["nan"]
    assert "non-finite" in reasons["inf"] or "no geometry" in reasons["inf"]  # GDAL drops Inf
    assert "empty" in reasons["empty"]
    assert "GeometryCollection" in reasons["collection"] and "LineString" in reasons["line"]
    assert "wrong --crs" in reasons["projected"]
    assert "repaired" in reasons["zero_area"] or "area" in reasons["zero_area"]
    repaired = [i for i in report.issues if i.status == "repaired"]
    assert [i.row for i in repaired] == [3] and "Self-intersection" in repaired[0].reason
    with psycopg.connect(libpq_url(db_url)) as conn:  # nothing written
        assert conn.execute("SELECT count(*) FROM streets WHERE parent_code = '659001'"
                            ).fetchone()[0] == 0
    done = import_file(db_url, "streets", path, ImportOptions(
        district_code="659001", name_field="name", crs="EPSG:4326", skip_invalid=True))
    assert done.inserted == 3 and done.written
    with psycopg.connect(libpq_url(db_url)) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM streets WHERE parent_code = '659001' AND ST_IsValid(geom) "
            "AND GeometryType(geom) = 'MULTIPOLYGON' ORDER BY code")]
    assert sorted(names) == ["bowtie", "clockwise", "square"]
    assert _invalid_stored(db_url) == 0


def test_importer_unclosed_ring_and_huge_polygon(db_url: str, tmp_path: Path) -> None:
    unclosed = {"type": "Polygon", "coordinates": [[[SX, SY + .05], [SX + .01, SY + .05],
                                                    [SX + .01, SY + .06]]]}
    n = 1_000_000  # a comb along the south edge of a square: valid, but far too detailed
    comb = [[SX + 0.01 * i / n, SY + 0.1 + (0.0001 if i % 2 else 0)] for i in range(n)]
    huge = {"type": "Polygon", "coordinates": [
        comb + [[SX + 0.01, SY + 0.11], [SX, SY + 0.11], comb[0]]]}
    geojson = tmp_path / "unclosed.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "unclosed"}, "geometry": unclosed}]}))
    with pytest.raises(ImportFailed) as failed:
        import_file(db_url, "streets", geojson, ImportOptions(district_code="659002",
                                                              name_field="name"))
    assert failed.value.report.issues[0].status == "rejected"
    path = tmp_path / "huge.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "huge"}, "geometry": huge}]}))
    started = time.monotonic()
    with pytest.raises(ImportFailed) as failed:
        import_file(db_url, "streets", path, ImportOptions(district_code="659002",
                                                           name_field="name"))
    assert time.monotonic() - started < 60
    issue = failed.value.report.issues[0]
    assert issue.status == "rejected" and "vertices" in issue.reason
    assert _invalid_stored(db_url) == 0


# --- API: incident and patrol points -----------------------------------------------------------

def _raw_post(client, url: str, body: str, headers: dict) -> object:
    return client.post(url, content=body.encode(),
                       headers={**headers, "Content-Type": "application/json"})


BAD_POINTS = [
    ("NaN", "30.2"), ("Infinity", "30.2"), ("120.1", "-Infinity"), ("1e309", "30.2"),
    ("500000", "3300000"), ("120.1", "95"), ("181", "30"), ('"abc"', "30"), ("null", "30"),
    ("[120.1, 30.2]", "30"),
]


@pytest.mark.parametrize(("lon", "lat"), BAD_POINTS)
def test_incident_points_are_rejected_clearly(client, admin_headers, conn, lon, lat) -> None:
    before = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    body = (f'{{"lon": {lon}, "lat": {lat}, "category": "sanitation", '
            f'"title": "fuzz"}}')
    r = _raw_post(client, "/incidents", body, admin_headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    batch = f'{{"incidents": [{body}]}}'
    r = _raw_post(client, "/incidents/batch", batch, admin_headers)
    assert 400 <= r.status_code < 500, r.text
    assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == before


@pytest.mark.parametrize("crs", ["EPSG:999999", "gcj03", "EPSG:3857", "'; DROP TABLE x; --"])
def test_incident_crs_fuzz(client, admin_headers, crs) -> None:
    r = client.post("/incidents", headers=admin_headers, json={
        "lon": 1e7, "lat": 1e7, "crs": crs, "category": "sanitation", "title": "fuzz"})
    assert 400 <= r.status_code < 500, r.text


def test_patrol_points_are_rejected_clearly(client, make_token, conn) -> None:
    headers = {"Authorization": f"Bearer {make_token('worker')}"}
    r = client.post("/patrols", headers=headers, json={})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    for lon, lat in BAD_POINTS:
        body = (f'{{"points": [{{"t": "2026-11-01T08:00:00Z", "lon": {lon}, '
                f'"lat": {lat}}}]}}')
        r = _raw_post(client, f"/patrols/{pid}/points", body, headers)
        assert 400 <= r.status_code < 500, (lon, lat, r.text)
    assert conn.execute("SELECT count(*) FROM patrol_points WHERE patrol_id = %s",
                        (pid,)).fetchone()[0] == 0


# --- API: planner edits (drawn polygons and lines) ---------------------------------------------

def _plan(client, headers) -> tuple[int, str]:
    r = client.post("/plans", json={"name": "fuzz"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["etag"]


def _ring(*pts) -> list:
    return [[X0 + x * CELL, Y0 + y * CELL] for x, y in pts]


BAD_POLYGONS = {
    "bowtie": {"type": "Polygon", "coordinates": [_ring((0, 1), (1, 2), (1, 1), (0, 2), (0, 1))]},
    "unclosed": {"type": "Polygon", "coordinates": [_ring((0, 1), (1, 1), (1, 2))]},
    "two_points": {"type": "Polygon", "coordinates": [_ring((0, 1), (1, 1))]},
    "empty": {"type": "Polygon", "coordinates": []},
    "collection": {"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [X0, Y0]}]},
    "point": {"type": "Point", "coordinates": [X0, Y0]},
    "projected": {"type": "Polygon", "coordinates": [[[1.3e7, 3.5e6], [1.31e7, 3.5e6],
                                                      [1.31e7, 3.6e6], [1.3e7, 3.5e6]]]},
    "not_geojson": {"type": "Polygon", "coordinates": "abc"},
    "nested_wrong": {"type": "Polygon", "coordinates": [[[[1, 2]]]]},
    "string": "POLYGON((0 0, 1 1, 1 0, 0 0))",
    "null": None,
}
NAN_POLYGON = ('{"type": "Polygon", "coordinates": [[[NaN, 30.2], [120.1, Infinity], '
               '[120.2, 30.3], [NaN, 30.2]]]}')


def test_planner_drawn_geometry_fuzz(district, edit_client, token) -> None:
    h = token("planner")
    before = snapshot(district)
    pid, etag = _plan(edit_client, h)
    headers = {**h, "If-Match": etag}
    for name, geometry in BAD_POLYGONS.items():
        for op in ({"op": "redraw", "area": micro(0, 1), "polygon": geometry,
                    "neighbour": micro(0, 4)},
                   {"op": "redraw", "a": micro(0, 1), "b": micro(0, 2), "line": geometry},
                   {"op": "split", "area": micro(0, 1), "line": geometry}):
            r = edit_client.post(f"/plans/{pid}/edits", json=op, headers=headers)
            assert r.status_code == 422, (name, op["op"], r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
    for key, extra in (("polygon", {"area": micro(0, 1), "neighbour": micro(0, 4)}),
                       ("line", {"a": micro(0, 1), "b": micro(0, 2)}),
                       ("line", {"op": "split", "area": micro(0, 1)})):
        body = json.dumps({"op": "redraw", **extra})[:-1] + f', "{key}": {NAN_POLYGON}}}'
        r = edit_client.post(f"/plans/{pid}/edits", content=body.encode(),
                             headers={**headers, "Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (key, r.text)
    # wrong winding (clockwise exterior) is not an error: it draws the same area
    clockwise = {"type": "Polygon", "coordinates": [_ring((0, 1), (0, 2), (1, 2), (1, 1.5),
                                                          (0, 1))]}
    r = edit_client.post(f"/plans/{pid}/edits", headers=headers, json={
        "op": "redraw", "area": micro(0, 1), "polygon": clockwise, "neighbour": micro(0, 2)})
    assert r.status_code == 200, r.text
    assert snapshot(district) == before  # drafts never touch the published areas
    assert violations(district) == []


def test_huge_drawn_polygon_is_refused_fast(district, edit_client, token) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    headers = {**h, "If-Match": etag, "Content-Type": "application/json"}
    # 10^6 vertices: refused by the body limit before anything parses it
    ring = ",".join(f"[{X0 + i * 1e-9:.9f},{Y0}]" for i in range(1_000_000))
    body = f'{{"op": "redraw", "area": "{micro(0, 1)}", "polygon": ' \
           f'{{"type": "Polygon", "coordinates": [[{ring}]]}}}}'
    started = time.monotonic()
    r = edit_client.post(f"/plans/{pid}/edits", content=body.encode(), headers=headers)
    assert r.status_code == 413, r.text[:200]
    # compact coordinates fit under the body limit: refused by the vertex limit instead
    n = fx_max_vertices() + 10
    ring = ",".join(["[1,1]"] * n)
    body = f'{{"op": "redraw", "area": "{micro(0, 1)}", "polygon": ' \
           f'{{"type": "Polygon", "coordinates": [[{ring}]]}}}}'
    r = edit_client.post(f"/plans/{pid}/edits", content=body.encode(), headers=headers)
    assert r.status_code in (413, 422), r.text[:200]
    if r.status_code == 422:
        assert "vertices" in r.text
    assert time.monotonic() - started < 30


def fx_max_vertices() -> int:
    from gis.settings import Settings

    return Settings().max_vertices


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(coords=st.lists(st.tuples(st.floats(allow_nan=False, allow_infinity=False,
                                           min_value=-1e9, max_value=1e9),
                                 st.floats(allow_nan=False, allow_infinity=False,
                                           min_value=-1e9, max_value=1e9)),
                       min_size=0, max_size=8))
def test_random_drawn_rings_never_500(district, edit_client, token, coords) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    polygon = {"type": "Polygon", "coordinates": [[list(c) for c in coords]]}
    r = edit_client.post(f"/plans/{pid}/edits", headers={**h, "If-Match": etag}, json={
        "op": "redraw", "area": micro(0, 1), "polygon": polygon, "neighbour": micro(0, 4)})
    assert r.status_code < 500, r.text
    r = edit_client.post(f"/plans/{pid}/edits", headers={**h, "If-Match": etag}, json={
        "op": "split", "area": micro(0, 1), "line": {"type": "LineString",
                                                      "coordinates": [list(c) for c in coords]}})
    assert r.status_code < 500, r.text
