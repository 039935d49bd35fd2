"""The map pages in a real headless Chromium against a live server over the demo district.

Each page must load with zero failed requests, zero requests to other hosts and zero console
errors, render its layers, and do what its users rely on.
"""

from __future__ import annotations

import re

import psycopg

from gis.accounts import issue_token
from gis.settings import Settings
from tests import demo_pages
from tests.browser import login, screenshot, wait_js

base, browser, demo, demo_settings = (
    demo_pages.base, demo_pages.browser, demo_pages.demo, demo_pages.demo_settings)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PAGES = ["/login", "/map", "/map/me", "/map/plan"]


def _worker_grid(demo: psycopg.Connection) -> tuple[int, str]:
    return demo.execute(
        "SELECT g.id, g.code FROM accounts a JOIN assignments s ON s.worker_id = a.worker_id "
        "JOIN grids g ON g.id = s.area_id AND s.level = 'grid' WHERE a.username = 'worker'"
    ).fetchone()


def test_page_shells_reference_only_local_assets(base: str) -> None:
    import httpx

    with httpx.Client(base_url=base) as http:
        for path in PAGES:
            r = http.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", r.text), path
            for asset in re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", r.text):
                assert http.get(asset).status_code == 200, asset


def test_command_center(base: str, browser, demo: psycopg.Connection) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page, watch = login(context, base, "commander", "wangge-commander", "/map")
    # outlines by level come from our vector tiles
    wait_js(page, "document.querySelectorAll('.leaflet-wg-grids-pane path').length > 0")
    for pane in ("streets", "communities", "grids"):
        assert page.locator(f".leaflet-wg-{pane}-pane path").count() > 0, pane
    assert watch.paths("/tiles/grids/")
    # every incident of the district is loaded and clustered
    total = demo.execute("SELECT count(*) FROM incidents").fetchone()[0]
    assert page.evaluate("Object.keys(WG.incidents).length") == total
    assert page.locator(".marker-cluster").count() > 0
    # legends for every colour, heat map toggle
    assert page.locator("#legend-status .wg-legend-row").count() == 9
    page.check("#f-heat")
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    page.uncheck("#f-heat")
    # filter by status
    closed = demo.execute("SELECT count(*) FROM incidents WHERE status = 'closed'").fetchone()[0]
    page.select_option("#f-status", "closed")
    wait_js(page, f"Object.keys(WG.incidents).length === {closed}")
    page.select_option("#f-status", "")
    wait_js(page, f"Object.keys(WG.incidents).length === {total}")
    # a choropleth of the disposal rate per community, with its legend
    communities = demo.execute("SELECT count(*) FROM communities WHERE valid_to IS NULL"
                               ).fetchone()[0]
    page.select_option("#f-choropleth", "community:disposal_rate")
    page.wait_for_selector("#legend-choropleth")
    wait_js(page, f"Object.keys(WG.layers.choropleth.getLayers()[0]._layers).length "
                  f"=== {communities}")
    assert page.locator("#legend-choropleth .wg-legend-row").count() == 6
    page.select_option("#f-choropleth", "")
    # language switch
    assert page.inner_text(".wg-title") == "指挥中心"
    page.click("#wg-lang")
    assert page.inner_text(".wg-title") == "Command center"
    page.click("#wg-lang")
    page.wait_for_load_state("networkidle")
    screenshot(page, "command")
    watch.assert_clean()
    context.close()


def test_expired_token_shows_login(base: str, browser, demo: psycopg.Connection,
                                   demo_settings: Settings) -> None:
    account = demo.execute("SELECT id FROM accounts WHERE username = 'commander'").fetchone()[0]
    token, _ = issue_token(demo_settings, account, "commander", "commander", 0, minutes=-5)
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(f"localStorage.setItem('wangge_token', {token!r});")
    page = context.new_page()
    page.goto(f"{base}/map")
    page.wait_for_url(re.compile(r".*/login\?reason=expired.*"))
    page.wait_for_selector("#wg-login-msg:not([hidden])")
    assert "过期" in page.inner_text("#wg-login-msg")
    context.close()


def test_worker_reports_and_commander_runs_the_case(base: str, browser,
                                                    demo: psycopg.Connection) -> None:
    grid_id, grid_code = _worker_grid(demo)
    micro = {c for (c,) in demo.execute(
        "SELECT code FROM micro_grids WHERE parent_id = %s AND valid_to IS NULL", (grid_id,))}
    buildings = demo.execute("SELECT count(*) FROM buildings WHERE grid_id = %s OR "
                             "micro_grid_id IN (SELECT id FROM micro_grids WHERE parent_id = %s)",
                             (grid_id, grid_id)).fetchone()[0]
    open_ids = {i for (i,) in demo.execute(
        "SELECT id FROM incidents WHERE grid_id = %s AND status IN "
        "('reported', 'accepted', 'dispatched', 'in_progress')", (grid_id,))}
    lon, lat = demo.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                            "FROM grids WHERE id = %s) s", (grid_id,)).fetchone()

    # the command center is open and listening
    cmd_context = browser.new_context(viewport=DESKTOP)
    cmd, cmd_watch = login(cmd_context, base, "commander", "wangge-commander", "/map")

    # the worker's phone: only their grid is loaded
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                geolocation={"longitude": lon, "latitude": lat},
                                permissions=["geolocation"])
    page, watch = login(phone, base, "worker", "wangge-worker", "/map/me")
    assert page.evaluate("WG.loaded.outline") == [grid_code]
    assert set(page.evaluate("WG.loaded.micro_grids")) == micro
    assert page.evaluate("WG.loaded.buildings") == buildings
    assert set(page.evaluate("WG.loaded.incidents")) == open_ids
    assert page.locator("path.wg-mg").count() == len(micro)
    assert page.locator(".wg-hh").count() == len(micro)
    area_tiles = [p for p in watch.paths("/tiles/") if not p.startswith("/tiles/basemap/")]
    assert not area_tiles, "the worker page loads GeoJSON of its area only (and the basemap)"
    for path in watch.paths("/collections/"):
        assert "bbox=" in path
    page.wait_for_load_state("networkidle")
    screenshot(page, "worker")

    # report here, at the device's location
    page.click("#w-locate")
    page.wait_for_selector("#w-form:not([hidden])")
    page.select_option("#w-form select[name=category]", "garbage")
    page.fill("#w-form input[name=title]", "页面测试：垃圾堆放")
    page.click("#w-form button[type=submit]")
    created = wait_js(page, "WG.lastReport")
    row = demo.execute("SELECT grid_id, status FROM incidents WHERE id = %s",
                       (created["id"],)).fetchone()
    assert row == (grid_id, "reported")
    # ... appears on the command page within two seconds, without a reload
    wait_js(cmd, f"WG.incidents && WG.incidents[{created['id']}]", timeout_ms=2000)

    # the commander opens it and accepts it (立案)
    cmd.evaluate(f"""new Promise(done => {{
        const m = WG.incidents[{created['id']}].marker;
        WG.layers.incidents.zoomToShowLayer(m, done);
    }})""")
    cmd.click(f".wg-dot[data-id='{created['id']}']")
    cmd.wait_for_selector("#d-actions button[data-action=accept]")
    assert cmd.locator(".wg-history tr").count() >= 1
    cmd.click("#d-actions button[data-action=accept]")
    cmd.wait_for_selector("#d-status[data-status=accepted]")
    assert demo.execute("SELECT status FROM incidents WHERE id = %s",
                        (created["id"],)).fetchone()[0] == "accepted"

    # a patrol records GPS points
    page.click("[data-testid=patrol-start]")
    wait_js(page, "WG.patrol && WG.patrol.local")
    for step in range(3):
        phone.set_geolocation({"longitude": lon + 0.0001 * step, "latitude": lat})
        page.wait_for_timeout(300)
    page.click("[data-testid=patrol-stop]")
    patrol = wait_js(page, "WG.lastPatrol")
    points = demo.execute("SELECT count(*), bool_and(grid_id = %s) FROM patrol_points "
                          "WHERE patrol_id = %s", (grid_id, patrol["id"])).fetchone()
    assert points[0] >= 1 and points[1]
    assert demo.execute("SELECT ended_at IS NOT NULL FROM patrols WHERE id = %s",
                        (patrol["id"],)).fetchone()[0]

    watch.assert_clean()
    cmd_watch.assert_clean()
    phone.close()
    cmd_context.close()


def test_worker_without_assignment_sees_a_message(base: str, browser,
                                                  demo: psycopg.Connection) -> None:
    from gis.accounts import hash_password

    worker = demo.execute("INSERT INTO workers (name) VALUES ('无网格') RETURNING id").fetchone()[0]
    demo.execute("INSERT INTO accounts (username, password_hash, role, worker_id) "
                 "VALUES ('nowhere', %s, 'worker', %s)", (hash_password("pw-nowhere"), worker))
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page, watch = login(context, base, "nowhere", "pw-nowhere", "/map/me")
    page.wait_for_selector("#wg-message:not([hidden])")
    assert "尚未分配网格" in page.inner_text("#wg-message")
    assert not watch.paths("/collections/")
    assert not [p for p in watch.paths("/tiles/") if not p.startswith("/tiles/basemap/")]
    watch.assert_clean()
    context.close()


def test_planner_colours_previews_and_validates(base: str, browser,
                                               demo: psycopg.Connection) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page, watch = login(context, base, "planner", "wangge-planner", "/map/plan")
    # the workbench draws grids (and micro-grids from z14) coloured by their bounds state
    page.select_option("[data-testid=edit-level]", "grid")
    wait_js(page, "document.querySelectorAll('path.wb-grid').length > 0")
    states = page.evaluate("""[...document.querySelectorAll('path.wb-grid')]
        .map(p => ['under', 'within', 'over'].find(s => p.classList.contains('wb-' + s)))""")
    assert states and all(states)
    # the validation messages of the current boundaries
    checks = wait_js(page, "WG.checks")
    lo, hi = 30, 50
    expected = demo.execute(
        "SELECT count(*) FROM micro_grids WHERE valid_to IS NULL AND "
        "(households < %s OR households > %s)", (lo, hi)).fetchone()[0]
    assert sum(1 for m in checks["messages"] if m["level"] == "micro_grid"
               and m["problem"] in ("under", "over")) == expected
    # a grid's split preview: click the grid, preview, parts within the bounds
    code, households = demo.execute(
        "SELECT code, households FROM grids WHERE valid_to IS NULL AND kind = 'standard' "
        "ORDER BY code LIMIT 1").fetchone()
    box = page.locator(f"path.wb-code-{code}").bounding_box()
    assert box, "the grid is drawn"
    loads, size = page.evaluate("WG.bench.loads"), page.viewport_size
    page.evaluate(f"WG.map.panBy([{box['x'] + box['width'] / 2 - size['width'] / 2}, "
                  f"{box['y'] + box['height'] / 2 - size['height'] / 2}], {{animate: false}})")
    wait_js(page, f"WG.bench.loads > {loads}")
    box = page.locator(f"path.wb-code-{code}").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_js(page, f"WG.selected && WG.selected.code === {code!r}")
    page.click("#p-preview")
    preview = wait_js(page, "WG.lastPreview", timeout_ms=30_000)
    parts = [f["properties"]["households"] for f in preview["features"]]
    assert sum(parts) == households
    assert preview["report"]["parts"] == len(parts) == page.locator("path.wg-part").count()
    if not preview["report"]["violations"]:
        assert all(lo <= h <= hi for h in parts)
    # narrow bounds: every part outside them is listed with why, in the page's language
    page.fill("#p-min", "44")
    page.fill("#p-max", "45")
    page.evaluate("WG.lastPreview = null")
    page.click("#p-preview")
    narrow = wait_js(page, "WG.lastPreview", timeout_ms=30_000)
    why = narrow["report"]["why"]
    out = {f["properties"]["part"] for f in narrow["features"]
           if not 44 <= f["properties"]["households"] <= 45}
    assert out and out <= {w["part"] for w in why}
    items = page.locator("[data-testid=p-why-item]")
    assert items.count() == len(why)
    counted = [w for w in why if "households" in w]
    assert str(counted[0]["households"]) in items.nth(why.index(counted[0])).inner_text()
    page.wait_for_timeout(500)
    page.wait_for_load_state("networkidle")
    screenshot(page, "planner")
    watch.assert_clean()
    context.close()
