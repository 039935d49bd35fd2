"""An area's vector tiles as MBTiles (CLI and GET), read back by GDAL's MBTiles and MVT drivers."""

from __future__ import annotations

import gzip
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gis.database import libpq_url
from gis.settings import PROJECT_ROOT
from tests.conftest import with_settings
from tests.test_ogc import build_layers

STREET = "460105001"


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def _codes(path: Path, layer: str, *open_options: str) -> set[str]:
    proc = subprocess.run(["ogrinfo", "-ro", "-al", "-q", *open_options, str(path), layer],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"^\s+code \(String\) = (\S+)$", proc.stdout, re.M))


def test_cli_writes_mbtiles_that_gdal_reads(db_url, conn, layers, tmp_path):
    out = tmp_path / "street.mbtiles"
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "export", "tiles", "--area", STREET, "--zoom",
         "14-15", str(out)], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
        env={**os.environ, "DATABASE_URL": db_url})
    assert proc.returncode == 0, proc.stderr
    assert "tiles with data" in proc.stdout
    with sqlite3.connect(out) as db:
        meta = dict(db.execute("SELECT name, value FROM metadata"))
        zooms = {z for (z,) in db.execute("SELECT DISTINCT zoom_level FROM tiles")}
        z, x, row, blob = db.execute("SELECT * FROM tiles WHERE zoom_level = 15 "
                                     "ORDER BY length(tile_data) DESC LIMIT 1").fetchone()
    assert meta["format"] == "pbf" and '"vector_layers"' in meta["json"]
    assert zooms == {14, 15}
    expected = {r[0] for r in conn.execute(
        "SELECT code FROM incidents WHERE street_id = (SELECT id FROM streets WHERE code = %s)",
        (STREET,))}
    micro = {r[0] for r in conn.execute(
        "SELECT code FROM micro_grids WHERE code LIKE %s AND valid_to IS NULL", (STREET + "%",))}
    assert expected and _codes(out, "incidents", "-oo", "ZOOM_LEVEL=15") == expected
    assert _codes(out, "micro-grids", "-oo", "ZOOM_LEVEL=14") == micro
    tile = tmp_path / "one.pbf"  # one tile, through the MVT driver
    tile.write_bytes(gzip.decompress(blob))
    y = (1 << z) - 1 - row
    in_tile = _codes(tile, "micro-grids", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}")
    assert in_tile and in_tile <= micro


def test_cli_rejects_an_unknown_area_and_a_bad_zoom(db_url, tmp_path):
    for args, message in ((["--area", "999999999"], "no current street"),
                          (["--area", STREET, "--zoom", "18-12"], "zoom range")):
        proc = subprocess.run([sys.executable, "-m", "cli.main", "export", "tiles", *args,
                               str(tmp_path / "x.mbtiles")], capture_output=True, text=True,
                              cwd=PROJECT_ROOT, timeout=300,
                              env={**os.environ, "DATABASE_URL": db_url})
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_get_mbtiles_in_the_callers_scope(client, make_token, conn, layers, tmp_path):
    grid_id = layers["grids"][0]
    grid_code = conn.execute("SELECT code FROM grids WHERE id = %s", (grid_id,)).fetchone()[0]
    headers = {"Authorization": f"Bearer {make_token('worker', [('grid', grid_id)])}"}
    response = client.get(f"/exports/tiles/{grid_code}.mbtiles?zoom=15-16", headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    out = tmp_path / "grid.mbtiles"
    out.write_bytes(response.content)
    mine = {r[0] for r in conn.execute("SELECT code FROM incidents WHERE grid_id = %s",
                                       (grid_id,))}
    assert _codes(out, "incidents", "-oo", "ZOOM_LEVEL=16") == mine
    other = conn.execute("SELECT code FROM grids WHERE id = %s",
                         (layers["grids"][1],)).fetchone()[0]
    assert client.get(f"/exports/tiles/{other}.mbtiles", headers=headers).status_code == 404


def test_get_mbtiles_limits_and_bad_input(client, admin_headers, layers):
    with with_settings(client, max_export_tiles=10):
        big = client.get(f"/exports/tiles/{STREET}.mbtiles?zoom=12-18", headers=admin_headers)
    assert big.status_code == 413 and "limit" in big.json()["detail"]
    with with_settings(client, max_export_bytes=100):
        heavy = client.get(f"/exports/tiles/{STREET}.mbtiles?zoom=14-15", headers=admin_headers)
    assert heavy.status_code == 413
    assert client.get(f"/exports/tiles/{STREET}.mbtiles?zoom=x",
                      headers=admin_headers).status_code == 400
    assert client.get(f"/exports/tiles/{STREET}.mbtiles").status_code == 401
