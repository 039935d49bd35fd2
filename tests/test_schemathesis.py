"""Schema fuzzing in CI: every operation of /openapi.json, as every role, on a demo copy.

A bounded run of bench/schemathesis_bench.py: generated requests (valid and schema-breaking) with
a valid token of each role must never get a 5xx, and every answer must carry a declared status,
the declared content type and a body conforming to the declared schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from api.app import create_app
from bench.schemathesis_bench import ROLES, copy_demo, fuzz, make_tokens
from gis import localdb
from gis.database import libpq_url
from gis.settings import Settings
from tests.conftest import TEST_SECRET
from tests.serving import serve


@pytest.fixture(scope="module")
def fuzz_settings(server_url: str, demo_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A throw-away copy of the demo database (fuzzed writes never touch the shared demo)."""
    name = f"wangge_fuzz_{os.getpid()}"
    source = demo_url.rpartition("/")[2]
    localdb.drop_database(server_url, name)
    try:  # a template copy takes a second, but needs the demo database idle
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        url = f"{server_url.rpartition('/')[0]}/{name}"
    except psycopg.errors.ObjectInUse:
        url = copy_demo(server_url, name)
    yield Settings(database_url=url, secret_key=TEST_SECRET,
                   local_dir=tmp_path_factory.mktemp("fuzz"))
    localdb.drop_database(server_url, name)


@pytest.mark.timeout(1500)  # 53 operations x 4 roles x 2 modes on a shared 2-core machine
def test_every_operation_every_role_no_5xx_and_conforming(fuzz_settings: Settings) -> None:
    tokens = make_tokens(fuzz_settings.database_url, fuzz_settings)
    assert set(tokens) == set(ROLES)
    with serve(create_app(fuzz_settings), log_level="critical") as base_url:
        figures = fuzz(base_url, tokens, max_examples=3, negative=True)
    assert figures.operations >= 40
    assert figures.requests > figures.operations * len(ROLES) * 2
    assert figures.server_errors == 0, figures.failures
    assert figures.nonconforming == 0, figures.failures
