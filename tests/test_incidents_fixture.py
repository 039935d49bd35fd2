"""A small hand-made district for the incident, patrol, stats and access tests.

Two streets side by side, each of two communities, each of two grids, each of two micro-grids:
all axis-aligned boxes near Xi'an, so which area holds a point is obvious by eye.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import pytest
import uvicorn

from gis.database import libpq_url

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

COUNTY = "610199"
X0, Y0, STEP = 108.90, 34.20, 0.02  # a street is STEP x STEP degrees


@dataclass
class World:
    """Ids and codes of the fixture's areas, and a point inside each micro-grid."""

    ids: dict[str, int] = field(default_factory=dict)  # code -> id
    centers: dict[str, tuple[float, float]] = field(default_factory=dict)  # micro-grid code

    def id(self, code: str) -> int:
        return self.ids[code]


def _box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def build_world(conn: psycopg.Connection) -> World:
    """Insert the areas once (idempotent per database) and return their ids."""
    world = World()
    if conn.execute("SELECT 1 FROM streets WHERE code = %s", (f"{COUNTY}001",)).fetchone():
        for table in ("streets", "communities", "grids", "micro_grids"):
            world.ids.update(conn.execute(
                f"SELECT code, id FROM {table} WHERE code LIKE %s", (COUNTY + "%",)).fetchall())
        for code in (c for c in world.ids if len(c) == 18):
            g, m = int(code[14]) - 1, int(code[17]) - 1
            cx = X0 + (int(code[8]) - 1) * STEP + (int(code[11]) - 1) * STEP / 2
            gy = Y0 + STEP - (g + 1) * STEP / 2
            world.centers[code] = (cx + m * STEP / 4 + STEP / 8, gy + STEP / 4)
        return world
    for s in range(2):
        sx = X0 + s * STEP
        scode = f"{COUNTY}{s + 1:03d}"
        world.ids[scode] = conn.execute(
            "INSERT INTO streets (code, name, parent_code, geom) VALUES (%s, %s, %s, %s) "
            "RETURNING id", (scode, f"S{s + 1}", COUNTY, _box(sx, Y0, sx + STEP, Y0 + STEP))
        ).fetchone()[0]
        for c in range(2):
            cx = sx + c * STEP / 2
            ccode = f"{scode}{c + 1:03d}"
            world.ids[ccode] = conn.execute(
                "INSERT INTO communities (code, name, parent_id, parent_code, class, geom) "
                "VALUES (%s, %s, %s, %s, 'A', %s) RETURNING id",
                (ccode, f"C{ccode[-4:]}", world.ids[scode], scode,
                 _box(cx, Y0, cx + STEP / 2, Y0 + STEP))).fetchone()[0]
            for g in range(2):
                gy = Y0 + STEP - (g + 1) * STEP / 2  # grid 001 north, 002 south
                gcode = f"{ccode}{g + 1:03d}"
                world.ids[gcode] = conn.execute(
                    "INSERT INTO grids (code, name, parent_id, parent_code, geom) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    (gcode, f"G{gcode[-6:]}", world.ids[ccode], ccode,
                     _box(cx, gy, cx + STEP / 2, gy + STEP / 2))).fetchone()[0]
                for m in range(2):
                    mx = cx + m * STEP / 4
                    mcode = f"{gcode}{m + 1:03d}"
                    world.ids[mcode] = conn.execute(
                        "INSERT INTO micro_grids (code, name, parent_id, parent_code, geom) "
                        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                        (mcode, f"M{mcode[-6:]}", world.ids[gcode], gcode,
                         _box(mx, gy, mx + STEP / 4, gy + STEP / 2))).fetchone()[0]
                    world.centers[mcode] = (mx + STEP / 8, gy + STEP / 4)
    return world


@contextmanager
def serve(settings) -> Iterator[str]:
    """A fresh app on its own uvicorn server (own loop and pool); yields the base URL."""
    from api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session", name="world")
def world_fixture(db_url: str) -> World:
    """The fixture district in the session's test database."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn, conn.transaction():
        return build_world(conn)


def test_world_is_attributed_by_its_boxes(world: World, conn: psycopg.Connection) -> None:
    from gis.attribution import locate_select

    code = f"{COUNTY}002001002001"
    lon, lat = world.centers[code]
    point = "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)"
    row = conn.execute(f"SELECT {locate_select(point)}", {"x": lon, "y": lat}).fetchone()
    assert row == (world.id(code[:9]), world.id(code[:12]), world.id(code[:15]), world.id(code))
