"""Fixtures for browser tests on the demo district: its settings, a served app, one Chromium and
a connection to the demo database. A test module takes them with
`from tests.demo_pages import base, browser, demo, demo_settings  # noqa: F401`."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from gis.database import libpq_url
from gis.settings import Settings
from tests.browser import chromium
from tests.conftest import TEST_SECRET
from tests.serving import serve


@pytest.fixture(scope="module")
def demo_settings(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of an app on the demo database (a state folder of its own)."""
    return Settings(database_url=demo_url, secret_key=TEST_SECRET,
                    local_dir=tmp_path_factory.mktemp("demo-pages"))


@pytest.fixture(scope="module")
def base(demo_settings: Settings) -> Iterator[str]:
    """URL of the app on the demo database, served in this process."""
    from api.app import create_app

    with serve(create_app(demo_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


@pytest.fixture()
def demo(demo_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the demo database."""
    with psycopg.connect(libpq_url(demo_url), autocommit=True) as connection:
        yield connection
