"""Bulk building import: progress reported per phase, and one COPY-fed upsert that counts
inserted, updated and unchanged rows."""

from __future__ import annotations

import json

import psycopg

from gis.database import libpq_url
from importers.options import PROGRESS_STEP, ImportOptions
from importers.run import import_file


def _buildings(path, n: int, households: int = 4):
    features = [{"type": "Feature", "properties": {"code": f"bulk-{i}", "hh": households},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [116.3 + i * 1e-4, 39.8], [116.30005 + i * 1e-4, 39.8],
                     [116.30005 + i * 1e-4, 39.80005], [116.3 + i * 1e-4, 39.80005],
                     [116.3 + i * 1e-4, 39.8]]]}} for i in range(n)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_bulk_buildings_report_progress_and_upsert(db_url, tmp_path):
    n = PROGRESS_STEP * 2 + 7
    calls: list[tuple[str, int, int]] = []
    opts = ImportOptions(code_field="code", households_field="hh",
                         progress=lambda *a: calls.append(a))
    first = import_file(db_url, "buildings", _buildings(tmp_path / "a.geojson", n), opts)
    assert (first.inserted, first.updated, first.unchanged) == (n, 0, 0)
    validating = [c for c in calls if c[0] == "validating"]
    assert [c[1] for c in validating] == [PROGRESS_STEP, 2 * PROGRESS_STEP, n]
    assert all(c[2] == n for c in calls)
    assert [c for c in calls if c[0] == "writing"][-1] == ("writing", n, n)

    again = import_file(db_url, "buildings", _buildings(tmp_path / "b.geojson", n),
                        ImportOptions(code_field="code", households_field="hh"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, n)
    changed = import_file(db_url, "buildings", _buildings(tmp_path / "c.geojson", n, 5),
                          ImportOptions(code_field="code", households_field="hh"))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, n, 0)
    with psycopg.connect(libpq_url(db_url)) as conn:
        total, version = conn.execute("SELECT sum(households), max(version) FROM buildings "
                                      "WHERE code LIKE 'bulk-%'").fetchone()
    assert total == 5 * n and version == 2
