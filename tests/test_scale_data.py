"""The scale bench's generator (bench/scale_data.py): the same statements give the same rows
wherever they run, every row lies where its attribution says, and the rollup filled after the
trigger-free load is exactly the one the rollup triggers keep."""

from __future__ import annotations

import os

import psycopg
import pytest

from bench import scale_data
from bench.stats_bench import build_district
from gis.database import libpq_url
from tests.citus import on_citus
from tests.conftest import fresh_database

COUNTY = "330299"
PER_DISTRICT, DAYS, PER_PATROL, MICRO = 3_001, 3, 4, 10
YEAR = 2025


@pytest.fixture(scope="module")
def region(server_url: str):
    """A migrated database of its own with one district of 1,000 micro-grids (2 streets)."""
    with fresh_database(server_url, f"wangge_scale_data_{os.getpid()}") as url, \
            psycopg.connect(libpq_url(url), autocommit=True) as conn:
        build_district(conn, county=COUNTY, x0=119.0, y0=29.0, size=0.06, streets=2,
                       communities=5, grids=10, micro=MICRO)
        yield url, conn


def _load(region) -> dict[str, tuple]:
    url, conn = region
    if on_citus(conn):
        from bench import scale_citus

        scale_citus.load_facts(url, [COUNTY], PER_DISTRICT, YEAR, DAYS, PER_PATROL, MICRO)
    else:
        scale_data.load_facts(conn, [COUNTY], PER_DISTRICT, YEAR, DAYS, PER_PATROL, MICRO)
    return scale_data.checksums(conn, scale_data.TABLES)


def _empty(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE incidents, patrols, patrol_points CASCADE")


def test_the_counts_and_every_row_inside_its_micro_grid(region) -> None:
    _, conn = region
    _empty(conn)
    sums = _load(region)
    grids = conn.execute("SELECT count(*) FROM grids").fetchone()[0]
    assert sums["incidents"][0] == PER_DISTRICT
    assert sums["patrols"][0] == grids * DAYS
    assert sums["patrol_points"][0] == grids * DAYS * PER_PATROL
    # n // M in each micro-grid, the first n % M (by id) one more
    per_micro = [r[0] for r in conn.execute(
        "SELECT count(i.id) FROM micro_grids m LEFT JOIN incidents i ON i.micro_grid_id = m.id "
        "GROUP BY m.id ORDER BY m.id")]
    assert per_micro == [4] + [3] * 999
    # the patrol rate's rollup, filled after the load, counts every point
    assert conn.execute(
        "SELECT day, micro_grid_id, street_id, n FROM patrol_visits ORDER BY 1, 2, 3"
    ).fetchall() == conn.execute(
        "SELECT (t AT TIME ZONE 'UTC')::date, micro_grid_id, street_id, count(*) "
        "FROM patrol_points GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
    for table in ("incidents", "patrol_points"):
        outside = conn.execute(f"""
            SELECT count(*) FROM {table} r JOIN micro_grids m ON m.id = r.micro_grid_id
            JOIN grids g ON g.id = m.parent_id JOIN communities c ON c.id = g.parent_id
            WHERE NOT ST_Contains(m.geom, r.geom) OR r.grid_id <> g.id
               OR r.community_id <> c.id OR r.street_id <> c.parent_id""").fetchone()[0]
        assert outside == 0, table
    # a patrol's points lie in its own worker's grid
    assert conn.execute("""
        SELECT count(*) FROM patrol_points pp JOIN patrols p ON p.id = pp.patrol_id
        JOIN workers w ON w.id = p.worker_id JOIN grids g ON g.id = pp.grid_id
        WHERE w.name <> 'W' || g.code""").fetchone()[0] == 0


def test_the_same_rows_every_time_and_new_ids_above_them(region) -> None:
    _, conn = region
    _empty(conn)
    first = _load(region)
    _empty(conn)
    assert _load(region) == first
    # a new incident's id (from the identity sequence) is above every generated one
    seq = conn.execute("SELECT pg_get_serial_sequence('incidents', 'id')").fetchone()[0]
    assert conn.execute("SELECT nextval(%s)", (seq,)).fetchone()[0] > conn.execute(
        "SELECT max(id) FROM incidents").fetchone()[0]


@pytest.mark.single_node
def test_the_rollup_filled_after_the_load_is_the_triggers_own(region) -> None:
    _, conn = region
    _empty(conn)
    _load(region)
    assert conn.execute("SELECT sum(n) FROM incident_rollup").fetchone()[0] == PER_DISTRICT
    # deleting every incident with the triggers on takes each one's contribution back out: an
    # exact fill leaves every counter at zero
    conn.execute("DELETE FROM incidents")
    left = conn.execute("""
        SELECT count(*) FILTER (WHERE n <> 0 OR n_on_time <> 0 OR n_closed <> 0
                                OR abs(close_s) > 1e-6 OR n_sat <> 0 OR sat_sum <> 0
                                OR n_responded <> 0 OR n_sat_good <> 0), count(*)
        FROM incident_rollup""").fetchone()
    assert left[0] == 0 and left[1] > 0
    assert conn.execute("SELECT count(*) FROM incident_close_hist WHERE n <> 0"
                        ).fetchone()[0] == 0


@pytest.mark.citus_only
def test_each_shard_holds_exactly_its_own_rows(region) -> None:
    _, conn = region
    _empty(conn)
    _load(region)
    for table, column in (("incidents", "street_id"), ("patrols", "id"),
                          ("patrol_points", "patrol_id")):
        wrong = conn.execute(
            "SELECT coalesce(sum(result::bigint), 0) FROM run_command_on_shards(%s, $cmd$"
            f"SELECT count(*) FROM %%1$s WHERE get_shard_id_for_distribution_column("
            f"'{table}', {column}) <> substring('%%1$s' FROM '_([0-9]+)$')::bigint$cmd$)",
            (table,)).fetchone()[0]
        assert wrong == 0, table
