"""Workers follow the boundaries (gis/editing/succession.py): after any sequence of published
merges, splits, re-splits and undos every active assignment points at a current area and every
worker who had an assignment still has one; validate lists who would move and which new areas
would lack a leader."""

from __future__ import annotations

from collections import Counter

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gis.database import libpq_url
from gis.editing import plans
from gis.editing.plans import PlanError
from tests import test_editing_fixture as fx
from tests.test_editing_fixture import GRIDS, load_small_district, micro
from tests.test_editing_stateful import WIDE, _rows, run

edit_url = fx.edit_url

DANGLING = """
SELECT s.id, s.level, s.area_id FROM assignments s
WHERE (s.ends_on IS NULL OR s.ends_on >= current_date) AND NOT EXISTS (
    SELECT 1 FROM micro_grids m WHERE s.level = 'micro_grid' AND m.id = s.area_id
      AND m.valid_to IS NULL
    UNION ALL
    SELECT 1 FROM grids g WHERE s.level = 'grid' AND g.id = s.area_id AND g.valid_to IS NULL)
"""


def staff(url: str) -> set[int]:
    """One micro-grid leader per micro-grid and one full-time worker per grid; their ids."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE assignment_changes, assignments, patrol_points, patrols, workers "
                     "RESTART IDENTITY CASCADE")
        for level, table, role in (("micro_grid", "micro_grids", "micro_grid_leader"),
                                   ("grid", "grids", "full_time")):
            for area_id, code in conn.execute(f"SELECT id, code FROM {table} "
                                              "WHERE valid_to IS NULL ORDER BY code").fetchall():
                worker = conn.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                                      (f"{role} {code}",)).fetchone()[0]
                conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) "
                             "VALUES (%s, %s, %s, %s)", (worker, level, area_id, role))
        return {r[0] for r in conn.execute("SELECT id FROM workers")}


def assigned_workers(url: str) -> set[int]:
    return {r[0] for r in _rows(url, "SELECT DISTINCT worker_id FROM assignments WHERE "
                                     "ends_on IS NULL OR ends_on >= current_date")}


def publish_one(url: str, op: dict) -> dict | None:
    """A plan with one edit, published; None when the edit or the publish is refused."""
    plan = run(url, plans.create_plan, "succession", "hypothesis")
    try:
        out = run(url, plans.edit, plan["id"], plan["version"], op, "hypothesis", WIDE, None)
        return run(url, plans.publish, plan["id"], out["plan"]["version"], "hypothesis", WIDE,
                   None)
    except PlanError as exc:
        assert exc.kind in ("invalid", "not_found"), exc
        return None


class Succession(RuleBasedStateMachine):
    url: str = ""
    counts: Counter = Counter()

    @initialize()
    def load(self) -> None:
        load_small_district(self.url)
        self.workers = staff(self.url)
        self.published = 0

    def _micro(self) -> list[tuple[str, str]]:
        return _rows(self.url, "SELECT code, parent_code FROM micro_grids WHERE valid_to IS NULL "
                     "ORDER BY code")

    def _publish(self, op: dict) -> None:
        if publish_one(self.url, op) is not None:
            self.published += 1
            self.counts[op["op"] + (f"@{op['level']}" if "level" in op else "")] += 1

    @rule(data=st.data())
    def merge(self, data) -> None:
        pairs = _rows(self.url, """
            SELECT a.code, b.code FROM micro_grids a JOIN micro_grids b
              ON a.parent_id = b.parent_id AND a.code < b.code
            WHERE a.valid_to IS NULL AND b.valid_to IS NULL
              AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0
            ORDER BY 1, 2""")
        if pairs:
            a, b = data.draw(st.sampled_from(pairs))
            self._publish({"op": "merge", "a": a, "b": b})

    @rule(data=st.data(), parts=st.integers(2, 3))
    def split(self, data, parts: int) -> None:
        code = data.draw(st.sampled_from([c for c, _ in self._micro()]))
        self._publish({"op": "split", "area": code, "parts": parts})

    @rule(grid=st.sampled_from(GRIDS))
    def resplit(self, grid: str) -> None:
        self._publish({"op": "resplit", "grid": grid})

    @rule()
    def merge_grids(self) -> None:
        self._publish({"op": "merge", "level": "grid", "a": GRIDS[0], "b": GRIDS[1]})

    @rule()
    def undo(self) -> None:
        if self.published:
            run(self.url, plans.undo_last, "hypothesis", None)
            self.published -= 1
            self.counts["undo"] += 1

    @invariant()
    def assignments_follow(self) -> None:
        if not getattr(self, "workers", None):
            return
        assert _rows(self.url, DANGLING) == []
        assert assigned_workers(self.url) == self.workers


@pytest.mark.slow
def test_assignments_always_point_at_current_areas(edit_url: str) -> None:
    Succession.url = edit_url
    Succession.TestCase.settings = settings(max_examples=8, stateful_step_count=8, deadline=None,
                                            derandomize=True,
                                            suppress_health_check=list(HealthCheck))
    Succession.TestCase().runTest()
    assert all(Succession.counts[k] for k in ("merge", "split", "resplit", "undo")), \
        Succession.counts


def test_merge_moves_the_leader_and_validate_lists_it(edit_url: str) -> None:
    load_small_district(edit_url)
    staff(edit_url)
    plan = run(edit_url, plans.create_plan, "merge 1+2", "hypothesis")
    out = run(edit_url, plans.edit, plan["id"], plan["version"],
              {"op": "merge", "a": micro(0, 1), "b": micro(0, 2)}, "hypothesis", WIDE, None)
    check = run(edit_url, plans.check_plan, plan["id"], WIDE, None)
    assert check["moves"] == [{"worker": f"micro_grid_leader {micro(0, 2)}", "worker_id": 2,
                               "role": "micro_grid_leader", "level": "micro_grid",
                               "from": micro(0, 2), "to": micro(0, 1)}]
    assert check["uncovered"] == []
    assert _rows(edit_url, "SELECT count(*) FROM assignment_changes") == [(0,)]  # a dry run
    done = run(edit_url, plans.publish, plan["id"], out["plan"]["version"], "hypothesis", WIDE,
               None)
    assert [m["to"] for m in done["moves"]] == [micro(0, 1)]
    rows = _rows(edit_url, "SELECT from_code, to_code, plan_id, action, reason "
                           "FROM assignment_changes")
    assert rows == [(micro(0, 2), micro(0, 1), plan["id"], "publish", "merge 1+2")]
    run(edit_url, plans.undo_last, "hypothesis", None)
    back = _rows(edit_url, "SELECT m.code FROM assignments s JOIN micro_grids m "
                           "ON m.id = s.area_id WHERE s.worker_id = 2")
    assert back == [(micro(0, 2),)]


def test_split_reports_new_areas_without_a_leader(edit_url: str) -> None:
    load_small_district(edit_url)
    staff(edit_url)
    plan = run(edit_url, plans.create_plan, "split 1", "hypothesis")
    run(edit_url, plans.edit, plan["id"], plan["version"],
        {"op": "split", "area": micro(0, 1), "parts": 2}, "hypothesis", WIDE, None)
    check = run(edit_url, plans.check_plan, plan["id"], WIDE, None)
    assert check["moves"] == []  # micro-grid 1 keeps its code and its leader
    assert [(u["code"][:15], u["role"]) for u in check["uncovered"]] == [
        (GRIDS[0], "micro_grid_leader")]


@pytest.mark.citus  # the split job reads incidents across shards, then deletes micro-grids
def test_split_job_moves_workers_to_the_new_micro_grids(edit_url: str) -> None:
    from importers.split_job import split_grids

    load_small_district(edit_url)
    staff(edit_url)
    report = split_grids(edit_url, [GRIDS[0]], min_households=20, max_households=60)
    assert report.moved == 6
    assert _rows(edit_url, DANGLING) == []
    rows = _rows(edit_url, """
        SELECT c.from_area_id, c.to_area_id, c.action, c.plan_id, m.valid_to IS NULL
        FROM assignment_changes c JOIN micro_grids m ON m.id = c.to_area_id ORDER BY c.id""")
    assert len(rows) == 6 and {r[2] for r in rows} == {"split"} and {r[3] for r in rows} == {None}
    assert all(r[0] != r[1] and r[4] for r in rows)
    # the old micro-grids were replaced (deleted: no incident refers to them)
    assert _rows(edit_url, "SELECT count(*) FROM micro_grids WHERE id = ANY(%s)",
                 ([r[0] for r in rows],)) == [(0,)]
