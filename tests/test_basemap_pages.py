"""The offline basemap on all three map pages, in Chromium with every other host unreachable:
the demo's roads, buildings and place labels under our layers; WANGGE_BASEMAP_URL still
replaces it with a raster basemap."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from gis.settings import Settings
from tests.browser import chromium, login, screenshot, wait_js
from tests.conftest import TEST_SECRET
from tests.serving import serve

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
FONT = '16px "Noto Sans SC"'


def _settings(demo_url: str, tmp_path_factory, **extra) -> Settings:
    return Settings(database_url=demo_url, secret_key=TEST_SECRET,
                    local_dir=tmp_path_factory.mktemp("basemap-pages"), **extra)


@pytest.fixture(scope="module")
def base(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from api.app import create_app

    with serve(create_app(_settings(demo_url, tmp_path_factory))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _offline(context, base: str) -> list[str]:
    """Abort every request to another host (the machine is offline as far as the page goes)."""
    blocked: list[str] = []
    own = urlsplit(base).netloc

    def route(r) -> None:
        if urlsplit(r.request.url).netloc not in (own, "") and \
                not r.request.url.startswith(("data:", "blob:")):
            blocked.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    context.route("**/*", route)
    return blocked


@pytest.mark.parametrize("user, password, path, viewport, shot", [
    ("commander", "wangge-commander", "/map", DESKTOP, "offline-command"),
    ("worker", "wangge-worker", "/map/me", PHONE, "offline-worker"),
    ("planner", "wangge-planner", "/map/plan", DESKTOP, "offline-planner"),
])
def test_every_page_draws_the_offline_basemap(base, browser, user, password, path, viewport,
                                              shot) -> None:
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
    blocked = _offline(context, base)
    try:
        page, watch = login(context, base, user, password, path)
        wait_js(page, "document.querySelectorAll('.leaflet-wg-basemap-pane path').length > 20",
                timeout_ms=30_000)
        assert watch.paths("/tiles/basemap/")
        # the pane sits under our layers, and roads and buildings are both drawn
        fills = page.evaluate("""() => Array.from(
            document.querySelectorAll('.leaflet-wg-basemap-pane path'))
            .map((p) => p.getAttribute('fill') + '|' + p.getAttribute('stroke'))""")
        assert any(f.startswith("none|") for f in fills), "no road lines"
        if path != "/map/me" or page.evaluate("WG.map.getZoom()") >= 14:
            assert any("#d9d0c9" in f for f in fills), "no buildings"
        assert page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-wg-basemap-pane')).zIndex") == "150"
        labels = wait_js(page, """() => {
            const t = Array.from(document.querySelectorAll('.wg-place span'))
              .map((s) => s.textContent);
            return t.length ? t : null; }""", timeout_ms=15_000)
        wait_js(page, "([f, t]) => t.every((s) => document.fonts.check(f, s))",
                arg=[FONT, labels])
        page.wait_for_load_state("networkidle")
        screenshot(page, shot)
        watch.assert_clean()
        assert blocked == []  # nothing even tried to leave the machine
    finally:
        context.close()


def test_a_configured_raster_basemap_replaces_it(demo_url, tmp_path_factory, browser) -> None:
    from api.app import create_app

    raster = "/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}"
    with serve(create_app(_settings(demo_url, tmp_path_factory, basemap_url=raster))) as url:
        context = browser.new_context(viewport=DESKTOP)
        _offline(context, url)
        try:
            page, watch = login(context, url, "commander", "wangge-commander", "/map")
            wait_js(page, "document.querySelectorAll('img.leaflet-tile-loaded').length > 0")
            assert watch.paths("/static/vendor/leaflet/images/layers.png")
            assert not watch.paths("/tiles/basemap/")
            assert page.locator(".leaflet-wg-basemap-pane").count() == 0
        finally:
            context.close()
