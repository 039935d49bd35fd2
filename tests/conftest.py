"""Fixtures: a real PostGIS database per test session, the app, a live server and tokens.

The session creates its own database (wangge_test_<pid>) in the project's local cluster (or on the
server of DATABASE_URL), migrates it, and drops it at the end, so parallel runs never collide.
With WANGGE_TEST_CITUS=1 the server is the project's local Citus cluster (`wangge db up --citus`)
and every test database is made on its coordinator and workers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from gis import citus_local, localdb, migrate
from gis.accounts import hash_password, issue_token
from gis.database import database_url, libpq_url
from gis.settings import Settings
from tests.serving import serve

DATA = Path(__file__).resolve().parent / "data"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TEST_SECRET = "test-secret-key-not-for-production-0123456789abcdef"
CITUS = os.environ.get("WANGGE_TEST_CITUS") == "1"

# Property tests draw the same examples on every run ("ci", the default), so a run on a clean
# machine tests exactly what passed here; WANGGE_HYPOTHESIS=explore draws new ones each run
# (and replays the failures it found) to look for more.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("WANGGE_HYPOTHESIS", "ci"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked citus_only are deselected (not skipped) on a single node, and those marked
    single_node on Citus."""
    unwanted = "single_node" if CITUS else "citus_only"
    kept = [item for item in items if item.get_closest_marker(unwanted) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


def _replace_db(url: str, name: str) -> str:
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


def create_test_database(server_url: str, name: str) -> str:
    """Database `name` with PostGIS (and Citus on every node when CITUS); its URL."""
    if CITUS:
        citus_local.create_database(Settings(), name)
    else:
        localdb.create_database(server_url, name)
    return _replace_db(server_url, name)


def drop_test_database(server_url: str, name: str) -> None:
    """Drop database `name` (on every node when CITUS)."""
    if CITUS:
        citus_local.drop_database(Settings(), name)
    else:
        localdb.drop_database(server_url, name)


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """A newly created and migrated database `name` on the server; dropped afterwards."""
    drop_test_database(server_url, name)
    url = create_test_database(server_url, name)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        drop_test_database(server_url, name)


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the PostGIS server (the local cluster or the local Citus coordinator, started if
    needed, or DATABASE_URL)."""
    base = Settings()
    if CITUS:
        return citus_local.up(base, lambda _msg: None)
    if not base.database_url:
        localdb.up(base, lambda _msg: None)
    return database_url(base)


@pytest.fixture(scope="session")
def db_url(server_url: str) -> Iterator[str]:
    """A freshly migrated database of its own for this test session."""
    with fresh_database(server_url, f"wangge_test_{os.getpid()}") as url:
        yield url


DEMO_ANCHOR = "2026-11-01"


@pytest.fixture(scope="session")
def demo_url(server_url: str) -> Iterator[str]:
    """A second test database holding the demo district (anchor date fixed for repeatability)."""
    from datetime import date

    from gis.demo import load_demo

    with fresh_database(server_url, f"wangge_demo_{os.getpid()}") as url:
        load_demo(url, lambda _msg: None, seed=1, anchor=date.fromisoformat(DEMO_ANCHOR))
        yield url


@pytest.fixture(scope="session")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at the test database."""
    return Settings(database_url=db_url, secret_key=TEST_SECRET,
                    local_dir=tmp_path_factory.mktemp("local"))


@pytest.fixture()
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit psycopg connection to the test database."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="session")
def app(settings: Settings):
    from api.app import create_app

    return create_app(settings)


@pytest.fixture(scope="session")
def client(app) -> Iterator[TestClient]:
    """An in-process client (runs the lifespan, so the pool is real)."""
    with TestClient(app) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """An app of its own served by uvicorn on a free loopback port; yields its base URL.

    Its own app instance: a second lifespan on the `client` fixture's app would replace that
    app's pool and change listener with ones bound to this server's event loop.
    """
    from api.app import create_app

    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
def make_token(db_url: str, settings: Settings):
    """make_token(role, areas=[(level, area_id), ...], username=None) -> bearer token."""
    counter = iter(range(1, 1_000_000))

    def _make(role: str, areas: list[tuple[str, int]] = (), username: str | None = None,
              minutes: int | None = None) -> str:
        name = username or f"{role}{next(counter)}_{os.getpid()}"
        with psycopg.connect(libpq_url(db_url), autocommit=True) as connection:
            worker_id = None
            if role == "worker":
                worker_id = connection.execute(
                    "INSERT INTO workers (name) VALUES (%s) RETURNING id", (name,)).fetchone()[0]
                for level, area_id in areas:
                    connection.execute(
                        "INSERT INTO assignments (worker_id, level, area_id, role) "
                        "VALUES (%s, %s, %s, 'full_time')", (worker_id, level, area_id))
            account_id = connection.execute(
                "INSERT INTO accounts (username, password_hash, role, worker_id) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (name, hash_password("secret-" + name), role, worker_id)).fetchone()[0]
            if role != "worker":
                for level, area_id in areas:
                    connection.execute(
                        "INSERT INTO account_areas (account_id, level, area_id) "
                        "VALUES (%s, %s, %s)", (account_id, level, area_id))
        return issue_token(settings, account_id, name, role, 0, minutes)[0]

    return _make


@pytest.fixture(scope="session")
def admin_headers(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('admin')}"}


@contextmanager
def with_settings(client, **changes) -> Iterator[None]:
    """Run the `client` fixture's app with some settings changed, restored afterwards."""
    state = client.app.state
    saved = state.settings
    state.settings = saved.model_copy(update=changes)
    try:
        yield
    finally:
        state.settings = saved


def _monaco_grid(name: str, city: str = "monaco", streets: bool = False) -> tuple:
    """A grid of tests/data (lon/lat WKT) with the buildings of a real city of the bench
    (bench/real_city.py, Monaco unless told) whose representative point lies in it and their
    households; with `streets`, also the city's streets that cross it (the barriers the
    real-city bench gives the split)."""
    import shapely

    from bench.real_city import LOADERS

    grid = shapely.from_wkt((DATA / name).read_text())
    data = LOADERS[city]()
    inside = shapely.contains(grid, shapely.point_on_surface(data.buildings))
    found = (grid, list(data.buildings[inside]), data.households[inside])
    if not streets:
        return found
    return (*found, list(data.streets[shapely.intersects(data.streets, grid)]))


@pytest.fixture(scope="session")
def monaco_grid_202():
    """A real Monaco grid of 23 buildings (453 households, one tower of 60) as the real-city
    bench's split of its community drew it (tests/data/monaco_grid_202.wkt), with the buildings
    whose representative point lies in it."""
    return _monaco_grid("monaco_grid_202.wkt")


@pytest.fixture(scope="session")
def monaco_community_0():
    """A real Monaco community of 130 buildings (4,799 households) along a narrow strip, as
    the real-city bench draws it from the streets (tests/data/monaco_community_0.wkt)."""
    return _monaco_grid("monaco_community_0.wkt")


@pytest.fixture(scope="session")
def monaco_grid_82():
    """A real Monaco grid of 20 buildings (402 households, towers of 156, 69 and 57) as the
    graph engine's split of its community drew it (tests/data/monaco_grid_82.wkt)."""
    return _monaco_grid("monaco_grid_82.wkt")


@pytest.fixture(scope="session")
def monaco_grid_1():
    """A real Monaco grid of 10 buildings (480 households: towers of 100, 96 and 70; the
    others, 41, 39, 31, 31, 29, 23 and 20, cannot all be grouped into parts of 30-50) as the
    real-city bench's split of its community drew it (tests/data/monaco_grid_1.wkt)."""
    return _monaco_grid("monaco_grid_1.wkt")


@pytest.fixture(scope="session")
def monaco_grid_288():
    """A real Monaco grid of 47 buildings (342 households, a tower of 71) as the real-city
    bench's split of its community drew it (tests/data/monaco_grid_288.wkt, every digit
    kept: rounded to 1e-8 degrees it divides otherwise), with the streets the bench gives
    the split: the graph engine leaves a slab of 28 households a part of its own."""
    return _monaco_grid("monaco_grid_288.wkt", streets=True)


@pytest.fixture(scope="session")
def monaco_grid_37():
    """A real Monaco grid of 32 buildings (tests/data/monaco_grid_37.wkt) where the graph
    engine's outlines cut crumbs off a part (gis.partition.outline._welded)."""
    return _monaco_grid("monaco_grid_37.wkt")


@pytest.fixture(scope="session")
def monaco_grid_69():
    """A real Monaco grid of 3 buildings (5, 259 and 48 households), itself narrow (PP 0.18),
    as the graph engine's split of its community drew it, with streets
    (tests/data/monaco_grid_69.wkt)."""
    return _monaco_grid("monaco_grid_69.wkt")


@pytest.fixture(scope="session")
def monaco_grid_105():
    """A real Monaco grid of 34 buildings (365 households, one tower of 53) as the graph
    engine's split of its community drew it, with streets (tests/data/monaco_grid_105.wkt),
    where the passes bring the engine's one short part in bounds."""
    return _monaco_grid("monaco_grid_105.wkt")


@pytest.fixture(scope="session")
def monaco_grid_213():
    """A real Monaco grid of 10 buildings (437 households, towers of 128, 96 and 53) as the
    graph engine's split of its community drew it (tests/data/monaco_grid_213.wkt), where only
    groupings the graph engine's sweeps do not draw put every part in bounds."""
    return _monaco_grid("monaco_grid_213.wkt")


@pytest.fixture(scope="session")
def wuhan_grid_12():
    """A real Wuhan grid of 6 buildings (332, 54, 35, 26, 22 and 6 households) as the graph
    engine's split of its community drew it (tests/data/wuhan_grid_12.wkt): 35 + 6 and 26 + 22
    are the only parts within 30-50, and 26 lies between 6 and 35."""
    return _monaco_grid("wuhan_grid_12.wkt", "wuhan")


@pytest.fixture(scope="session")
def monaco_grid_235():
    """A real Monaco grid of 13 buildings (429 households, towers of 54 and 92) as the graph
    engine's split of its community drew it (tests/data/monaco_grid_235.wkt), where the land
    round the towers brings two short parts in bounds once the passes make it compact."""
    return _monaco_grid("monaco_grid_235.wkt")


@pytest.fixture(scope="session")
def wuhan_grid_1():
    """A real Wuhan grid of 8 buildings (193, 143, 44, 41, 31, 28, 11 and 1 households) as
    the graph engine's split of its community drew it (tests/data/wuhan_grid_1.wkt), where the
    engine leaves parts of 28 and 52 that the passes do not mend and the re-split does."""
    return _monaco_grid("wuhan_grid_1.wkt", "wuhan")


@pytest.fixture(scope="session")
def shanghai_community_32():
    """A real community of the Bund set of 31 buildings (2,916 households, one tower of 692)
    as the real-city bench draws it from the streets (tests/data/shanghai_community_32.wkt),
    where the tower's Voronoi region reaches far into the land between the grids."""
    return _monaco_grid("shanghai_community_32.wkt", "shanghai")


@pytest.fixture(scope="session")
def wuhan_community_4():
    """A real community of the Wuhan set of 14 buildings (2,119 households, one tower of 803)
    as the real-city bench draws it from the streets (tests/data/wuhan_community_4.wkt),
    where the line through the widest gap beside the tower leaves its grid a wedge of land."""
    return _monaco_grid("wuhan_community_4.wkt", "wuhan")


@pytest.fixture(scope="session")
def shanghai_community_8():
    """A real community of the Bund set of 26 buildings (7,707 households, towers of 2,718
    and 749) as the real-city bench draws it from the streets, its outline rounded to 1e-9
    degrees (tests/data/shanghai_community_8.wkt), with those streets: a re-split of four
    divisions leaves a grid of buildings of 277 and 240 households (517)."""
    return _monaco_grid("shanghai_community_8.wkt", "shanghai", streets=True)


@pytest.fixture(scope="session")
def monaco_grid_51():
    """A real Monaco grid of 24 buildings (488 households, one tower of 61) as the graph
    engine's split of its community drew it (tests/data/monaco_grid_51.wkt), with the streets
    the bench gives the split, where only a division drawn from groupings of a cluster's
    households brings the last part in bounds."""
    return _monaco_grid("monaco_grid_51.wkt", streets=True)


@pytest.fixture(scope="session")
def bund_grid_106():
    """A real grid of the Bund set of 12 buildings (423 households, towers of 100 and 70) as
    the graph engine's split of its community drew it (tests/data/shanghai_grid_106.wkt),
    with the streets the bench gives the split: the re-split's clusters round its part of 27
    households divide within the bounds only with a part a little under the floor of 0.2."""
    return _monaco_grid("shanghai_grid_106.wkt", "shanghai", streets=True)

