"""The split job against the real PostGIS: one transaction, codes, assignment, roll-up."""

from __future__ import annotations

import psycopg
import pytest
import shapely
from shapely.geometry import box

from gis.database import libpq_url
from importers.split_job import split_grids

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

LON, LAT = 116.40, 39.90


def _seed(url: str, street: str, households: list[int], roads: bool = True) -> str:
    """A street > community > grid of 0.003 x 0.003 degrees holding row-built buildings."""
    community, grid = street + "001", street + "001001"
    lon = LON + 0.01 * int(street[-3:])
    cell = box(lon, LAT, lon + 0.003, LAT + 0.003).wkt
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("INSERT INTO streets (code, name, parent_code, geom) VALUES "
                     "(%s, 'S', %s, ST_Multi(ST_GeomFromText(%s, 4326)))",
                     (street, street[:6], cell))
        conn.execute("INSERT INTO communities (code, name, parent_id, parent_code, geom) "
                     "SELECT %s, 'C', id, code, geom FROM streets WHERE code = %s",
                     (community, street))
        conn.execute("INSERT INTO grids (code, name, parent_id, parent_code, geom) "
                     "SELECT %s, 'G', id, code, geom FROM communities WHERE code = %s",
                     (grid, community))
        for i, hh in enumerate(households):
            row, col = divmod(i, 6)
            x, y = lon + 0.0002 + col * 0.00045, LAT + 0.0002 + row * 0.0004
            conn.execute("INSERT INTO buildings (code, households, geom) VALUES "
                         "(%s, %s, ST_GeomFromText(%s, 4326))",
                         (f"{street}-b{i}", hh, box(x, y, x + 0.0003, y + 0.00015).wkt))
        if roads:
            conn.execute("INSERT INTO roads (name, geom) VALUES ('mid', ST_Multi("
                         "ST_GeomFromText(%s, 4326)))",
                         (f"LINESTRING({lon - 0.001} {LAT + 0.00155}, "
                          f"{lon + 0.004} {LAT + 0.00155})",))
    return grid


def test_split_writes_micro_grids_in_one_go(db_url):
    grid = _seed(db_url, "110105001", [10] * 36)
    report = split_grids(db_url, [grid])
    (row,) = report.rows
    assert row.households == 360 and row.parts == 9 and not row.violations
    assert 30 <= row.min_households <= row.max_households <= 50
    with psycopg.connect(libpq_url(db_url)) as conn:
        micro = conn.execute("SELECT code, households FROM micro_grids WHERE parent_code = %s "
                             "AND valid_to IS NULL ORDER BY code", (grid,)).fetchall()
        assert [c for c, _ in micro] == [f"{grid}{i:03d}" for i in range(1, 10)]
        assert sum(h for _, h in micro) == 360
        tiling = conn.execute(
            """SELECT abs(ST_Area(ST_Union(m.geom)) - ST_Area(g.geom)) / ST_Area(g.geom),
                      bool_and(ST_CoveredBy(m.geom, ST_Buffer(g.geom, 1e-12)))
               FROM micro_grids m JOIN grids g ON g.id = m.parent_id
               WHERE g.code = %s AND m.valid_to IS NULL GROUP BY g.geom""", (grid,)).fetchone()
        assert tiling[0] < 1e-9 and tiling[1]
        unassigned = conn.execute("SELECT count(*) FROM buildings WHERE code LIKE '110105001-%%' "
                                  "AND micro_grid_id IS NULL").fetchone()[0]
        assert unassigned == 0
        inside = conn.execute(
            """SELECT bool_and(ST_Within(ST_PointOnSurface(b.geom), m.geom))
               FROM buildings b JOIN micro_grids m ON m.id = b.micro_grid_id
               WHERE b.code LIKE '110105001-%%'""").fetchone()[0]
        assert inside
        street_hh = conn.execute("SELECT households FROM streets WHERE code = '110105001'"
                                 ).fetchone()[0]
        assert street_hh == 360


def test_resplit_replaces_and_dry_run_writes_nothing(db_url):
    grid = _seed(db_url, "110105002", [10] * 30)
    first = split_grids(db_url, [grid], seed=1)
    again = split_grids(db_url, [grid], seed=1)
    assert again.removed == first.created
    dry = split_grids(db_url, [grid], min_households=20, max_households=30, dry_run=True)
    assert dry.rows[0].parts == 12 and not dry.rows[0].violations
    with psycopg.connect(libpq_url(db_url)) as conn:
        count = conn.execute("SELECT count(*) FROM micro_grids WHERE parent_code = %s AND "
                             "valid_to IS NULL", (grid,)).fetchone()[0]
    assert count == first.created == 8


def test_infeasible_grid_is_reported_not_failed(db_url):
    grid = _seed(db_url, "110105003", [120, 10, 10, 10], roads=False)
    report = split_grids(db_url, [grid])
    (row,) = report.rows
    assert any("120 households exceeds the maximum 50" in v for v in row.violations)
    assert row.households == 150
    table = report.table()
    assert table.row_count == 1


def test_unknown_grid_code_is_an_error(db_url):
    with pytest.raises(ValueError, match="no current grids"):
        split_grids(db_url, ["999999999999999"])


def test_community_into_grids(db_url):
    grid = _seed(db_url, "110105004", [10] * 36)
    community = grid[:12]
    report = split_grids(db_url, [community], level="grid", min_households=100,
                         max_households=200)
    # 360 households: three grids of 120, more compact than the suggested two of 180
    # (gis.partition.graph.ONE_MORE)
    assert report.rows[0].parts == 3 and not report.rows[0].violations
    with psycopg.connect(libpq_url(db_url)) as conn:
        codes = [r[0] for r in conn.execute(
            "SELECT code FROM grids WHERE parent_code = %s AND valid_to IS NULL ORDER BY code",
            (community,)).fetchall()]
    assert codes == [community + "001", community + "002", community + "003"]
    assert shapely.Point(0, 0)  # shapely stays importable in workers


def test_community_split_keeps_dedicated_grids(db_url):
    """A dedicated grid (a school, codes from 901) keeps its polygon, buildings and code; the
    standard grids divide the rest of the community."""
    grid = _seed(db_url, "110105006", [10] * 36)
    community = grid[:12]
    lon = LON + 0.01 * 6
    school = box(lon, LAT, lon + 0.0012, LAT + 0.003)  # the west two building columns
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute("UPDATE grids SET geom = ST_Multi(ST_Difference(geom, ST_GeomFromText(%s, "
                     "4326))) WHERE code = %s", (school.wkt, grid))
        conn.execute("INSERT INTO grids (code, name, parent_id, parent_code, kind, geom) "
                     "SELECT %s, '学校', id, code, 'dedicated', ST_Multi(ST_GeomFromText(%s, "
                     "4326)) FROM communities WHERE code = %s",
                     (community + "901", school.wkt, community))
        conn.execute("UPDATE buildings b SET grid_id = g.id FROM grids g WHERE g.code = %s "
                     "AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom))",
                     (community + "901",))
        before = conn.execute("SELECT id, ST_AsEWKB(geom) FROM grids WHERE code = %s",
                              (community + "901",)).fetchone()
    report = split_grids(db_url, [community], level="grid", min_households=100,
                         max_households=200)
    assert not report.rows[0].violations
    assert report.rows[0].households == 240  # the school's 120 households are not divided
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows = conn.execute(
            "SELECT code, kind, id, ST_AsEWKB(geom), ST_Area(ST_Intersection(geom, "
            "ST_GeomFromText(%s, 4326))) FROM grids WHERE parent_code = %s AND valid_to IS NULL "
            "ORDER BY code", (school.wkt, community)).fetchall()
        school_buildings = conn.execute(
            "SELECT count(*) FROM buildings b JOIN grids g ON g.id = b.grid_id "
            "WHERE g.code = %s", (community + "901",)).fetchone()[0]
    codes = [r[0] for r in rows]
    assert codes == [community + "001", community + "002", community + "901"]
    kept = rows[-1]
    assert kept[1] == "dedicated" and (kept[2], bytes(kept[3])) == (before[0], bytes(before[1]))
    assert all(r[4] < 1e-12 for r in rows[:-1])  # the new grids stay out of the school
    assert school_buildings == 12


def test_report_says_why_a_part_is_out_of_bounds(db_url, tmp_path):
    grid = _seed(db_url, "110105007", [120, 10, 10, 10], roads=False)
    report = split_grids(db_url, [grid], dry_run=True)
    (row,) = report.rows
    assert any("one building of 120 households, over the maximum 50" in r
               for r in row.part_reasons)
    assert all(r.startswith("part ") for r in row.part_reasons)
    out = tmp_path / "report.csv"
    report.write(str(out))
    text = out.read_text(encoding="utf-8")
    assert "parts out of bounds or thin" in text and "one building of 120 households" in text


@pytest.mark.parametrize(("street", "level", "households"), [
    ("110105008", "micro_grid", [7, 12, 25, 9, 14, 31, 8, 16, 22, 11, 6, 19, 27, 10, 13, 18, 24,
                                 15, 9, 21]),
    ("110105009", "grid", [70, 120, 95, 60, 150, 85, 110, 75, 130, 65, 90, 140, 55, 100, 80,
                           125])])
def test_the_planner_s_preview_shows_the_parts_the_split_job_writes(db_url, client,
                                                                   admin_headers, street,
                                                                   level, households):
    grid = _seed(db_url, street, households)
    parent = grid if level == "micro_grid" else grid[:12]  # a grid, or its community
    (row,) = split_grids(db_url, [parent], level=level, dry_run=True).rows
    r = client.post("/map/plan/preview-split", headers=admin_headers,
                    json={"code": parent, "seed": 0})
    assert r.status_code == 200, r.text
    preview = r.json()
    parts = [f["properties"]["households"] for f in preview["features"]]
    pps = [f["properties"]["polsby_popper"] for f in preview["features"]]
    assert sum(parts) == sum(households) == row.households
    assert (len(parts), min(parts), max(parts)) == (row.parts, row.min_households,
                                                    row.max_households)
    assert min(pps) == pytest.approx(row.pp_min, abs=1e-3)
    assert sum(pps) / len(pps) == pytest.approx(row.pp_mean, abs=2e-3)
    assert [f"part {w['part']}: {w['text']}" for w in preview["report"]["why"]] == \
        row.part_reasons


def test_the_cli_takes_the_level_s_bounds_and_refuses_crossed_ones(db_url, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from gis.settings import get_settings

    grid = _seed(db_url, "110105010", [70, 120, 95, 60, 150, 85, 110, 75, 130, 65, 90, 140])
    community = grid[:12]
    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        run = CliRunner().invoke(app, ["split", "--level", "grid", "--community", community,
                                       "--dry-run"])
        assert run.exit_code == 0, run.output
        assert "300-500 households" in run.output and "0 violation(s)" in run.output
        bad = CliRunner().invoke(app, ["split", "--grid", grid, "--min", "60", "--max", "50"])
        assert bad.exit_code != 0 and "bounds must satisfy 0 < min <= max" in bad.output
    finally:
        get_settings.cache_clear()
    with psycopg.connect(libpq_url(db_url)) as conn:  # nothing written by either
        assert conn.execute("SELECT count(*) FROM micro_grids WHERE parent_code = %s",
                            (grid,)).fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM grids WHERE parent_code = %s",
                            (community,)).fetchone()[0] == 1
