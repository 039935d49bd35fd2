"""Edits as the workbench sends them: lines without area codes (the areas are found from the
line), and attribute edits (community class, grid kind) with history, workers and undo."""

from __future__ import annotations

from tests import test_editing_fixture as fx
from tests.test_editing_fixture import CELL, COMMUNITY, GRIDS, X0, Y0, micro, snapshot, violations
from tests.test_editing_stateful import _rows
from tests.test_plans import _edit, _plan
from tests.test_succession import DANGLING, staff

district, edit_app, edit_client, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_client, fx.edit_settings, fx.edit_url, fx.token)


def _line(*points) -> dict:
    return {"type": "LineString",
            "coordinates": [[X0 + x * CELL, Y0 + y * CELL] for x, y in points]}


def test_lines_find_their_areas_and_bad_lines_write_nothing(district, edit_client, token) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    # crosses nothing: 422 naming the check, the plan keeps its version
    r = _edit(edit_client, h, pid, etag, {"op": "redraw", "line": _line((2.5, 2.3), (2.8, 2.6))})
    assert r.status_code == 422 and r.json()["violations"][0]["check"] == "not_crossing"
    r = _edit(edit_client, h, pid, etag, {"op": "split", "line": _line((2.5, 2.3), (2.8, 2.6))})
    assert r.status_code == 422 and r.json()["violations"][0]["check"] == "not_crossing"
    assert edit_client.get(f"/plans/{pid}", headers=h).json()["version"] == 1
    # a line 0.3 cells west of the boundary of micro-grids 2 and 3 moves that boundary (not
    # micro-grid 2's boundary with 1 or 5, which the line also runs near or into)
    r = _edit(edit_client, h, pid, etag, {"op": "redraw", "line": _line((1.7, 2.3), (1.7, 0.8))})
    assert r.status_code == 200, r.text
    counts = {f["properties"]["code"]: f["properties"]["households"]
              for f in r.json()["plan"]["preview"]["features"]}
    assert counts == {micro(0, 2): 20, micro(0, 3): 60}
    etag = r.headers["etag"]
    # a split line across micro-grid 4 without naming it
    r = _edit(edit_client, h, pid, etag, {"op": "split", "line": _line((-0.2, 0.5), (1.2, 0.5))})
    assert r.status_code == 200, r.text
    new = [f["properties"] for f in r.json()["plan"]["preview"]["features"]
           if f["properties"]["status"] == "new"]
    assert len(new) == 1 and new[0]["parent_code"] == GRIDS[0]


def test_grid_kind_and_community_class_through_a_plan(district, edit_client, token) -> None:
    staff(district)  # before the planner's account: it truncates accounts by cascade
    h = token("planner")
    before = snapshot(district)
    pid, etag = _plan(edit_client, h, "school grid")
    bad = _edit(edit_client, h, pid, etag, {"op": "set_attributes", "level": "community",
                                             "area": COMMUNITY, "class": "E"})
    assert bad.status_code == 422
    r = _edit(edit_client, h, pid, etag, {"op": "set_attributes", "level": "grid",
                                           "area": GRIDS[1], "kind": "dedicated"})
    assert r.status_code == 200, r.text
    r = _edit(edit_client, h, pid, r.headers["etag"],
              {"op": "set_attributes", "level": "community", "area": COMMUNITY, "class": "C"})
    assert r.status_code == 200, r.text
    check = edit_client.get(f"/plans/{pid}/validate", headers=h).json()
    assert check["valid"] and len(check["moves"]) == 7  # the grid's worker and six leaders
    r = edit_client.post(f"/plans/{pid}/publish", json={"reason": "a school"},
                         headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    school = COMMUNITY + "901"
    rows = _rows(district, "SELECT code, kind, households FROM grids WHERE valid_to IS NULL "
                           "ORDER BY code")
    assert rows == [(GRIDS[0], "standard", 240), (school, "dedicated", 240)]
    micro_codes = [r[0] for r in _rows(district, "SELECT code FROM micro_grids WHERE "
                                                 "valid_to IS NULL AND parent_code = %s "
                                                 "ORDER BY code", (school,))]
    assert micro_codes == [school + f"{i:03d}" for i in range(1, 7)]
    assert _rows(district, "SELECT class FROM communities") == [("C",)]
    assert violations(district) == [] and _rows(district, DANGLING) == []
    hist = edit_client.get(f"/history/community/{COMMUNITY}", headers=h).json()
    assert [e["action"] for e in hist["log"]][-1] == "publish"
    assert [f["properties"]["author"] for f in hist["versions"]["features"]][-1].startswith(
        "planner")
    assert edit_client.post("/plans/undo", json={}, headers=h).status_code == 200
    assert snapshot(district) == before and _rows(district, DANGLING) == []
    assert _rows(district, "SELECT class FROM communities") == [("A",)]
