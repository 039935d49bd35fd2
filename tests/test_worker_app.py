"""The worker app (/map/me) in Chromium on a phone screen (390 x 844): installed service worker,
a day's work offline (reports with a photo, a patrol, a task resolved), a reload while still
offline, and back online everything in the database exactly once; a new dispatch in the task
list within two seconds; bad input (not an image, a report outside my area, an expired token)."""

from __future__ import annotations

import io
import time
from contextlib import suppress

import httpx
import psycopg
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from gis.accounts import issue_token
from gis.settings import Settings
from tests import demo_pages
from tests.browser import ARTIFACTS, login, wait_js

base, browser, demo, demo_settings = (
    demo_pages.base, demo_pages.browser, demo_pages.demo, demo_pages.demo_settings)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def commander(base: str) -> httpx.Client:
    token = httpx.post(f"{base}/auth/token", data={"username": "commander",
                                                   "password": "wangge-commander"}).json()
    with httpx.Client(base_url=base, headers={
            "Authorization": f"Bearer {token['access_token']}"}) as http:
        yield http


def worker_grid(demo: psycopg.Connection) -> tuple[int, float, float]:
    """The demo worker's grid and a point inside it."""
    return demo.execute(
        "SELECT g.id, ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
        "FROM accounts a JOIN assignments s ON s.worker_id = a.worker_id "
        "JOIN grids g ON g.id = s.area_id AND s.level = 'grid' WHERE a.username = 'worker'"
    ).fetchone()


def dispatch_case(commander: httpx.Client, lon: float, lat: float, title: str,
                  assignee: str = "worker") -> int:
    """A case reported at (lon, lat), accepted and dispatched to `assignee`'s account."""
    r = commander.post("/incidents", json={"lon": lon, "lat": lat, "category": "garbage",
                                           "title": title, "source": "hotline"})
    assert r.status_code == 201, r.text
    case = r.json()["id"]
    people = commander.get(f"/incidents/{case}/assignees").json()["items"]
    account = next(p["id"] for p in people if p.get("username") == assignee)
    r = commander.post(f"/incidents/{case}/transitions", json={"action": "accept"})
    assert r.status_code == 200, r.text
    r = commander.post(f"/incidents/{case}/transitions",
                       json={"action": "dispatch", "assignee_account_id": account})
    assert r.status_code == 200, r.text
    return case


def photo(size=(3000, 2000)) -> dict:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(out, "JPEG", quality=80)
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def phone(browser, lon: float, lat: float):
    return browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                               geolocation={"longitude": lon, "latitude": lat},
                               permissions=["geolocation"])


def installed(page) -> dict:
    """Wait for the service worker to control the page and the area's tiles to be cached."""
    wait_js(page, "WG.swState === 'ready' && !!navigator.serviceWorker.controller",
            timeout_ms=20_000)
    return wait_js(page, "WG.tileCache", timeout_ms=30_000)


def queued(page) -> int:
    return int(page.inner_text("[data-testid=queue-count]"))


def report_here(page, category: str, title: str, files: list[dict] | None = None) -> None:
    page.click("[data-testid=report-locate]")
    page.wait_for_selector("#w-form:not([hidden])")
    page.select_option("[data-testid=report-category]", category)
    page.fill("[data-testid=report-title]", title)
    if files:
        page.set_input_files("[data-testid=photo-input]", files)
    page.click("[data-testid=report-submit]")
    page.wait_for_selector("#w-form", state="hidden")


def test_a_day_offline_reaches_the_database_exactly_once(base, browser, demo,
                                                         commander) -> None:
    grid_id, lon, lat = worker_grid(demo)
    stamp = str(time.time_ns())
    case = dispatch_case(commander, lon, lat, f"派遣任务 {stamp}")
    context = phone(browser, lon, lat)
    page, watch = login(context, base, "worker", "wangge-worker", "/map/me")
    tiles = installed(page)
    assert tiles["cached"] + tiles["unchanged"] > 0 and tiles["failed"] == 0
    # the task is in my list
    page.click("[data-testid=tasks-open]")
    page.wait_for_selector(f"[data-testid=task-list] [data-testid=task-item][data-id='{case}']")
    page.click("#w-tasks [data-close]")
    watch.assert_clean()

    # the signal is gone: two reports (one with a photo), a patrol, a task started and resolved
    context.set_offline(True)
    wait_js(page, "!navigator.onLine")
    report_here(page, "garbage", f"离线上报一 {stamp}")
    report_here(page, "public_facilities", f"离线上报二 {stamp}", [photo()])
    assert queued(page) == 3
    page.click("[data-testid=patrol-start]")
    for step in range(4):
        context.set_geolocation({"longitude": lon + 0.00005 * step, "latitude": lat})
        page.wait_for_timeout(300)
    points = page.evaluate("WG.patrol.points.length")
    assert points >= 1
    page.click("[data-testid=patrol-stop]")
    wait_js(page, "WG.patrol === null")
    page.click("[data-testid=tasks-open]")
    page.click(f"[data-testid=task-item][data-id='{case}']")
    page.click("[data-testid=task-start]")
    page.wait_for_selector("[data-testid=task-resolve]")
    page.fill("#w-resolve-note", "已清理")
    page.click("[data-testid=task-resolve]")
    wait_js(page, f"document.querySelector(\"[data-testid=task-item][data-id='{case}']\")"
                  f".getAttribute('data-status') === 'resolved'")
    before_reload = queued(page)
    assert before_reload == 3 + 3 + 2  # reports and photo, patrol start/points/end, two steps

    # the page reloads while still offline and keeps all of it
    page.reload()
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
    assert not page.evaluate("navigator.onLine")
    wait_js(page, f"document.querySelector('[data-testid=queue-count]').textContent === "
                  f"'{before_reload}'")
    assert page.evaluate("WG.loaded.micro_grids.length") > 0  # the area came from the cache
    assert page.locator(".wg-queued-report").count() == 2
    assert demo.execute("SELECT count(*) FROM incidents WHERE title LIKE %s",
                        (f"%{stamp}",)).fetchone()[0] == 1  # only the dispatched case so far

    # back online: everything reaches the database exactly once, within ten seconds
    started = time.monotonic()
    context.set_offline(False)
    wait_js(page, "document.querySelector('[data-testid=queue-count]').textContent === '0'",
            timeout_ms=10_000)
    drained_s = time.monotonic() - started
    assert drained_s < 10
    rows = dict(demo.execute("SELECT title, count(*) FROM incidents WHERE title LIKE %s "
                             "GROUP BY title", (f"离线上报%{stamp}",)).fetchall())
    assert rows == {f"离线上报一 {stamp}": 1, f"离线上报二 {stamp}": 1}
    second = demo.execute("SELECT id, grid_id FROM incidents WHERE title = %s",
                          (f"离线上报二 {stamp}",)).fetchone()
    assert second[1] == grid_id
    photos = demo.execute("SELECT count(*), max(width), max(height), max(content_type) "
                          "FROM incident_photos WHERE incident_id = %s",
                          (second[0],)).fetchone()
    assert photos == (1, 1600, 1067, "image/jpeg")  # resized on the device
    patrol = page.evaluate("WG.lastPatrol")
    assert demo.execute("SELECT count(*) FROM patrol_points WHERE patrol_id = %s",
                        (patrol["id"],)).fetchone()[0] == points
    assert demo.execute("SELECT ended_at IS NOT NULL FROM patrols WHERE id = %s",
                        (patrol["id"],)).fetchone()[0]
    steps = demo.execute("SELECT action, count(*) FROM incident_events WHERE incident_id = %s "
                         "AND action IN ('start', 'resolve') GROUP BY action",
                         (case,)).fetchall()
    assert dict(steps) == {"start": 1, "resolve": 1}
    assert demo.execute("SELECT status FROM incidents WHERE id = %s",
                        (case,)).fetchone()[0] == "resolved"
    # the photo comes back to its worker, and to nobody outside the area
    url = demo.execute("SELECT '/incidents/' || incident_id || '/photos/' || id "
                       "FROM incident_photos WHERE incident_id = %s", (second[0],)).fetchone()[0]
    assert page.evaluate(f"fetch({url!r}, {{headers: WG.authHeaders()}}).then(r => r.status)"
                         ) == 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "worker-app-synced.png"))
    context.close()


def test_a_dispatch_appears_in_my_tasks_within_two_seconds(base, browser, demo,
                                                           commander) -> None:
    _, lon, lat = worker_grid(demo)
    context = phone(browser, lon, lat)
    page, watch = login(context, base, "worker", "wangge-worker", "/map/me")
    page.click("[data-testid=tasks-open]")
    wait_js(page, "WG.feed && WG.feed.readyState === 1")
    case = dispatch_case(commander, lon, lat, "新派遣 " + str(time.time_ns()))
    wait_js(page, f"!!document.querySelector(\"[data-testid=task-item][data-id='{case}']\")",
            timeout_ms=2000)
    # details, history and a navigation hint from my position
    page.click(f"[data-testid=task-item][data-id='{case}']")
    page.wait_for_selector("[data-testid=task-nav]")
    assert "米" in page.inner_text("[data-testid=task-nav]")
    assert page.locator("#w-task-detail .wg-history tr").count() == 3  # report, accept, dispatch
    # who is responsible for a micro-grid: leaders and workers with their phones
    page.click("#w-tasks [data-close]")
    page.locator("path.wg-mg").first.click()
    page.wait_for_selector("[data-testid=responsible-panel]:not([hidden])")
    assert "微网格长" in page.inner_text("[data-testid=responsible-panel]")
    assert page.locator("[data-testid=responsible-panel] a[href^='tel:']").count() >= 1
    # my history of 30 days
    page.click("#w-responsible [data-close]")
    page.click("[data-testid=history-open]")
    page.wait_for_selector("[data-testid=history-list]")
    assert page.evaluate("WG.lastHistory.days") == 30
    watch.assert_clean()
    context.close()


def test_bad_input_is_shown_and_nothing_is_lost(base, browser, demo,
                                                demo_settings: Settings) -> None:
    grid_id, lon, lat = worker_grid(demo)
    outside = demo.execute(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids "
        "WHERE id <> %s AND valid_to IS NULL ORDER BY geom <-> (SELECT geom FROM grids "
        "WHERE id = %s) LIMIT 1) s", (grid_id, grid_id)).fetchone()
    stamp = str(time.time_ns())
    context = phone(browser, lon, lat)
    page, _ = login(context, base, "worker", "wangge-worker", "/map/me")
    installed(page)
    # a text file renamed .jpg is refused on the device, with a message in Chinese
    page.click("[data-testid=report-locate]")
    page.fill("[data-testid=report-title]", "假照片")
    page.set_input_files("[data-testid=photo-input]", [
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"not an image at all" * 50}])
    page.click("[data-testid=report-submit]")
    page.wait_for_selector("#w-form-msg:not([hidden])")
    assert "不是有效的JPEG或PNG图片" in page.inner_text("#w-form-msg")
    assert queued(page) == 0
    page.click("#w-cancel")

    # a report outside my area, made offline, fails after the sync with the server's reason
    context.set_offline(True)
    wait_js(page, "!navigator.onLine")
    context.set_geolocation({"longitude": outside[0], "latitude": outside[1]})
    report_here(page, "garbage", f"区域外 {stamp}")
    context.set_geolocation({"longitude": lon, "latitude": lat})
    report_here(page, "garbage", f"区域内 {stamp}")
    # ... and the token expires while the phone is offline
    account = demo.execute("SELECT id FROM accounts WHERE username = 'worker'").fetchone()[0]
    expired, _ = issue_token(demo_settings, account, "worker", "worker", 0, minutes=-5)
    page.evaluate(f"localStorage.setItem('wangge_token', {expired!r})")
    context.set_offline(False)
    # the queue stops at the first 401 and offers a new login; a read that meets the 401 may
    # take the page to the login first (and that navigation, served by the service worker,
    # sometimes does not settle in headless Chromium). However the worker reaches the login,
    # nothing queued is dropped: counted after the new login below.
    deadline = time.monotonic() + 30
    clicked = False
    while time.monotonic() < deadline:
        with suppress(PlaywrightError):  # the page may be navigating under us
            if page.evaluate("location.pathname") == "/login":
                break
            if not clicked and page.locator("[data-testid=relogin]").count():
                assert queued(page) == 2  # the queue waits for a new login
                assert "重新登录" in page.inner_text("#w-sync")
                page.click("[data-testid=relogin]", no_wait_after=True, timeout=5_000)
                clicked = True
        time.sleep(0.1)
    page.goto(f"{base}/login?reason=expired&next=/map/me")  # settle on the login page
    page.fill("input[name=username]", "worker")
    page.fill("input[name=password]", "wangge-worker")
    page.click("#wg-login button[type=submit]")
    page.wait_for_url(f"{base}/map/me")
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=30_000)
    wait_js(page, "document.querySelector('[data-testid=queue-count]').textContent === '1' && "
                  "WG.queueCounts.failed === 1", timeout_ms=10_000)
    assert demo.execute("SELECT count(*) FROM incidents WHERE title = %s",
                        (f"区域内 {stamp}",)).fetchone()[0] == 1
    page.click("[data-testid=queue-open]")
    error = page.inner_text("[data-testid=queue-item][data-state=failed] "
                            "[data-testid=queue-error]")
    assert "事件位置不在您的责任区域内" in error  # the 403 problem document, in Chinese
    page.click("#wg-lang")
    wait_js(page, "document.querySelector('[data-testid=queue-error]').textContent"
                  ".indexOf('outside your areas') >= 0")
    page.click("#wg-lang")
    # the worker drops it; nothing of it reaches the database
    page.on("dialog", lambda d: d.accept())
    page.click("[data-testid=queue-drop]")
    wait_js(page, "document.querySelector('[data-testid=queue-count]').textContent === '0'")
    assert demo.execute("SELECT count(*) FROM incidents WHERE title = %s",
                        (f"区域外 {stamp}",)).fetchone()[0] == 0
    context.close()


def test_other_workers_photo_is_not_found(base, demo, commander) -> None:
    grid_id, lon, lat = worker_grid(demo)
    case = dispatch_case(commander, lon, lat, "照片权限 " + str(time.time_ns()))
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "PNG")
    r = commander.post(f"/incidents/{case}/photos", content=out.getvalue(),
                       headers={"Content-Type": "image/png"})
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    from gis.accounts import hash_password

    name = f"other{time.time_ns() % 10**9}"
    worker = demo.execute("INSERT INTO workers (name) VALUES (%s) RETURNING id",
                          (name,)).fetchone()[0]
    demo.execute("INSERT INTO assignments (worker_id, level, area_id, role) SELECT %s, 'grid', "
                 "id, 'full_time' FROM grids WHERE id <> %s AND valid_to IS NULL LIMIT 1",
                 (worker, grid_id))
    demo.execute("INSERT INTO accounts (username, password_hash, role, worker_id) "
                 "VALUES (%s, %s, 'worker', %s)", (name, hash_password("pw-" + name), worker))
    token = httpx.post(f"{base}/auth/token", data={"username": name,
                                                   "password": "pw-" + name}).json()
    head = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(base + url, headers=head).status_code == 404
    assert httpx.get(base + url + "0", headers=head).status_code == 404
    mine = httpx.post(f"{base}/auth/token", data={"username": "worker",
                                                  "password": "wangge-worker"}).json()
    assert httpx.get(base + url, headers={
        "Authorization": f"Bearer {mine['access_token']}"}).status_code == 200
    forged = url.rsplit("/", 1)[0] + "/999999999"
    assert httpx.get(base + forged, headers={
        "Authorization": f"Bearer {mine['access_token']}"}).status_code == 404
