"""The planner workbench (/map/plan) in headless Chromium: a planner's whole tasks from login,
with mouse clicks and drawn lines on the map (no ids typed), checked against the database.

The small editing district (tests/test_editing_fixture.py): two grids of 3 x 2 micro-grids, four
10-household buildings each; micro-grid bounds 20-60.
"""

from __future__ import annotations

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


def _open(browser, base: str, name: str, viewport=DESKTOP) -> tuple:
    context = browser.new_context(viewport=viewport)
    page, watch = login(context, base, name, "pw-" + name, "/map/plan")
    wait_js(page, "WG.bench && WG.bench.loads >= 1", timeout_ms=30_000)
    # look closely at the first grid (zoom 18: buildings and micro-grids drawn)
    loads = page.evaluate("WG.bench.loads")
    page.evaluate(f"WG.map.setView([{Y0 + CELL}, {X0 + 1.8 * CELL}], 18, {{animate: false}})")
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
        watch.assert_clean()
