"""The planner workbench (/map/plan) in headless Chromium: a planner's whole tasks from login,
with mouse clicks and drawn lines on the map (no ids typed), checked against the database.

The small editing district (tests/test_editing_fixture.py): two grids of 3 x 2 micro-grids, four
10-household buildings each; micro-grid bounds 20-60.
"""

from __future__ import annotations

import math

import psycopg
import pytest
from playwright.sync_api import Page
from shapely import wkb

from gis.accounts import hash_password
from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.browser import chromium, login, screenshot, wait_js
from tests.serving import serve
from tests.test_editing_fixture import CELL, GRIDS, X0, Y0, micro, snapshot, violations
from tests.test_succession import staff

district, edit_app, edit_settings, edit_url = (fx.district, fx.edit_app, fx.edit_settings,
                                               fx.edit_url)
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def base(edit_app):
    with serve(edit_app) as url:
        yield url


def _planner(url: str, name: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (username, password_hash, role) VALUES "
                     "(%s, %s, 'planner')", (name, hash_password("pw-" + name)))


def _open(browser, base: str, name: str, viewport=DESKTOP, zoom: int = 18,
          cx: float = 1.8) -> tuple:
    context = browser.new_context(viewport=viewport)
    page, watch = login(context, base, name, "pw-" + name, "/map/plan")
    wait_js(page, "WG.bench && WG.bench.loads >= 1", timeout_ms=30_000)
    # look closely at the first grid (buildings and micro-grids drawn), clear of the panels
    loads = page.evaluate("WG.bench.loads")
    page.evaluate(f"WG.map.setView([{Y0 + CELL}, {X0 + cx * CELL}], {zoom}, {{animate: false}})")
    wait_js(page, f"WG.bench.loads > {loads} && WG.bench.buildingFeatures.length >= 24",
            timeout_ms=30_000)
    return context, page, watch


def _xy(page: Page, cx: float, cy: float) -> tuple[float, float]:
    """Page pixel of the district point (X0 + cx * CELL, Y0 + cy * CELL)."""
    pt = page.evaluate(f"(() => {{ const p = WG.map.latLngToContainerPoint("
                       f"[{Y0 + cy * CELL}, {X0 + cx * CELL}]); "
                       "const r = WG.map.getContainer().getBoundingClientRect(); "
                       "return [p.x + r.left, p.y + r.top]; })()")
    return pt[0], pt[1]


def _click(page: Page, cx: float, cy: float) -> None:
    page.mouse.click(*_xy(page, cx, cy))


def _draw_line(page: Page, points: list[tuple[float, float]]) -> None:
    """Draw a line with the active tool: click each vertex, double-click the last."""
    for cx, cy in points[:-1]:
        _click(page, cx, cy)
        page.wait_for_timeout(120)
    page.mouse.dblclick(*_xy(page, *points[-1]))


def _edits(page: Page, n: int) -> None:
    try:
        wait_js(page, f"WG.bench.edits >= {n} && !WG.bench.busy", timeout_ms=60_000)
    except AssertionError as exc:
        state = page.evaluate("JSON.stringify({m: WG.bench.message, e: WG.bench.error, "
                              "t: WG.bench.tool, d: WG.bench.drawPurpose, "
                              "g: WG.map.pm.globalDrawModeEnabled()})")
        raise AssertionError(f"no edit {n}: {state}") from exc


def _area(url: str, code: str):
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT households, ST_AsBinary(geom) FROM micro_grids "
                           "WHERE code = %s AND valid_to IS NULL", (code,)).fetchone()
    return row[0], wkb.loads(bytes(row[1]))


def test_redraw_a_boundary_by_line_and_publish(district, base) -> None:
    _planner(district, "wb_redraw")
    before = snapshot(district)
    with chromium() as browser:
        _context, page, watch = _open(browser, base, "wb_redraw")
        # pick micro-grid 1 to read its panel: code, households, bounds, parent, workers
        _click(page, 0.5, 1.5)
        wait_js(page, "WG.bench.info !== null")
        info = page.get_by_test_id("area-info").inner_text()
        assert micro(0, 1) in info and "40" in info and GRIDS[0] in info
        page.fill("#wb-plan-name", "挪动边界")
        page.get_by_test_id("plan-new").click()
        wait_js(page, "WG.bench.plan && WG.bench.plan.status === 'draft'")
        page.get_by_test_id("tool-redraw").click()
        # a line from north of the grid down across micro-grids 1 and 2, 0.3 cells east of
        # their shared boundary: it becomes the new boundary, and mg2's two west buildings go
        _draw_line(page, [(1.3, 2.3), (1.3, 0.7)])
        _edits(page, 1)
        preview = page.evaluate("WG.bench.plan.preview")
        counts = {f["properties"]["code"]: f["properties"]["households"]
                  for f in preview["features"]}
        assert counts == {micro(0, 1): 60, micro(0, 2): 20}
        labels = sorted(page.locator(".wb-hh-draft").all_inner_texts())
        assert labels == ["20", "60"]
        assert page.locator("path.wb-draft").count() == 2
        screenshot(page, "planner-workbench-redraw")
        assert snapshot(district) == before  # a draft writes nothing
        page.get_by_test_id("plan-publish").click()
        check = page.get_by_test_id("publish-check")
        check.wait_for(state="visible")
        page.get_by_test_id("publish-confirm").click()
        wait_js(page, "WG.bench.published === 1", timeout_ms=30_000)
        households, geom = _area(district, micro(0, 1))
        assert households == 60
        x0, y0, x1, y1 = geom.bounds
        assert abs(x1 - (X0 + 1.3 * CELL)) < 1e-9 and abs(x0 - X0) < 1e-9
        assert _area(district, micro(0, 2))[0] == 20
        assert violations(district) == []
        rows = page.get_by_test_id("plan-list").inner_text()
        assert "挪动边界" in rows and "wb_redraw" in rows
        # history of micro-grid 1: two versions with author and reason; tick both -> diff
        _click(page, 0.5, 1.5)
        versions = page.get_by_test_id("history-list").locator("[data-testid=history-version]")
        versions.nth(1).wait_for(state="visible")
        assert versions.count() == 2
        assert "wb_redraw" in versions.nth(1).inner_text()
        assert "挪动边界" in versions.nth(1).inner_text()
        versions.nth(0).locator("input").check()
        versions.nth(1).locator("input").check()
        diff = wait_js(page, "WG.bench.diff")
        added = [f for f in diff["features"] if f["properties"]["part"] == "added"][0]
        metres = 0.3 * CELL * 111_320 * math.cos(math.radians(Y0)) * CELL * 110_574
        assert abs(added["properties"]["area_m2"] - metres) / metres < 0.02
        assert page.locator("path.wb-diff-added").count() == 1
        watch.assert_clean()


def _draw_polygon(page: Page, points: list[tuple[float, float]]) -> None:
    _draw_line(page, points)


def test_lasso_move_and_merge_two_micro_grids(district, base) -> None:
    _planner(district, "wb_merge")
    with chromium() as browser:
        _context, page, watch = _open(browser, base, "wb_merge")
        # move buildings: lasso the two east buildings of micro-grid 1, then click micro-grid 2
        page.get_by_test_id("tool-move").click()
        page.get_by_test_id("tool-lasso").click()
        _draw_polygon(page, [(0.6, 1.1), (0.9, 1.1), (0.9, 1.9), (0.6, 1.9)])
        wait_js(page, "Object.keys(WG.bench.buildings).length === 2")
        _click(page, 1.5, 1.5)
        _edits(page, 1)
        counts = {f["properties"]["code"]: f["properties"]["households"]
                  for f in page.evaluate("WG.bench.plan.preview")["features"]}
        assert counts == {micro(0, 1): 20, micro(0, 2): 60}
        # merge micro-grids 4 and 5 (south row): 80 households, over the bounds of 20-60
        page.get_by_test_id("tool-merge").click()
        _click(page, 0.5, 0.5)
        _click(page, 1.5, 0.5)
        _edits(page, 2)
        preview = page.evaluate("WG.bench.plan.preview")
        assert [r["code"] for r in preview["retired"]] == [micro(0, 5)]
        merged = [f for f in preview["features"] if f["properties"]["code"] == micro(0, 4)]
        assert merged[0]["properties"]["households"] == 80
        assert page.locator("path.wb-draft.wb-over").count() == 1
        # the warning is listed in the page's language and drawn; a click zooms to it
        items = page.get_by_test_id("violations").locator("a")
        assert items.count() == 1 and "户数超出标准" in items.first.inner_text()
        assert page.locator("path.wb-violation-shape").count() == 1
        items.first.click()
        wait_js(page, "WG.bench.zoomed === 1")
        page.click("#wg-lang")
        assert "Households outside the bounds" in items.first.inner_text()
        # publishing shows the validation first: over the bounds, it cannot be confirmed
        before = snapshot(district)
        page.get_by_test_id("plan-publish").click()
        page.get_by_test_id("publish-check").wait_for(state="visible")
        assert page.get_by_test_id("publish-confirm").is_disabled()
        assert "does not validate" in page.get_by_test_id("publish-check").inner_text()
        # take the merge back, then discard the plan: nothing was written
        page.get_by_test_id("plan-drop-last").click()
        wait_js(page, "WG.bench.plan.changes.length === 1")
        page.get_by_test_id("plan-discard").click()
        wait_js(page, "WG.bench.plan === null")
        assert snapshot(district) == before
        watch.assert_clean()


def test_resplit_a_grid_from_its_preview_then_undo(district, base) -> None:
    staff(district)  # (truncates workers and, by cascade, accounts: before the planner)
    _planner(district, "wb_resplit")
    before = snapshot(district)
    with chromium() as browser:
        _context, page, watch = _open(browser, base, "wb_resplit")
        page.select_option("[data-testid=edit-level]", "grid")
        _click(page, 1.5, 1.0)
        wait_js(page, f"WG.bench.selected && WG.bench.selected.code === '{GRIDS[0]}'")
        page.get_by_test_id("tool-resplit").click()
        apply = page.get_by_test_id("preview-apply")
        apply.wait_for(state="visible", timeout=30_000)
        parts = int(page.inner_text("#p-parts"))
        assert page.locator("path.wg-part").count() == parts
        apply.click()
        _edits(page, 1)
        preview = page.evaluate("WG.bench.plan.preview")
        assert sorted(r["code"] for r in preview["retired"]) == [micro(0, i) for i in range(1, 7)]
        new = [f["properties"] for f in preview["features"]
               if f["properties"]["layer"] == "micro_grids"]
        assert len(new) == parts and sum(p["households"] for p in new) == 240
        # before publishing: the six micro-grid leaders who would move, the new areas left
        # without one
        page.get_by_test_id("plan-publish").click()
        page.get_by_test_id("publish-check").wait_for(state="visible")
        assert page.locator(".wb-check .wb-move").count() == 6
        assert page.locator(".wb-check .wb-uncovered").count() == parts - len(
            {m["to"] for m in page.evaluate("WG.bench.check.moves")})
        assert "微网格长" in page.get_by_test_id("publish-check").inner_text()
        page.get_by_test_id("publish-confirm").click()
        wait_js(page, "WG.bench.published === 1", timeout_ms=30_000)
        after = snapshot(district)
        with psycopg.connect(libpq_url(district)) as conn:
            moved = conn.execute("SELECT count(*) FROM assignment_changes WHERE action = "
                                 "'publish'").fetchone()[0]
        assert moved == 6
        assert micro(0, 1) not in after["areas"] and micro(0, 7) in after["areas"]
        assert violations(district) == []
        # the history of the grid's first new micro-grid, then undo of the publish
        page.get_by_test_id("plan-undo").click()
        wait_js(page, "WG.bench.undone === 1", timeout_ms=30_000)
        assert snapshot(district) == before
        # the second grid becomes a dedicated grid (a school): new 901 code, in the draft
        _click(page, 3.3, 1.0)
        wait_js(page, f"WG.bench.info && WG.bench.info.code === '{GRIDS[1]}'")
        page.select_option("[data-testid=area-kind]", "dedicated")
        page.get_by_test_id("area-kind-apply").click()
        _edits(page, 2)
        codes = sorted(f["properties"]["code"] for f in page.evaluate(
            "WG.bench.plan.preview.features") if f["properties"]["layer"] == "grids")
        assert codes == [GRIDS[1][:12] + "901"]
        watch.assert_clean()


def test_second_planner_changes_the_area_first_gets_the_conflict(district, base) -> None:
    _planner(district, "wb_first")
    _planner(district, "wb_second")
    with chromium() as browser:
        _ca, first, watch_a = _open(browser, base, "wb_first")
        _cb, second, watch_b = _open(browser, base, "wb_second")
        first.get_by_test_id("tool-redraw").click()
        _draw_line(first, [(1.3, 2.3), (1.3, 0.7)])
        _edits(first, 1)
        # meanwhile the second planner moves the same boundary the other way and publishes
        second.get_by_test_id("tool-redraw").click()
        _draw_line(second, [(0.7, 2.3), (0.7, 0.7)])
        _edits(second, 1)
        second.get_by_test_id("plan-publish").click()
        second.get_by_test_id("publish-confirm").click()
        wait_js(second, "WG.bench.published === 1", timeout_ms=30_000)
        published = snapshot(district)
        # the first planner's next edit touches the changed areas: refused, with a reload
        first.get_by_test_id("tool-merge").click()
        _click(first, 0.5, 1.5)
        _click(first, 1.5, 1.5)
        wait_js(first, "WG.bench.conflicts === 1", timeout_ms=30_000)
        conflict = first.get_by_test_id("plan-conflict")
        assert conflict.is_visible() and "冲突" in conflict.inner_text()
        # publishing the stale draft is refused too; nothing is overwritten
        first.get_by_test_id("plan-publish").click()
        check = first.get_by_test_id("publish-check")
        check.wait_for(state="visible")
        assert first.get_by_test_id("publish-confirm").is_disabled()
        assert snapshot(district) == published
        first.get_by_test_id("plan-reload").click()
        wait_js(first, "document.querySelector('[data-testid=plan-conflict]').hidden")
        assert _area(district, micro(0, 1))[0] == 20
        watch_b.assert_clean()
        assert [f for f in watch_a.failed if " 409" not in f] == []


def test_bad_input_is_refused_in_the_page_language(district, base) -> None:
    _planner(district, "wb_bad")
    before = snapshot(district)
    with chromium() as browser:
        # the smaller screen the workbench supports
        _context, page, watch = _open(browser, base, "wb_bad", {"width": 1024, "height": 768},
                                      zoom=17, cx=1.5)
        page.get_by_test_id("plan-new").click()
        wait_js(page, "WG.bench.plan && WG.bench.plan.version === 1")

        def refused(check: str) -> str:
            wait_js(page, f"WG.bench.error && WG.bench.error.violations && "
                          f"WG.bench.error.violations[0].check === '{check}'", timeout_ms=30_000)
            text = page.get_by_test_id("plan-message").inner_text()
            page.evaluate("WG.bench.error = null")
            assert page.evaluate("WG.bench.plan.version") == 1
            return text

        # a line that crosses no area
        page.get_by_test_id("tool-split").click()
        _draw_line(page, [(2.5, 2.3), (2.8, 2.6)])
        assert "画线没有穿过区域" in refused("not_crossing")
        page.get_by_test_id("tool-split").click()  # tool off
        # a merge of micro-grids that do not touch
        page.get_by_test_id("tool-merge").click()
        _click(page, 0.5, 1.5)
        _click(page, 2.5, 1.5)
        assert "两个区域不相邻" in refused("not_adjacent")
        # a self-intersecting polygon for micro-grid 1
        page.get_by_test_id("tool-merge").click()
        _click(page, 0.5, 1.5)
        page.get_by_test_id("tool-reshape").click()
        _draw_polygon(page, [(0.1, 1.1), (0.9, 1.9), (0.9, 1.1), (0.1, 1.9)])
        assert "图形无效" in refused("invalid_geometry")
        # buildings moved into an area that is not a neighbour (in English this time)
        page.click("#wg-lang")
        page.get_by_test_id("tool-move").click()
        _click(page, 0.25, 1.25)
        wait_js(page, "Object.keys(WG.bench.buildings).length === 1")
        _click(page, 2.5, 1.5)
        assert "The two areas are not neighbours" in refused("not_adjacent")
        assert snapshot(district) == before
        assert [f for f in watch.failed if " 422" not in f] == []
        assert watch.foreign == []
