"""A planner bound to areas sees and touches only plans and areas inside them: other plans and
areas answer 404 exactly like unknown ones; undo, discard and taking out the last edit of
someone else's draft check every area they touch."""

from __future__ import annotations

import psycopg

from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.test_editing_fixture import GRIDS, micro, snapshot

district, edit_app, edit_client, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_client, fx.edit_settings, fx.edit_url, fx.token)


def _draft_in_grid_2(client, headers, url) -> tuple[int, str]:
    """A draft by an unbound planner that moves a building inside grid 2."""
    r = client.post("/plans", json={"name": "grid 2"}, headers=headers)
    pid, etag = r.json()["id"], r.headers["etag"]
    with psycopg.connect(libpq_url(url)) as conn:
        bid = conn.execute("SELECT id FROM buildings WHERE code = %s",
                           (micro(1, 1) + "B2",)).fetchone()[0]
    r = client.post(f"/plans/{pid}/edits", headers={**headers, "If-Match": etag}, json={
        "op": "move_buildings", "buildings": [bid], "to": micro(1, 2)})
    assert r.status_code == 200, r.text
    return pid, r.headers["etag"]


def test_plans_and_areas_outside_a_planners_binding_are_not_there(district, edit_client,
                                                                   token) -> None:
    anyone = token("planner")
    pid, etag = _draft_in_grid_2(edit_client, anyone, district)
    bound = token("planner", [("grid", GRIDS[0])])
    mine = edit_client.post("/plans", json={"name": "mine"}, headers=bound).json()["id"]

    listed = [p["id"] for p in edit_client.get("/plans", headers=bound).json()["plans"]]
    assert pid not in listed and mine in listed
    assert pid in [p["id"] for p in edit_client.get("/plans", headers=anyone).json()["plans"]]
    missing = edit_client.get("/plans/999999", headers=bound)
    for path in (f"/plans/{pid}", f"/plans/{pid}/preview", f"/plans/{pid}/validate",
                 f"/plans/{pid}/tiles/micro-grids/14/13657/6725.pbf"):
        r = edit_client.get(path, headers=bound)
        assert r.status_code == 404, path
        assert r.json()["detail"].replace(str(pid), "N") == \
            missing.json()["detail"].replace("999999", "N")
    with_version = {**bound, "If-Match": etag}
    assert edit_client.delete(f"/plans/{pid}/edits/last", headers=with_version
                              ).status_code == 404
    assert edit_client.post(f"/plans/{pid}/discard", headers=with_version).status_code == 404
    assert edit_client.post(f"/plans/{pid}/publish", headers=with_version).status_code == 404
    plan = edit_client.get(f"/plans/{pid}", headers=anyone).json()
    assert plan["status"] == "draft" and len(plan["changes"]) == 1

    for path in (f"/areas/micro_grid/{micro(1, 1)}", f"/validate/micro_grid/{micro(1, 1)}",
                 f"/history/micro_grid/{micro(1, 1)}",
                 f"/history/micro_grid/{micro(1, 1)}/diff?a=1&b=2", f"/areas/grid/{GRIDS[1]}",
                 f"/map/plan/area/grid/{GRIDS[1]}", f"/map/plan/area/micro_grid/{micro(1, 1)}"):
        assert edit_client.get(path, headers=bound).status_code == 404, path
    assert edit_client.get(f"/map/plan/area/grid/{GRIDS[0]}", headers=bound).status_code == 200
    assert edit_client.get(f"/map/plan/area/grid/{GRIDS[1]}", headers=anyone).status_code == 200
    assert edit_client.get(f"/areas/micro_grid/{micro(0, 1)}", headers=bound).status_code == 200
    assert edit_client.get(f"/validate/micro_grid/{micro(0, 1)}",
                           headers=bound).status_code == 200
    assert edit_client.get(f"/history/micro_grid/{micro(0, 1)}",
                           headers=bound).status_code == 200


def test_undo_of_a_resplit_outside_the_binding_is_refused(district, edit_client,
                                                          token) -> None:
    anyone = token("planner")
    r = edit_client.post("/plans", json={"name": "resplit"}, headers=anyone)
    pid, etag = r.json()["id"], r.headers["etag"]
    r = edit_client.post(f"/plans/{pid}/edits", headers={**anyone, "If-Match": etag},
                         json={"op": "resplit", "grid": GRIDS[1]})
    assert r.status_code == 200, r.text
    r = edit_client.post(f"/plans/{pid}/publish", headers={**anyone,
                                                          "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    after = snapshot(district)
    bound = token("planner", [("grid", GRIDS[0])])
    r = edit_client.post("/plans/undo", json={"plan_id": pid}, headers=bound)
    assert r.status_code == 403, r.text
    assert snapshot(district) == after
    assert edit_client.post("/plans/undo", json={"plan_id": pid},
                            headers=anyone).status_code == 200
