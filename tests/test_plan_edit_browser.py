"""/map/plan in headless Chromium: a planner moves a building and sees counts and colours change,
publishes, and the live boundaries follow."""

from __future__ import annotations

import psycopg
import pytest

from gis.accounts import hash_password
from gis.database import libpq_url
from tests import test_editing_fixture as fx
from tests.browser import chromium, login, wait_js
from tests.serving import serve
from tests.test_editing_fixture import micro, snapshot, violations

district, edit_app, edit_settings, edit_url = (fx.district, fx.edit_app, fx.edit_settings,
                                               fx.edit_url)


@pytest.fixture(scope="module")
def base(edit_app):
    with serve(edit_app) as url:
        yield url


def test_planner_moves_a_building_on_the_page(district, base) -> None:
    with psycopg.connect(libpq_url(district), autocommit=True) as conn:
        conn.execute("INSERT INTO accounts (username, password_hash, role) VALUES "
                     "('mapplanner', %s, 'planner')", (hash_password("pw-mapplanner"),))
        bid = conn.execute("SELECT id FROM buildings WHERE code = %s",
                           (micro(0, 1) + "B2",)).fetchone()[0]
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page, watch = login(context, base, "mapplanner", "pw-mapplanner", "/map/plan")
        wait_js(page, "document.getElementById('pe-box') !== null")
        page.fill("#pe-building", str(bid))
        page.fill("#pe-to", micro(0, 2))
        page.click("#pe-move")
        preview = wait_js(page, "WG.planEdit.preview", timeout_ms=30_000)
        counts = {f["properties"]["code"]: f["properties"]["households"]
                  for f in preview["features"]}
        assert counts == {micro(0, 1): 30, micro(0, 2): 50}
        labels = sorted(page.locator(".pe-hh").all_inner_texts())
        assert labels == ["30", "50"]
        # 20-60 households is within the bounds: both drawn green; one more building tips it over
        assert page.locator("path.pe-area.pe-within").count() == 2
        with psycopg.connect(libpq_url(district)) as conn:
            more = conn.execute("SELECT id FROM buildings WHERE code = %s",
                                (micro(0, 1) + "B4",)).fetchone()[0]
        page.fill("#pe-building", str(more))
        page.click("#pe-move")
        wait_js(page, "WG.planEdit.plan.version === 3", timeout_ms=30_000)
        assert sorted(page.locator(".pe-hh").all_inner_texts()) == ["20", "60"]
        before = snapshot(district)
        page.click("#pe-publish")
        wait_js(page, "WG.planEdit.published === 1", timeout_ms=30_000)
        after = snapshot(district)
        assert after != before and after["areas"][micro(0, 2)][0] == 60
        assert violations(district) == []
        page.click("#pe-undo")
        wait_js(page, "WG.planEdit.undone === 1", timeout_ms=30_000)
        assert snapshot(district) == before
        watch.assert_clean()
