"""A small demo-like district for editing tests (its own database, reset per test), and its app.

One street, one community, two grids side by side, each divided into 3 x 2 micro-grids of four
buildings (10 households each). Other test modules import the fixtures from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import MultiPolygon, box

from gis.accounts import hash_password, issue_token
from gis.database import libpq_url
from gis.invariants import check_invariants
from gis.rollup import rollup_households
from gis.settings import Settings
from tests.conftest import TEST_SECRET, fresh_database

X0, Y0, CELL = 120.10, 30.20, 0.001
STREET, COMMUNITY = "330199001", "330199001001"
GRIDS = [COMMUNITY + "001", COMMUNITY + "002"]


def micro(grid: int, seq: int) -> str:
    """Code of micro-grid `seq` (1..6) of grid index `grid` (0 or 1)."""
    return f"{GRIDS[grid]}{seq:03d}"


def _multi(geom) -> bytes:
    return MultiPolygon([geom]).wkb


def load_small_district(url: str) -> None:
    """Replace everything with the small district."""
    with psycopg.connect(libpq_url(url)) as conn, conn.transaction():
        conn.execute("TRUNCATE edit_log, boundary_versions, plans, buildings, micro_grids, grids,"
                     " communities, streets, account_areas, accounts RESTART IDENTITY CASCADE")
        whole = box(X0, Y0, X0 + 6 * CELL, Y0 + 2 * CELL)
        sid = conn.execute("INSERT INTO streets (code, name, parent_code, geom) VALUES "
                           "(%s, '测试街道', '330199', ST_GeomFromWKB(%s, 4326)) RETURNING id",
                           (STREET, _multi(whole))).fetchone()[0]
        cid = conn.execute(
            "INSERT INTO communities (code, name, parent_id, parent_code, class, geom) VALUES "
            "(%s, '测试社区', %s, %s, 'A', ST_GeomFromWKB(%s, 4326)) RETURNING id",
            (COMMUNITY, sid, STREET, _multi(whole))).fetchone()[0]
        for gi, gcode in enumerate(GRIDS):
            gx = X0 + gi * 3 * CELL
            gid = conn.execute(
                "INSERT INTO grids (code, name, parent_id, parent_code, geom) VALUES "
                "(%s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
                (gcode, f"测试第{gi + 1}网格", cid, COMMUNITY,
                 _multi(box(gx, Y0, gx + 3 * CELL, Y0 + 2 * CELL)))).fetchone()[0]
            seq = 0
            for row in (1, 0):  # north row first, as codes read
                for col in range(3):
                    seq += 1
                    x, y = gx + col * CELL, Y0 + row * CELL
                    mid = conn.execute(
                        "INSERT INTO micro_grids (code, name, parent_id, parent_code, geom) "
                        "VALUES (%s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
                        (micro(gi, seq), f"微网格{seq}", gid, gcode,
                         _multi(box(x, y, x + CELL, y + CELL)))).fetchone()[0]
                    for bi, (fx, fy) in enumerate([(0.25, 0.25), (0.75, 0.25), (0.25, 0.75),
                                                   (0.75, 0.75)]):
                        cx, cy = x + fx * CELL, y + fy * CELL
                        h = CELL * 0.1
                        conn.execute(
                            "INSERT INTO buildings (code, micro_grid_id, grid_id, households, "
                            "geom) VALUES (%s, %s, %s, 10, ST_GeomFromWKB(%s, 4326))",
                            (f"{micro(gi, seq)}B{bi + 1}", mid, gid,
                             box(cx - h, cy - h, cx + h, cy + h).wkb))
        rollup_households(conn)


@pytest.fixture(scope="session")
def edit_url(server_url: str) -> Iterator[str]:
    """A migrated database of its own for the editing tests."""
    with fresh_database(server_url, f"wangge_edit_{os.getpid()}") as url:
        yield url


@pytest.fixture()
def district(edit_url: str) -> str:
    """The small district, freshly loaded."""
    load_small_district(edit_url)
    return edit_url


@pytest.fixture(scope="session")
def edit_settings(edit_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=edit_url, secret_key=TEST_SECRET,
                    local_dir=tmp_path_factory.mktemp("edit"), micro_grid_min=20,
                    micro_grid_max=60, grid_min=150, grid_max=400)


@pytest.fixture(scope="session")
def edit_app(edit_settings: Settings):
    from api.app import create_app

    return create_app(edit_settings)


@pytest.fixture(scope="session")
def edit_client(edit_app) -> Iterator[TestClient]:
    with TestClient(edit_app) as client:
        yield client


@pytest.fixture()
def token(district: str, edit_settings: Settings) -> Callable[..., dict[str, str]]:
    """token(role, areas=[(level, code)]) -> Authorization headers for a new account."""
    counter = iter(range(1, 10_000))

    def _make(role: str = "planner", areas: list[tuple[str, str]] = ()) -> dict[str, str]:
        name = f"{role}{next(counter)}"
        with psycopg.connect(libpq_url(district), autocommit=True) as conn:
            account = conn.execute(
                "INSERT INTO accounts (username, password_hash, role) VALUES (%s, %s, %s) "
                "RETURNING id", (name, hash_password("x-" + name), role)).fetchone()[0]
            for level, code in areas:
                table = {"grid": "grids", "micro_grid": "micro_grids"}[level]
                area_id = conn.execute(f"SELECT id FROM {table} WHERE code = %s",
                                       (code,)).fetchone()[0]
                conn.execute("INSERT INTO account_areas VALUES (%s, %s, %s)",
                             (account, level, area_id))
        return {"Authorization": f"Bearer {issue_token(edit_settings, account, name, role, 0)[0]}"}

    return _make


def snapshot(url: str) -> dict:
    """Every current area (code -> parent, households, exact geometry) and building owners."""
    with psycopg.connect(libpq_url(url)) as conn:
        areas = {}
        for table in ("streets", "communities", "grids", "micro_grids"):
            for code, hh, wkb, vid in conn.execute(
                    f"SELECT code, households, ST_AsEWKB(geom), id FROM {table} "
                    "WHERE valid_to IS NULL"):
                areas[code] = (hh, bytes(wkb), vid)
        owners = dict(conn.execute("""
            SELECT b.code, m.code || '/' || g.code FROM buildings b
            LEFT JOIN micro_grids m ON m.id = b.micro_grid_id
            LEFT JOIN grids g ON g.id = b.grid_id""").fetchall())
    return {"areas": areas, "buildings": owners}


def violations(url: str) -> list:
    with psycopg.connect(libpq_url(url)) as conn:
        return check_invariants(conn)


def test_small_district_is_valid(district: str) -> None:
    assert violations(district) == []
    snap = snapshot(district)
    assert snap["areas"][GRIDS[0]][0] == 240 and snap["areas"][micro(1, 6)][0] == 40
