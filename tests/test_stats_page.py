"""The statistics page and the command map's live layers in Chromium, as their users work:
a commander reads the table and charts, downloads the files and prints the month report; a
worker's patrol point shows up on the command map live; the unpatrolled and staffing layers
show what the database holds."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg
import pytest
from openpyxl import load_workbook

from gis.database import libpq_url
from gis.report_columns import STATS_COLUMNS
from gis.settings import Settings
from tests.browser import chromium, login, screenshot, wait_js
from tests.conftest import DEMO_ANCHOR, TEST_SECRET
from tests.serving import serve
from tests.test_pages import DESKTOP, PHONE

ANCHOR = date.fromisoformat(DEMO_ANCHOR)  # the demo's 30 days end here
MONTH = (ANCHOR - timedelta(days=1)).strftime("%Y-%m")
TABLE_JS = """() => Array.from(document.querySelectorAll('#stats-table tbody tr')).map(tr =>
  Array.from(tr.querySelectorAll('td')).map(td =>
    td.dataset.value !== undefined ? td.dataset.value : td.textContent))"""


@pytest.fixture(scope="module", name="base")
def base_fixture(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from api.app import create_app

    settings = Settings(database_url=demo_url, secret_key=TEST_SECRET,
                        local_dir=tmp_path_factory.mktemp("stats-pages"))
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module", name="browser")
def browser_fixture():
    with chromium() as b:
        yield b


@pytest.fixture(name="demo")
def demo_fixture(demo_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(demo_url), autocommit=True) as connection:
        yield connection


def _token(base: str, username: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/auth/token", data={"username": username, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _cell(value) -> float | str | None:
    """A table cell or an API value, compared as numbers where they are numbers."""
    if value is None or value in ("", "–"):  # the page shows a missing value as a dash
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _expected(report: dict) -> list[list]:
    """GET /stats's rows as the page shows them (the last row named 合计)."""
    out = []
    for i, row in enumerate(report["areas"] + [report["total"]]):
        out.append([_cell("合计" if c.key == "name" and i == len(report["areas"])
                          else c.get(row)) for c in STATS_COLUMNS])
    return out


def _page_table(page) -> list[list]:
    return [[_cell(v) for v in row] for row in page.evaluate(TABLE_JS)]


def _show(page, start: date, end: date, level: str) -> None:
    before = page.get_attribute("#stats-table", "data-done")
    page.fill("#s-start", start.isoformat())
    page.fill("#s-end", end.isoformat())
    page.select_option("#s-level", level)
    page.click("[data-testid=stats-apply]")
    wait_js(page, "(b) => { const t = document.getElementById('stats-table');"
                  " return t.dataset.done && t.dataset.done !== b; }", arg=before or "-")


def _float_or_same(a: str, b) -> bool:
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return a == ("" if b is None else str(b))


def test_stats_table_charts_and_downloads(base: str, browser, demo: psycopg.Connection,
                                          tmp_path) -> None:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page, watch = login(context, base, "commander", "wangge-commander", "/stats")
    headers = _token(base, "commander", "wangge-commander")
    periods = [(ANCHOR - timedelta(days=30), ANCHOR + timedelta(days=1)),
               (ANCHOR - timedelta(days=14), ANCHOR - timedelta(days=7))]
    for start, end in periods:
        for level in ("street", "grid"):
            _show(page, start, end, level)
            api = httpx.get(f"{base}/stats", headers=headers, params={
                "level": level, "start": f"{start}T00:00:00Z", "end": f"{end}T00:00:00Z"}).json()
            assert _page_table(page) == _expected(api), (start, level)
            assert api["total"]["total"] > 0
    # the charts: one point per day of the period, drawn as SVG by the vendored ECharts
    assert page.get_attribute("[data-testid=stats-chart]", "data-points") == str(
        (periods[-1][1] - periods[-1][0]).days)
    assert page.locator("#chart-rates svg path").count() > 5
    assert page.locator("#chart-counts svg").count() == 1
    # the table's files hold the same figures
    api = httpx.get(f"{base}/stats", headers=headers, params={
        "level": "grid", "start": f"{periods[-1][0]}T00:00:00Z",
        "end": f"{periods[-1][1]}T00:00:00Z"}).json()
    expected = [[c.get(r) for c in STATS_COLUMNS] for r in api["areas"] + [api["total"]]]
    with page.expect_download() as info:
        page.click("[data-testid=export-csv]")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["编码", "名称", "上报数"] and len(rows) - 1 == len(expected)
    for got, want in zip(rows[1:], expected, strict=True):
        assert all(_float_or_same(a, b) for a, b in zip(got, want, strict=True)), (got, want)
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    sheet = load_workbook(path, read_only=True).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)][1:] == expected
    # the month's report as one workbook
    page.fill("#s-month", MONTH)
    page.dispatch_event("#s-month", "change")
    with page.expect_download() as info:
        page.click("[data-testid=export-month-xlsx]")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert load_workbook(path, read_only=True).sheetnames == [
        "街道", "社区", "网格", "微网格", "合计", "逐日"]
    screenshot(page, "stats")
    watch.assert_clean()
    context.close()


def test_bad_input_is_shown_in_the_page_language(base: str, browser,
                                                 demo: psycopg.Connection) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page, watch = login(context, base, "commander_s1", "wangge-commander", "/stats")
    error = page.locator("[data-testid=stats-error]")
    _show(page, ANCHOR - timedelta(days=400), ANCHOR, "street")
    assert error.is_visible() and error.inner_text() == "统计时段不能超过366天"
    assert page.get_attribute("[data-testid=export-csv]", "href") is None
    page.click("#wg-lang")
    assert error.inner_text() == "A period spans at most 366 days"
    page.click("#wg-lang")
    # a street this commander does not hold
    other = demo.execute(
        "SELECT s.code FROM streets s WHERE s.valid_to IS NULL AND s.id NOT IN ("
        "SELECT area_id FROM account_areas x JOIN accounts a ON a.id = x.account_id "
        "WHERE a.username = 'commander_s1') ORDER BY code LIMIT 1").fetchone()[0]
    page.fill("#s-area", other)
    _show(page, ANCHOR - timedelta(days=30), ANCHOR, "community")
    # answered like an unknown code: the page cannot tell whether the street exists
    assert error.inner_text() == "您的管辖范围内没有该区域"
    assert error.get_attribute("data-status") == "404"
    page.fill("#s-area", "")
    _show(page, ANCHOR - timedelta(days=30), ANCHOR, "community")
    assert not error.is_visible()
    # the refused requests (and the browser's own note of them) are the only failures
    assert len(watch.failed) == 4 and all(f.endswith((" 400", " 404")) for f in watch.failed)
    watch.failed = []
    watch.errors = [e for e in watch.errors if "status of 400" not in e
                    and "status of 404" not in e]
    watch.assert_clean()
    context.close()


def test_month_report_prints_on_a4(base: str, browser, demo: psycopg.Connection) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page, watch = login(context, base, "commander", "wangge-commander", "/stats")
    page.goto(f"{base}/stats/report?month={MONTH}")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    wait_js(page, "document.querySelectorAll('table[data-level]').length === 5")
    streets = demo.execute("SELECT count(*) FROM streets WHERE valid_to IS NULL").fetchone()[0]
    assert page.locator("table[data-level=street] tbody tr").count() == streets + 1
    page.emulate_media(media="print")
    assert not page.locator("#wg-bar").is_visible()
    assert not page.locator("#r-print").is_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF")
    boxes = {tuple(round(float(v)) for v in m.split()) for m in re.findall(
        rb"/MediaBox \[([0-9. ]+)\]", pdf)}
    assert boxes == {(0, 0, 595, 842)} or boxes == {(0, 0, 596, 842)}, boxes  # A4 in points
    page.emulate_media(media="screen")
    screenshot(page, "month-report")
    watch.assert_clean()
    context.close()


def _worker_point(demo: psycopg.Connection) -> tuple[float, float]:
    return demo.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) p FROM accounts a "
        "JOIN assignments s ON s.worker_id = a.worker_id JOIN grids g ON g.id = s.area_id "
        "AND s.level = 'grid' WHERE a.username = 'worker') x").fetchone()


def test_live_positions_unpatrolled_and_staffing(base: str, browser,
                                                 demo: psycopg.Connection) -> None:
    command = browser.new_context(viewport=DESKTOP)
    page, watch = login(command, base, "commander", "wangge-commander", "/map")
    page.wait_for_selector("[data-testid=live-positions] li")
    # a worker on their phone posts a patrol point: it shows up within two seconds
    phone = browser.new_context(viewport=PHONE)
    wpage, wwatch = login(phone, base, "worker", "wangge-worker", "/map/me")
    token = wpage.evaluate("localStorage.getItem('wangge_token')")
    me = {"Authorization": f"Bearer {token}"}
    name = demo.execute("SELECT w.name FROM accounts a JOIN workers w ON w.id = a.worker_id "
                        "WHERE a.username = 'worker'").fetchone()[0]
    lon, lat = _worker_point(demo)
    patrol = httpx.post(f"{base}/patrols", json={}, headers=me)
    assert patrol.status_code == 201, patrol.text
    now = datetime.now(UTC)
    r = httpx.post(f"{base}/patrols/{patrol.json()['id']}/points", headers=me, json={
        "points": [{"t": now.isoformat(), "lon": lon, "lat": lat}]})
    assert r.status_code == 200, r.text
    posted = time.monotonic()
    wait_js(page, "(n) => Array.from(document.querySelectorAll("
                  "'[data-testid=live-positions] li')).some(li => li.textContent.includes(n))",
            timeout_ms=2000, arg=name)
    assert time.monotonic() - posted < 2.0
    assert page.locator("path.wg-live-pos").count() >= 1
    # a worker may not see live positions
    assert httpx.get(f"{base}/map/live-positions", headers=me).status_code == 403
    # the unpatrolled layer holds exactly the micro-grids without a patrol point in the period
    page.select_option("#f-unpatrolled-days", "30")  # reaches back into the demo's patrols
    page.check("[data-testid=unpatrolled-layer]")
    wait_js(page, "document.querySelector('[data-testid=unpatrolled-layer]').dataset.count")
    shown = set(page.evaluate("Array.from(document.querySelectorAll('path[data-unpatrolled]'))"
                              ".map(p => p.getAttribute('data-unpatrolled'))"))
    query = [p for p in watch.paths("/map/unpatrolled")][-1]
    params = dict(httpx.URL(query).params)
    expected = {c for (c,) in demo.execute(  # not correlated: Citus runs it too
        "WITH visited AS MATERIALIZED (SELECT DISTINCT p.micro_grid_id AS id FROM patrol_points p "
        "WHERE p.t >= %(start)s AND p.t < %(end)s AND p.micro_grid_id IS NOT NULL) "
        "SELECT m.code FROM micro_grids m LEFT JOIN visited v ON v.id = m.id "
        "WHERE m.valid_to IS NULL AND v.id IS NULL", params)}
    assert shown == expected and expected
    assert int(page.inner_text("#unpatrolled-count")) == len(expected)
    # clicking one shows who is assigned and when it was last patrolled
    code = sorted(expected)[0]
    page.evaluate("(c) => { const l = Object.values(WG.map._layers).find(x => x.feature && "
                  "x.feature.properties.code === c && x._path && x._path.dataset.unpatrolled);"
                  " l.openPopup(); }", code)
    popup = page.locator(f".wg-popup[data-code='{code}']")
    popup.wait_for()
    last = demo.execute("SELECT max(t) FROM patrol_points p JOIN micro_grids m ON "
                        "m.id = p.micro_grid_id WHERE m.code = %s AND p.t < %s",
                        (code, params["end"])).fetchone()[0]
    assert popup.locator(".wg-last").inner_text() == (
        last.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if last else "从未")
    # staffing: layer and table equal GET /map/staffing
    page.check("[data-testid=staffing-layer]")
    page.wait_for_selector("[data-testid=staffing-table]:not([hidden])")
    staffing = httpx.get(f"{base}/map/staffing",
                         headers=_token(base, "commander", "wangge-commander")).json()
    for key in ("grids_without_full_time", "micro_grids_without_leader", "ending_soon",
                "workers_without_area"):
        badge = page.locator(f"[data-section={key}] .badge").inner_text()
        assert int(badge) == len(staffing[key]), key
    assert page.locator("path[data-staffing]").count() == len(
        staffing["grids_without_full_time"]) + len(staffing["micro_grids_without_leader"])
    # clicking an area: its people, open cases and rates
    page.uncheck("[data-testid=unpatrolled-layer]")
    page.uncheck("[data-testid=staffing-layer]")
    page.evaluate("([lat, lon]) => WG.map.fire('click', {latlng: L.latLng(lat, lon)})",
                  [lat, lon])
    panel = page.locator("[data-testid=area-panel]")
    panel.wait_for()
    wait_js(page, "document.querySelector('#a-people')")
    grid_code = demo.execute(
        "SELECT g.code FROM accounts a JOIN assignments s ON s.worker_id = a.worker_id "
        "JOIN grids g ON g.id = s.area_id AND s.level = 'grid' WHERE a.username = 'worker'"
    ).fetchone()[0]
    assert panel.get_attribute("data-code") == grid_code
    assert name in page.inner_text("#a-people")
    open_count = demo.execute(
        "SELECT count(*) FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE g.code = %s "
        "AND i.status IN ('reported', 'accepted', 'dispatched', 'in_progress')",
        (grid_code,)).fetchone()[0]
    assert int(page.inner_text("#a-open")) == open_count
    screenshot(page, "command-live")
    watch.assert_clean()
    wwatch.assert_clean()
    command.close()
    phone.close()


@pytest.mark.parametrize("path", ["/stats", "/stats/report"])
def test_stats_page_shells_are_html_for_browsers_and_json_for_clients(base: str,
                                                                       path: str) -> None:
    r = httpx.get(f"{base}{path}", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and "echarts.min.js" in r.text
    if path == "/stats":
        r = httpx.get(f"{base}/stats", headers={"Accept": "application/json"})
        assert r.status_code == 401 and r.headers["content-type"].startswith(
            "application/problem+json")
