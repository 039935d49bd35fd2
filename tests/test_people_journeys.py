"""Journeys in Chromium with real people: an admin adds a worker and assigns a micro-grid, a
commander dispatches a case to that worker by name, the worker resolves it, the commander
verifies and closes, and the resident rates it through the one-time link without logging in;
an admin imports 200 workers from a CSV (and a bad CSV writes nothing)."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from gis.accounts import create_account
from gis.database import libpq_url
from tests.browser import PageWatch, chromium, login, screenshot, wait_js
from tests.test_incidents_fixture import COUNTY, world_fixture  # noqa: F401

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MG = f"{COUNTY}001002001002"  # street 1, community 2, grid 1, micro-grid 2


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def staff(db_url: str, world) -> Iterator[dict[str, str]]:
    """An admin and a street-1 commander who log in through the login page."""
    names = {"admin": "journey_admin", "commander": "journey_cmd"}
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        for role, name in names.items():
            if not conn.execute("SELECT 1 FROM accounts WHERE username = %s",
                                (name,)).fetchone():
                areas = [("street", MG[:9])] if role == "commander" else []
                create_account(conn, name, f"{name}-password", role, areas)
    yield names


def _stats_satisfaction(http: httpx.Client, headers: dict) -> dict:
    r = http.get("/stats", params={"level": "street"}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["total"]["satisfaction"]


def test_a_case_with_real_people_from_roster_to_resident_rating(
        live_server: str, browser, staff, world, conn) -> None:
    base = live_server
    # 1. the admin adds a worker and assigns a micro-grid on /admin/people
    admin_ctx = browser.new_context(viewport=DESKTOP)
    admin, admin_watch = login(admin_ctx, base, staff["admin"], "journey_admin-password",
                               "/admin/people")
    admin.click("[data-testid=person-new]")
    admin.fill("[data-testid=person-name]", "陈网格")
    admin.fill("[data-testid=person-phone]", "13900000042")
    admin.fill("[data-testid=person-username]", "chen.wangge")
    admin.fill("[data-testid=person-password]", "chen-wangge-pass")
    admin.click("[data-testid=person-save]")
    row = admin.locator("[data-testid=people-table] tbody tr[data-name='陈网格']")
    row.wait_for()
    row.locator("[data-testid=assign-area]").click()
    # a code typed in finds the area and the small map moves to it; the map shows the grids
    # from the vector tiles, and a click picks a grid's code
    admin.fill("[data-testid=assign-area-code]", MG[:12])
    admin.locator("#pp-area-hits", has_text=MG[:12]).wait_for()
    admin.locator("[data-testid=assign-map] .leaflet-wg-grids-pane path").first.wait_for()
    admin.locator("[data-testid=assign-map] .leaflet-wg-grids-pane path").first.click()
    wait_js(admin, "/^[0-9]{15}([0-9]{3})?$/.test(document.querySelector("
                   "'[data-testid=assign-area-code]').value)")
    admin.fill("[data-testid=assign-area-code]", MG)  # or a code typed (or searched) in
    admin.select_option("[data-testid=assign-role]", "micro_grid_leader")
    admin.click("[data-testid=assign-save]")
    admin.locator(f"[data-testid=people-table] tbody tr[data-name='陈网格'] "
                  f"[data-assignment]:has-text('{MG}')").wait_for()
    screenshot(admin, "people")
    worker_id = conn.execute("SELECT w.id FROM workers w JOIN accounts a ON a.worker_id = w.id "
                             "WHERE a.username = 'chen.wangge'").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM assignments s JOIN micro_grids m ON m.id = "
                        "s.area_id AND s.level = 'micro_grid' WHERE s.worker_id = %s AND "
                        "m.code = %s AND s.role = 'micro_grid_leader'",
                        (worker_id, MG)).fetchone()[0] == 1

    # 2. a hotline case in that micro-grid; the commander accepts and dispatches it by name
    http = httpx.Client(base_url=base)
    tokens = {}
    for name, password in [(staff["commander"], "journey_cmd-password"),
                           ("chen.wangge", "chen-wangge-pass")]:
        r = http.post("/auth/token", data={"username": name, "password": password})
        assert r.status_code == 200, r.text
        tokens[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    before = _stats_satisfaction(http, tokens[staff["commander"]])
    lon, lat = world.centers[MG]
    case = http.post("/incidents", json={"lon": lon, "lat": lat, "category": "garbage",
                                         "title": "楼道堆放杂物", "source": "hotline",
                                         "reporter": "居民王女士"},
                     headers=tokens[staff["commander"]]).json()["id"]
    cmd_ctx = browser.new_context(viewport=DESKTOP)
    cmd, cmd_watch = login(cmd_ctx, base, staff["commander"], "journey_cmd-password", "/map")
    cmd.evaluate(f"WG.showIncident({case})")
    cmd.click("#d-actions button[data-action=accept]")
    cmd.wait_for_selector("#d-status[data-status=accepted]")
    wait_js(cmd, "document.querySelector('[data-testid=dispatch-assignee]') && "
                 "+document.querySelector('[data-testid=dispatch-assignee]')"
                 ".getAttribute('data-loaded') > 0")
    option = cmd.locator("[data-testid=dispatch-assignee] option", has_text="陈网格")
    cmd.select_option("[data-testid=dispatch-assignee]", option.get_attribute("value"))
    cmd.click("[data-testid=dispatch-submit]")
    cmd.wait_for_selector("#d-status[data-status=dispatched]")
    assert "陈网格" in cmd.inner_text("#d-assignee-name")
    # 督办: the commander urges it with a note; it is in the case's history
    cmd.fill("#d-note", "请今天处理")
    cmd.click("[data-testid=urge]")
    cmd.locator(".wg-history tr", has_text="请今天处理").wait_for()

    # 3. the worker (phone) finds it among "my cases" and resolves it through the API
    phone_ctx = browser.new_context(viewport=PHONE)
    me = http.get("/incidents", params={"assignee": "me"}, headers=tokens["chen.wangge"]).json()
    assert [i["id"] for i in me["items"]] == [case]
    assert me["items"][0]["assignee"]["name"] == "陈网格"
    for step in ("start", "resolve"):
        r = http.post(f"/incidents/{case}/transitions", json={"action": step, "note": "已清理"},
                      headers=tokens["chen.wangge"])
        assert r.status_code == 200, r.text

    # 4. the commander verifies and closes, and makes the rating link (with its QR code)
    cmd.evaluate(f"WG.showIncident({case})")
    cmd.click("#d-actions button[data-action=verify]")
    cmd.wait_for_selector("#d-status[data-status=verified]")
    cmd.click("#d-actions button[data-action=close]")
    cmd.wait_for_selector("#d-status[data-status=closed]")
    cmd.click("[data-testid=rating-link]")
    cmd.wait_for_selector("#d-rating-qr svg")
    link = cmd.get_attribute("#d-rating-url", "href")
    assert link.startswith("/rate/")

    # 5. the resident opens the link with no login and rates 5
    resident_ctx = browser.new_context(viewport=PHONE)
    resident = resident_ctx.new_page()
    resident_watch = PageWatch(resident, base)
    resident.goto(base + link)
    resident.wait_for_selector("body[data-ready='1']", state="attached")
    assert "楼道堆放杂物" in resident.inner_text("#r-case")
    resident.click("label[for=r-score-5]")
    resident.fill("[data-testid=rate-comment]", "处理很及时")
    resident.click("[data-testid=rate-submit]")
    resident.wait_for_selector("[data-testid=rate-message][data-i18n=rate_thanks]")
    screenshot(resident, "rating")
    resident_watch.assert_clean()
    # the link is single use: opened again, it says so
    again = resident_ctx.new_page()
    again.goto(base + link)
    again.wait_for_selector("[data-testid=rate-message][data-i18n=rate_gone]")

    # 6. the figures change as computed by hand
    detail = http.get(f"/incidents/{case}", headers=tokens[staff["commander"]]).json()
    assert detail["satisfaction"] == 5 and detail["satisfaction_source"] == "link"
    assert [e["action"] for e in detail["events"]] == [
        "report", "accept", "dispatch", "urge", "start", "resolve", "verify", "close", "rate"]
    after = _stats_satisfaction(http, tokens[staff["commander"]])
    assert after["count"] == before["count"] + 1
    expected = ((before["mean"] or 0) * before["count"] + 5) / (before["count"] + 1)
    assert after["mean"] == pytest.approx(expected, abs=1e-4)
    rated = conn.execute("SELECT count(*) FILTER (WHERE satisfaction >= 4), count(*) FROM "
                         "incidents WHERE satisfaction_source IN ('link', 'phone') AND "
                         "street_id = %s", (world.id(MG[:9]),)).fetchone()
    assert rated[0] >= 1 and rated[1] >= rated[0]
    cmd.evaluate(f"WG.showIncident({case})")
    cmd.wait_for_selector("#d-satisfaction")
    assert cmd.inner_text("#d-satisfaction") == "5/5"

    admin_watch.assert_clean()
    cmd_watch.assert_clean()
    http.close()
    for ctx in (admin_ctx, cmd_ctx, phone_ctx, resident_ctx):
        ctx.close()


def _write_roster(path, n: int, codes: list[str], prefix: str, bad: dict | None = None) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["code", "name", "phone", "username", "role", "area", "starts_on",
                      "ends_on"])
        for i in range(n):
            row = [f"{prefix}{i:03d}", f"导入{prefix}{i:03d}", f"137{i:08d}",
                   f"{prefix.lower()}{i:03d}", ["full_time", "part_time",
                                                "household_leader"][i % 3],
                   codes[i % len(codes)], "2026-01-01", ""]
            if bad and i in bad:
                row[bad[i][0]] = bad[i][1]
            out.writerow(row)


def test_admin_imports_200_workers_from_csv_on_the_page(live_server: str, browser, staff,
                                                        world, conn, tmp_path) -> None:
    base = live_server
    codes = sorted(c for c in world.ids if len(c) == 18)
    ctx = browser.new_context(viewport=DESKTOP)
    page, watch = login(ctx, base, staff["admin"], "journey_admin-password", "/admin/people")
    # a roster with an unknown area and an unknown role: row report, nothing written
    bad = tmp_path / "bad.csv"
    _write_roster(bad, 200, codes, "JB", {17: (5, "610199999999999999"), 42: (4, "captain")})
    before = conn.execute("SELECT count(*) FROM workers").fetchone()[0]
    page.set_input_files("[data-testid=import-workers]", str(bad))
    page.wait_for_selector("[data-testid=import-report][data-written='0']")
    report = page.inner_text("[data-testid=import-report]")
    assert "JB017" in report and "captain" in report
    assert conn.execute("SELECT count(*) FROM workers").fetchone()[0] == before
    # the good roster: 200 workers, accounts and assignments, listed in the table
    good = tmp_path / "good.csv"
    _write_roster(good, 200, codes, "JG")
    page.set_input_files("[data-testid=import-workers]", str(good))
    page.wait_for_selector("[data-testid=import-report][data-written='1']")
    assert conn.execute("SELECT count(*) FROM workers w JOIN assignments s ON s.worker_id = w.id "
                        "JOIN accounts a ON a.worker_id = w.id WHERE w.code LIKE 'JG%'"
                        ).fetchone()[0] == 200
    page.fill("#pp-search", "导入JG")
    wait_js(page, "+document.querySelector('[data-testid=people-table] tbody')"
                  ".getAttribute('data-count') === 200")
    assert page.locator("[data-testid=people-table] tbody tr").count() == 200
    assert [f for f in watch.failed if "/people/import" not in f] == []
    assert len([f for f in watch.failed if "/people/import" in f and " 422" in f]) == 1
    assert watch.foreign == []
    assert all("422" in e for e in watch.errors), watch.errors
    ctx.close()
