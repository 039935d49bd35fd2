"""Planner editing through the API: drafts, edits, publish, history, diff, undo, bad input."""

from __future__ import annotations

import psycopg
from shapely.geometry import box, mapping

from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.test_editing_fixture import CELL, GRIDS, X0, Y0, micro, snapshot, violations

# fixtures shared with the other editing tests
district, edit_app, edit_client, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_client, fx.edit_settings, fx.edit_url, fx.token)


def _building_id(url: str, code: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT id FROM buildings WHERE code = %s", (code,)).fetchone()[0]


def _plan(client, headers, name="p") -> tuple[int, str]:
    r = client.post("/plans", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["etag"]


def _edit(client, headers, plan_id, etag, op):
    return client.post(f"/plans/{plan_id}/edits", json=op, headers={**headers, "If-Match": etag})


def test_move_publish_history_diff_undo(district, edit_client, token) -> None:
    h = token("planner")
    before = snapshot(district)
    tiles_before = edit_client.get("/tiles/micro-grids/16/0/0.pbf", headers=h).headers.get("etag")
    pid, etag = _plan(edit_client, h, "move one building")
    bid = _building_id(district, micro(0, 1) + "B2")  # east side of micro-grid 1
    r = _edit(edit_client, h, pid, etag,
              {"op": "move_buildings", "buildings": [bid], "to": micro(0, 2), "reason": "road"})
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]
    preview = edit_client.get(f"/plans/{pid}/preview", headers=h).json()
    counts = {f["properties"]["code"]: f["properties"]["households"]
              for f in preview["features"]}
    assert counts[micro(0, 1)] == 30 and counts[micro(0, 2)] == 50
    assert snapshot(district) == before  # a draft changes nothing
    tile = edit_client.get(f"/plans/{pid}/tiles/micro-grids/14/13657/6725.pbf", headers=h)
    assert tile.status_code == 200

    r = edit_client.post(f"/plans/{pid}/publish", json={"reason": "fix"},
                         headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert violations(district) == []
    after = snapshot(district)
    assert after["areas"][micro(0, 1)][0] == 30 and after["areas"][micro(0, 2)][0] == 50
    assert after["areas"][GRIDS[0]][0] == 240  # the grid's total is unchanged
    assert after["buildings"][micro(0, 1) + "B2"].startswith(micro(0, 2))
    tiles_after = edit_client.get("/tiles/micro-grids/16/0/0.pbf", headers=h).headers.get("etag")
    if tiles_before is not None:
        assert tiles_after != tiles_before

    hist = edit_client.get(f"/history/micro_grid/{micro(0, 1)}", headers=h).json()
    versions = [f["properties"]["version"] for f in hist["versions"]["features"]]
    assert versions == [1, 2]
    assert [e["action"] for e in hist["log"]] == ["edit", "publish"]
    assert hist["log"][1]["actor"].startswith("planner") and hist["log"][1]["reason"] == "fix"
    diff = edit_client.get(f"/history/micro_grid/{micro(0, 1)}/diff?a=1&b=2", headers=h).json()
    parts = {f["properties"]["part"]: f for f in diff["features"]}
    assert parts["removed"]["properties"]["area_m2"] > 100
    assert parts["added"]["properties"]["area_m2"] < 1

    r = edit_client.post("/plans/undo", json={"reason": "oops"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["plan"]["status"] == "undone"
    assert snapshot(district) == before
    assert violations(district) == []
    assert edit_client.post("/plans/undo", json={}, headers=h).status_code == 409


def test_merge_split_line_and_codes(district, edit_client, token) -> None:
    h = token("admin")
    pid, etag = _plan(edit_client, h)
    r = _edit(edit_client, h, pid, etag, {"op": "merge", "a": micro(0, 1), "b": micro(0, 2)})
    assert r.status_code == 200, r.text
    line = {"type": "LineString", "coordinates": [[X0 + 1.5 * CELL, Y0 + 2.5 * CELL],
                                                  [X0 + 1.5 * CELL, Y0 - 0.5 * CELL]]}
    r = _edit(edit_client, h, pid, r.headers["etag"],
              {"op": "split", "area": micro(0, 1), "line": line})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1 and r.json()["retired"] == 1
    snap = snapshot(district)
    assert micro(0, 2) not in snap["areas"] and snap["areas"][micro(0, 1)][0] == 60
    assert snap["areas"][micro(0, 7)][0] == 20  # the next free code, never a reused one
    for seq in (3, 4, 6):  # untouched codes unchanged
        assert micro(0, seq) in snap["areas"]
    assert violations(district) == []


def test_redraw_by_line_and_polygon(district, edit_client, token) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    line = {"type": "LineString", "coordinates": [[X0 + 1.1 * CELL, Y0 + 2.5 * CELL],
                                                  [X0 + 1.1 * CELL, Y0 + 0.5 * CELL]]}
    r = _edit(edit_client, h, pid, etag, {"op": "redraw", "a": micro(0, 1), "b": micro(0, 2),
                                          "line": line})
    assert r.status_code == 200, r.text
    poly = mapping(box(X0 + 2 * CELL, Y0 + 1.4 * CELL, X0 + 3 * CELL, Y0 + 2 * CELL))
    r = _edit(edit_client, h, pid, r.headers["etag"],
              {"op": "redraw", "area": micro(0, 3), "polygon": poly, "neighbour": micro(0, 6)})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert violations(district) == []
    snap = snapshot(district)
    assert snap["areas"][micro(0, 3)][0] == 20 and snap["areas"][micro(0, 6)][0] == 60


def _rejected(r, check: str) -> dict:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert any(v["check"] == check for v in body["violations"]), body
    assert all(v["codes"] or v["geometry"] for v in body["violations"])
    return body


def test_bad_input_is_rejected_and_nothing_changes(district, edit_client, token) -> None:
    h = token("planner")
    before = snapshot(district)
    pid, etag = _plan(edit_client, h)
    bowtie = {"type": "Polygon", "coordinates": [[[X0, Y0], [X0 + CELL, Y0 + CELL],
                                                  [X0 + CELL, Y0], [X0, Y0 + CELL], [X0, Y0]]]}
    _rejected(_edit(edit_client, h, pid, etag,
                    {"op": "redraw", "area": micro(0, 1), "polygon": bowtie}), "invalid_geometry")
    outside = mapping(box(X0 - CELL, Y0 + CELL, X0 + CELL, Y0 + 2 * CELL))
    body = _rejected(_edit(edit_client, h, pid, etag,
                           {"op": "redraw", "area": micro(0, 1), "polygon": outside}),
                     "containment")
    assert body["violations"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    shrunk = mapping(box(X0, Y0 + 1.5 * CELL, X0 + CELL, Y0 + 2 * CELL))
    body = _rejected(_edit(edit_client, h, pid, etag,
                           {"op": "redraw", "area": micro(0, 1), "polygon": shrunk}), "gap")
    assert micro(0, 1) in body["violations"][0]["codes"]
    bid = _building_id(district, micro(0, 1) + "B1")
    _rejected(_edit(edit_client, h, pid, etag,
                    {"op": "move_buildings", "buildings": [bid], "to": micro(0, 3)}),
              "not_adjacent")
    # a move that empties the source micro-grid
    ids = [_building_id(district, f"{micro(0, 1)}B{i}") for i in range(1, 5)]
    _rejected(_edit(edit_client, h, pid, etag,
                    {"op": "move_buildings", "buildings": ids, "to": micro(0, 2)}), "empty")
    assert edit_client.get(f"/plans/{pid}", headers=h).json()["changes"] == []
    assert snapshot(district) == before


def test_publishing_an_invalid_plan_and_editing_a_published_one(district, edit_client,
                                                                token) -> None:
    h = token("planner")
    before = snapshot(district)
    pid, etag = _plan(edit_client, h)
    # merging two micro-grids of 40 gives 80 households, over the maximum of 60
    r = _edit(edit_client, h, pid, etag, {"op": "merge", "a": micro(1, 1), "b": micro(1, 2)})
    assert r.status_code == 200 and r.json()["warnings"][0]["check"] == "bounds"
    etag = r.headers["etag"]
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": etag})
    body = _rejected(r, "bounds")
    assert body["violations"][0]["codes"] == [micro(1, 1)]
    assert snapshot(district) == before
    check = edit_client.get(f"/plans/{pid}/validate", headers=h).json()
    assert check["valid"] is False
    # fix it within the draft: move a building back out, then publish
    bids = [_building_id(district, f"{micro(1, 2)}B{i}") for i in (2, 4)]
    r = _edit(edit_client, h, pid, etag,
              {"op": "move_buildings", "buildings": bids, "to": micro(1, 3)})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert violations(district) == []
    etag = r.headers["etag"]
    r = _edit(edit_client, h, pid, etag, {"op": "merge", "a": micro(1, 4), "b": micro(1, 5)})
    assert r.status_code == 409 and r.json()["plan_status"] == "published"
    assert edit_client.post(f"/plans/{pid}/discard",
                            headers={**h, "If-Match": etag}).status_code == 409


def test_versions_are_required_and_checked(district, edit_client, token) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    op = {"op": "merge", "a": micro(0, 4), "b": micro(0, 5)}
    r = edit_client.post(f"/plans/{pid}/edits", json=op, headers=h)
    assert r.status_code == 428
    r = _edit(edit_client, h, pid, '"7"', op)
    assert r.status_code == 409 and r.json()["current_version"] == 1
    r = edit_client.post(f"/plans/{pid}/edits", json={**op, "version": 1}, headers=h)
    assert r.status_code == 200
    # a second plan on the same micro-grids, published first, makes this one stale
    other, oetag = _plan(edit_client, h, "other")
    bid = _building_id(district, micro(0, 5) + "B2")
    r = _edit(edit_client, h, other, oetag,
              {"op": "move_buildings", "buildings": [bid], "to": micro(0, 6)})
    r = edit_client.post(f"/plans/{other}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": '"2"'})
    assert r.status_code == 409 and r.json()["stale"][0]["code"] in (micro(0, 5), micro(0, 4))
    r = edit_client.delete(f"/plans/{pid}/edits/last", headers={**h, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["changes"] == []
    assert edit_client.post(f"/plans/{pid}/discard",
                            headers={**h, "If-Match": r.headers["etag"]}).status_code == 200


def test_roles_and_scope(district, edit_client, token) -> None:
    worker = token("commander")
    assert edit_client.post("/plans", json={"name": "x"}, headers=worker).status_code == 403
    confined = token("planner", [("grid", GRIDS[1])])
    pid, etag = _plan(edit_client, confined)
    r = _edit(edit_client, confined, pid, etag,
              {"op": "merge", "a": micro(0, 1), "b": micro(0, 2)})
    assert r.status_code == 403
    r = _edit(edit_client, confined, pid, etag,
              {"op": "merge", "a": micro(1, 1), "b": micro(1, 4)})
    assert r.status_code == 200, r.text


def test_grid_level_move_resplits_micro_grids(district, edit_client, token) -> None:
    h = token("planner")
    pid, etag = _plan(edit_client, h)
    bid = _building_id(district, micro(1, 1) + "B1")  # west edge of grid 2
    r = _edit(edit_client, h, pid, etag, {"op": "move_buildings", "level": "grid",
                                          "buildings": [bid], "to": GRIDS[0]})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    snap = snapshot(district)
    assert snap["areas"][GRIDS[0]][0] == 250 and snap["areas"][GRIDS[1]][0] == 230
    assert snap["buildings"][micro(1, 1) + "B1"].endswith(GRIDS[0])
    assert violations(district) == []
    assert edit_client.post("/plans/undo", json={}, headers=h).status_code == 200
    assert violations(district) == []


def test_undo_without_the_kept_boundary_is_a_conflict_and_changes_nothing(
        district, edit_client, token) -> None:
    """A publish whose kept boundary went missing (e.g. a hand-pruned history) cannot be
    undone: 409 naming the area, and the published boundaries, buildings and plan stay."""
    h = token("planner")
    pid, etag = _plan(edit_client, h, "move, then lose its history")
    bid = _building_id(district, micro(0, 1) + "B2")
    r = _edit(edit_client, h, pid, etag,
              {"op": "move_buildings", "buildings": [bid], "to": micro(0, 2), "reason": "road"})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**h, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    published = snapshot(district)
    with psycopg.connect(libpq_url(district)) as conn:
        gone = conn.execute("DELETE FROM boundary_versions WHERE plan_id = %s", (pid,)).rowcount
    assert gone > 0

    r = edit_client.post("/plans/undo", json={"reason": "oops"}, headers=h)
    assert r.status_code == 409, r.text
    assert "no version" in r.text and "micro_grids" in r.text
    assert snapshot(district) == published
    assert edit_client.get(f"/plans/{pid}", headers=h).json()["status"] == "published"
