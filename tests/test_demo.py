"""The demo district satisfies DESIGN §2 and matches what the foundation issue promises."""

from __future__ import annotations

import psycopg
import pytest

from gis.database import libpq_url
from gis.invariants import check_invariants


@pytest.fixture()
def demo(demo_url: str):
    with psycopg.connect(libpq_url(demo_url), autocommit=True) as connection:
        yield connection


def test_demo_has_every_invariant(demo) -> None:
    assert check_invariants(demo) == []


def test_demo_shape(demo) -> None:
    counts = demo.execute("""SELECT (SELECT count(*) FROM streets), (SELECT count(*) FROM
        communities), (SELECT count(*) FROM grids), (SELECT count(*) FROM grids
        WHERE kind = 'dedicated'), (SELECT count(DISTINCT class) FROM communities)""").fetchone()
    assert counts == (3, 10, 40, 2, 4)
    low, high = demo.execute("SELECT min(households), max(households) FROM grids").fetchone()
    assert low >= 300 and high <= 500
    kinds = dict(demo.execute("""SELECT attributes->>'kind', count(*) FROM buildings
                                 GROUP BY 1""").fetchall())
    assert kinds["tower"] >= 3 and kinds["low_rise"] > 500
    towers = demo.execute("""SELECT min(households), max(households) FROM buildings
                             WHERE attributes->>'kind' = 'tower'""").fetchone()
    assert towers[0] >= 60 and towers[1] <= 120
    low_rise = demo.execute("""SELECT min(households), max(households) FROM buildings
                               WHERE attributes->>'kind' = 'low_rise'""").fetchone()
    assert low_rise[0] >= 6 and low_rise[1] <= 24
    assert demo.execute("SELECT count(*) FROM roads").fetchone()[0] > 40


def test_codes_are_hierarchical_and_dedicated_from_901(demo) -> None:
    rows = demo.execute("SELECT code, kind FROM grids ORDER BY code").fetchall()
    for code, kind in rows:
        assert len(code) == 15 and code.startswith("330199")
        assert (int(code[-3:]) >= 901) == (kind == "dedicated")
    bad = demo.execute("""SELECT count(*) FROM communities c JOIN streets s ON s.id = c.parent_id
                          WHERE left(c.code, 9) <> s.code""").fetchone()[0]
    assert bad == 0


def test_codes_run_west_to_east_then_north_to_south(demo) -> None:
    rows = demo.execute("""SELECT code, ST_X(ST_PointOnSurface(geom)) FROM streets
                           ORDER BY code""").fetchall()
    xs = [x for _, x in rows]
    assert xs == sorted(xs)


def test_activity_covers_every_workflow_state_and_is_attributed(demo) -> None:
    statuses = {s for (s,) in demo.execute("SELECT DISTINCT status FROM incidents")}
    assert statuses == {"reported", "accepted", "rejected", "dispatched", "in_progress",
                        "resolved", "verified", "closed"}
    unattributed = demo.execute("""SELECT count(*) FROM incidents
        WHERE street_id IS NULL OR community_id IS NULL OR grid_id IS NULL""").fetchone()[0]
    assert unattributed == 0
    span = demo.execute("""SELECT max(reported_at) - min(reported_at) FROM incidents""").fetchone()
    assert span[0].days >= 25
    wrong_grid = demo.execute("""SELECT count(*) FROM patrol_points p JOIN grids g
        ON g.id = p.grid_id WHERE NOT ST_Intersects(g.geom, p.geom)""").fetchone()[0]
    assert wrong_grid == 0
    # each event chain starts at 'reported' and follows the workflow
    broken = demo.execute("""SELECT count(*) FROM incidents i WHERE i.status <> (
        SELECT to_status FROM incident_events e
        WHERE e.incident_id = i.id AND e.street_id = i.street_id
        ORDER BY at DESC, id DESC LIMIT 1)""").fetchone()[0]
    assert broken == 0


def test_demo_accounts_exist_for_each_role(demo) -> None:
    roles = {r for (r,) in demo.execute("SELECT role FROM accounts")}
    assert roles == {"admin", "planner", "commander", "worker", "department"}
    departments = demo.execute("SELECT count(*), count(street_id) FROM departments").fetchone()
    assert departments == (10, 9)  # three per street, one for the district
    assignments = demo.execute("SELECT count(DISTINCT worker_id) FROM assignments").fetchone()[0]
    assert assignments >= 80


def test_demo_is_deterministic() -> None:
    from gis.demo_geometry import generate

    first, roads1 = generate(7)
    second, roads2 = generate(7)
    households = [[b.households for b in g.buildings]
                  for s in first.children for c in s.children for g in c.children]
    again = [[b.households for b in g.buildings]
             for s in second.children for c in s.children for g in c.children]
    assert households == again
    assert [r.wkt for r in roads1] == [r.wkt for r in roads2]
