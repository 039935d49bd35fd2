"""The /account page: a planner makes an API key for QGIS, sees it once, uses it, revokes it."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest

from gis.settings import Settings
from tests.browser import chromium, login, screenshot, wait_js
from tests.conftest import TEST_SECRET
from tests.serving import serve


@pytest.fixture(scope="module")
def base(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from api.app import create_app

    settings = Settings(database_url=demo_url, secret_key=TEST_SECRET,
                        local_dir=tmp_path_factory.mktemp("account"))
    with serve(create_app(settings)) as url:
        yield url


def basic(username: str, key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()}


def test_planner_creates_uses_and_revokes_a_key(base: str) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page, watch = login(context, base, "planner", "wangge-planner", "/account")
        assert page.text_content("[data-testid=account-user]") == "planner"
        page.fill("[data-testid=key-name]", "QGIS 桌面")
        page.fill("[data-testid=key-expires]", "30")
        page.click("[data-testid=key-create]")
        page.wait_for_selector("[data-testid=key-created]:not([hidden])")
        key = page.text_content("[data-testid=key-secret]").strip()
        assert key.startswith("wgk_")
        row = page.wait_for_selector("[data-testid=key-row]:has-text('QGIS 桌面')")
        assert key not in row.inner_text()  # listed by prefix only
        # the key opens the OGC API for this account, read-only
        r = httpx.get(f"{base}/collections/grids/items", headers=basic("planner", key))
        assert r.status_code == 200 and r.json()["numberMatched"] > 0
        assert httpx.post(f"{base}/incidents", headers=basic("planner", key),
                          json={}).status_code == 403
        page.click("[data-testid=lang]")
        assert page.text_content("[data-testid=key-create]") == "Create key"
        screenshot(page, "account")
        page.click("[data-testid=key-row]:has-text('QGIS 桌面') [data-testid=key-revoke]")
        wait_js(page, "() => [...document.querySelectorAll('[data-testid=key-row]')].some("
                "r => r.textContent.includes('QGIS 桌面') && "
                "r.querySelector('[data-testid=key-state]').textContent === 'Revoked')")
        deadline = time.monotonic() + 5
        while httpx.get(f"{base}/collections/grids/items",
                        headers=basic("planner", key)).status_code != 401:
            assert time.monotonic() < deadline, "the revoked key still works"
            time.sleep(0.05)
        watch.assert_clean()
        context.close()
