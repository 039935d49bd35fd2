"""An area's vector tiles as PMTiles (CLI and GET), read back by the `pmtiles` reader and decoded
with mapbox-vector-tile, compared tile by tile with the MBTiles export of the same area."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

from gis.database import libpq_url
from gis.settings import PROJECT_ROOT
from tests.test_ogc import build_layers

STREET = "460105001"


@pytest.fixture(scope="module")
def layers(db_url: str) -> dict:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        return build_layers(connection)


def _export(db_url: str, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", "export", "tiles", *args, str(out)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
                          env={**os.environ, "DATABASE_URL": db_url})


def _pmtiles(path: Path) -> tuple[dict, dict, dict[tuple[int, int, int], bytes]]:
    """Header, metadata and every tile (decompressed) of a PMTiles file."""
    with path.open("rb") as fh:
        source = MmapSource(fh)
        reader = Reader(source)
        tiles = {zxy: gzip.decompress(data) for zxy, data in all_tiles(source)}
        return reader.header(), reader.metadata(), tiles


def _codes(tiles: dict[tuple[int, int, int], bytes], layer: str, z: int) -> set[str]:
    found = set()
    for (tz, _x, _y), data in tiles.items():
        if tz == z:
            decoded = mapbox_vector_tile.decode(data)
            found |= {f["properties"]["code"] for f in decoded.get(layer, {}).get("features", [])}
    return found


def test_cli_pmtiles_hold_the_same_tiles_as_mbtiles(db_url, conn, layers, tmp_path):
    pm, mb = tmp_path / "street.pmtiles", tmp_path / "street.mbtiles"
    for out in (pm, mb):
        proc = _export(db_url, out, "--area", STREET, "--zoom", "14-16")
        assert proc.returncode == 0, proc.stderr
        assert "tiles with data" in proc.stdout
    header, metadata, tiles = _pmtiles(pm)
    with sqlite3.connect(mb) as db:
        expected = {(z, x, (1 << z) - 1 - row): gzip.decompress(blob)
                    for z, x, row, blob in db.execute("SELECT * FROM tiles")}
    assert tiles == expected and tiles
    assert header["tile_type"] == TileType.MVT and header["tile_compression"] == Compression.GZIP
    assert (header["min_zoom"], header["max_zoom"]) == (14, 16)
    w, s, e, n = conn.execute("SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), "
                              "ST_YMax(geom) FROM streets WHERE code = %s AND valid_to IS NULL",
                              (STREET,)).fetchone()
    assert abs(header["min_lon_e7"] / 1e7 - w) < 1e-6 and abs(header["max_lat_e7"] / 1e7 - n) < 1e-6
    assert {lay["id"] for lay in metadata["vector_layers"]} >= {"micro-grids", "incidents"}
    incidents = {r[0] for r in conn.execute(
        "SELECT code FROM incidents WHERE street_id = (SELECT id FROM streets WHERE code = %s)",
        (STREET,))}
    assert incidents and _codes(tiles, "incidents", 16) == incidents


def test_cli_refuses_other_suffixes_and_empty_zooms(db_url, tmp_path):
    proc = _export(db_url, tmp_path / "x.zip", "--area", STREET)
    assert proc.returncode == 1 and ".mbtiles or .pmtiles" in proc.stderr
    proc = _export(db_url, tmp_path / "x.pmtiles", "--area", STREET, "--zoom", "0-1")
    assert proc.returncode == 1 and "nothing to draw" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.pmtiles").exists()


def test_get_pmtiles_in_the_callers_scope(client, make_token, conn, layers, tmp_path,
                                          admin_headers):
    grid_id, other_id = layers["grids"][0], layers["grids"][1]
    code = conn.execute("SELECT code FROM grids WHERE id = %s", (grid_id,)).fetchone()[0]
    other = conn.execute("SELECT code FROM grids WHERE id = %s", (other_id,)).fetchone()[0]
    headers = {"Authorization": f"Bearer {make_token('worker', [('grid', grid_id)])}"}
    response = client.get(f"/exports/tiles/{code}.pmtiles?zoom=15-16", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.pmtiles"
    assert f'{code}-z15-16.pmtiles' in response.headers["content-disposition"]
    out = tmp_path / "grid.pmtiles"
    out.write_bytes(response.content)
    _header, _meta, tiles = _pmtiles(out)
    mine = {r[0] for r in conn.execute("SELECT code FROM incidents WHERE grid_id = %s",
                                       (grid_id,))}
    assert _codes(tiles, "incidents", 16) == mine
    assert client.get(f"/exports/tiles/{other}.pmtiles", headers=headers).status_code == 404
    assert client.get(f"/exports/tiles/{STREET}.pmtiles?zoom=x",
                      headers=admin_headers).status_code == 400
    empty = client.get(f"/exports/tiles/{STREET}.pmtiles?zoom=0-1", headers=admin_headers)
    assert empty.status_code == 422 and "nothing to draw" in empty.json()["detail"]
    assert client.get(f"/exports/tiles/{STREET}.pmtiles").status_code == 401
