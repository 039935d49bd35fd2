"""`/validate/{level}/{code}`: the checks of one area, each naming areas and a geometry."""

from __future__ import annotations

import psycopg

from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.test_editing_fixture import COMMUNITY, GRIDS, micro

district, edit_app, edit_client, edit_settings, edit_url, token = (
    fx.district, fx.edit_app, fx.edit_client, fx.edit_settings, fx.edit_url, fx.token)


def test_valid_areas(district, edit_client, token) -> None:
    h = token("planner")
    for level, code in [("community", COMMUNITY), ("grid", GRIDS[0]), ("micro_grid", micro(1, 3))]:
        r = edit_client.get(f"/validate/{level}/{code}", headers=h)
        assert r.status_code == 200, r.text
        assert r.json() == {"code": code, "version": 1, "valid": True, "violations": []}
    assert edit_client.get("/validate/grid/999", headers=h).status_code == 404
    assert edit_client.get("/areas/grid/" + GRIDS[0], headers=h).headers["etag"] == '"1"'


def test_broken_grid_lists_each_violation(district, edit_client, token) -> None:
    with psycopg.connect(libpq_url(district), autocommit=True) as conn:
        # micro-grid 1 grows over micro-grid 2; micro-grid 6 loses its buildings' corner
        conn.execute("""UPDATE micro_grids SET geom = ST_Multi(ST_Union(geom, (SELECT geom
                        FROM micro_grids WHERE code = %s))) WHERE code = %s""",
                     (micro(0, 2), micro(0, 1)))
        conn.execute("UPDATE buildings SET micro_grid_id = NULL WHERE code = %s",
                     (micro(0, 6) + "B1",))
        conn.execute("UPDATE micro_grids SET households = 5 WHERE code = %s", (micro(0, 3),))
    h = token("planner")
    body = edit_client.get(f"/validate/grid/{GRIDS[0]}", headers=h).json()
    assert body["valid"] is False
    checks = {v["check"]: v for v in body["violations"]}
    assert set(checks) >= {"overlap", "building_assignment", "bounds"}
    assert checks["overlap"]["codes"] == [micro(0, 1), micro(0, 2)]
    assert checks["overlap"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert checks["bounds"]["codes"] == [micro(0, 3)]
    one = edit_client.get(f"/validate/micro_grid/{micro(0, 3)}", headers=h).json()
    assert [v["check"] for v in one["violations"]] == ["bounds"]
    assert edit_client.get(f"/validate/grid/{GRIDS[1]}", headers=h).json()["valid"] is True
