"""The local Citus cluster of `wangge db up --citus` (run by the Citus stage of ./wangge test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from gis import citus_build, citus_local
from gis.database import libpq_url
from gis.localdb import LocalDbError
from gis.settings import PROJECT_ROOT, Settings

pytestmark = [pytest.mark.citus, pytest.mark.citus_only]


def test_citus_is_built_once_and_the_release_is_checked(tmp_path: Path) -> None:
    settings = Settings()
    assert citus_build.installed_version().startswith(citus_build.release_of(
        settings.citus_source) + "-")
    # a second `db up --citus` builds nothing
    assert citus_build.ensure_citus(settings.citus_source, lambda _m: None) is False
    with pytest.raises(LocalDbError, match="citus-X.Y.Z.tar.gz"):
        citus_build.release_of(tmp_path / "something.tar.gz")


def test_every_database_has_the_workers_registered(db_url: str) -> None:
    settings = Settings()
    with psycopg.connect(libpq_url(db_url)) as conn:
        workers = conn.execute("SELECT count(*) FROM citus_get_active_worker_nodes()"
                               ).fetchone()[0]
        extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
    assert workers == citus_local.worker_count(settings) >= 1
    assert {"citus", "postgis"} <= extensions
    name = db_url.rpartition("/")[2]
    assert citus_local.create_database(settings, name) is False  # complete: nothing to do


def test_points_on_the_workers_join_polygons_of_a_reference_table(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE probe_areas (id int PRIMARY KEY, geom geometry(Polygon, 4326))")
        conn.execute("CREATE TABLE probe_points (area_key int, geom geometry(Point, 4326))")
        try:
            conn.execute("SELECT create_reference_table('probe_areas')")
            conn.execute("SELECT create_distributed_table('probe_points', 'area_key')")
            conn.execute("INSERT INTO probe_areas SELECT i, ST_MakeEnvelope(i, 0, i + 1, 1, 4326) "
                         "FROM generate_series(0, 9) i")
            conn.execute("INSERT INTO probe_points SELECT i % 97, "
                         "ST_SetSRID(ST_Point((i % 10) + 0.5, 0.5), 4326) "
                         "FROM generate_series(1, 1000) i")
            counts = conn.execute(
                "SELECT a.id, count(*) FROM probe_points p JOIN probe_areas a "
                "ON ST_Contains(a.geom, p.geom) GROUP BY a.id ORDER BY a.id").fetchall()
            placements = conn.execute(
                "SELECT count(DISTINCT nodeport) FROM pg_dist_shard_placement p "
                "JOIN pg_dist_shard s USING (shardid) "
                "WHERE s.logicalrelid = 'probe_points'::regclass").fetchone()[0]
        finally:
            conn.execute("DROP TABLE IF EXISTS probe_points, probe_areas")
    assert counts == [(i, 100) for i in range(10)]
    assert placements == citus_local.worker_count(Settings())


def test_bad_requests_for_a_cluster_name_the_fix() -> None:
    settings = Settings()
    have = citus_local.worker_count(settings)
    with pytest.raises(LocalDbError, match=f"--workers {have}"):
        citus_local.up(settings, lambda _m: None, workers=have + 1)
    proc = subprocess.run([sys.executable, "-m", "cli.main", "db", "up", "--citus"],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                          env={**os.environ, "DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})
    assert proc.returncode == 1 and "drop --citus" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
