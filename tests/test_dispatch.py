"""Dispatch (派) to real people: coverage, 422 reasons, re-dispatch history, 'my cases', feed."""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest

from gis.accounts import decode_token
from gis.feed import visible
from gis.scope import Scope
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MG = f"{COUNTY}001001001001"  # street 1, community 1, grid 1, micro-grid 1
OTHER_GRID = f"{COUNTY}001001002"
OTHER_STREET = f"{COUNTY}002"


def account_id(settings, token: str) -> int:
    return int(decode_token(settings, token)["sub"])


def new_case(client, headers, world, code: str = MG, category: str = "garbage",
             reported_at: str | None = None) -> int:
    lon, lat = world.centers[code]
    body = {"lon": lon, "lat": lat, "category": category, "title": "垃圾堆放"}
    if reported_at:
        body["reported_at"] = reported_at
    r = client.post("/incidents", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def act(client, headers, case: int, action: str, **extra):
    return client.post(f"/incidents/{case}/transitions", json={"action": action, **extra},
                       headers=headers)


def accepted_case(client, headers, world, **kw) -> int:
    case = new_case(client, headers, world, **kw)
    assert act(client, headers, case, "accept").status_code == 200
    return case


def department(conn, code: str, street_id: int | None, kind: str = "urban_management",
               active: bool = True) -> int:
    return conn.execute(
        "INSERT INTO departments (code, name, kind, street_id, active) VALUES (%s, %s, %s, %s, "
        "%s) RETURNING id", (code, f"部门{code}", kind, street_id, active)).fetchone()[0]


def test_dispatch_to_a_covering_worker_shows_the_name_and_lists_in_my_cases(
        client, admin_headers, make_token, world, settings) -> None:
    token = make_token("worker", [("grid", world.id(MG[:15]))], username="wangwu_dispatch")
    worker = bearer(token)
    case = accepted_case(client, admin_headers, world)
    r = act(client, admin_headers, case, "dispatch", assignee_account_id=account_id(settings,
                                                                                    token))
    assert r.status_code == 200, r.text
    me = {"id": account_id(settings, token), "name": "wangwu_dispatch", "kind": "account"}
    assert r.json()["assignee"] == me
    mine = client.get("/incidents", params={"assignee": "me"}, headers=worker).json()["items"]
    assert [i["id"] for i in mine] == [case] and mine[0]["assignee"] == me
    detail = client.get(f"/incidents/{case}", headers=worker).json()
    assert detail["events"][-1]["action"] == "dispatch"
    assert detail["events"][-1]["assignee"] == me


def test_my_cases_put_overdue_first_then_due_time(client, admin_headers, make_token, world,
                                                  settings) -> None:
    token = make_token("worker", [("micro_grid", world.id(MG))])
    me = account_id(settings, token)
    now = date.today()
    # noise (12 h), garbage (24 h), road damage (72 h); the garbage case was reported 3 days ago
    fresh_noise = accepted_case(client, admin_headers, world, category="noise")
    late = accepted_case(client, admin_headers, world, category="garbage",
                         reported_at=f"{now - timedelta(days=3)}T08:00:00+08:00")
    road = accepted_case(client, admin_headers, world, category="road_damage")
    for case in (road, fresh_noise, late):
        assert act(client, admin_headers, case, "dispatch",
                   assignee_account_id=me).status_code == 200
    items = client.get("/incidents", params={"assignee": "me"},
                       headers=bearer(token)).json()["items"]
    assert [i["id"] for i in items] == [late, fresh_noise, road]
    assert items[0]["overdue"] and not items[1]["overdue"]


def test_dispatch_outside_the_area_or_to_a_disabled_person_is_422_and_writes_nothing(
        client, admin_headers, make_token, world, settings, conn) -> None:
    elsewhere = make_token("worker", [("grid", world.id(OTHER_GRID))])
    disabled = make_token("worker", [("grid", world.id(MG[:15]))])
    conn.execute("UPDATE accounts SET disabled = true WHERE id = %s",
                 (account_id(settings, disabled),))
    far_dept = department(conn, "far-dept", world.id(OTHER_STREET))
    closed_dept = department(conn, "closed-dept", None, active=False)
    commander = make_token("commander")
    case = accepted_case(client, admin_headers, world)
    for body, reason in [
            ({"assignee_account_id": account_id(settings, elsewhere)}, "does not cover"),
            ({"assignee_account_id": account_id(settings, disabled)}, "disabled"),
            ({"assignee_department_id": far_dept}, "does not serve"),
            ({"assignee_department_id": closed_dept}, "disabled"),
            ({"assignee_account_id": account_id(settings, commander)}, "grid workers and "
             "departments"),
            ({"assignee_account_id": 987654321}, "no account"),
            ({}, "exactly one"),
            ({"assignee": "李四"}, "assignee_account_id")]:
        r = act(client, admin_headers, case, "dispatch", **body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert reason in r.json()["detail"], (reason, r.json())
    detail = client.get(f"/incidents/{case}", headers=admin_headers).json()
    assert detail["status"] == "accepted" and detail["assignee"] is None
    assert [e["action"] for e in detail["events"]] == ["report", "accept"]


def test_redispatch_and_send_back_keep_the_history(client, admin_headers, make_token, world,
                                                   settings, conn) -> None:
    first = make_token("worker", [("grid", world.id(MG[:15]))], username="first_redispatch")
    second = make_token("worker", [("community", world.id(MG[:12]))],
                        username="second_redispatch")
    street_dept = department(conn, "s1-police", world.id(MG[:9]), kind="police")
    case = accepted_case(client, admin_headers, world)
    assert act(client, admin_headers, case, "dispatch",
               assignee_account_id=account_id(settings, first)).status_code == 200
    assert act(client, bearer(first), case, "start").status_code == 200
    r = act(client, admin_headers, case, "dispatch", note="改派",
            assignee_account_id=account_id(settings, second))
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    assert client.get("/incidents", params={"assignee": "me"},
                      headers=bearer(first)).json()["items"] == []
    assert act(client, admin_headers, case, "dispatch",
               assignee_department_id=street_dept).status_code == 200
    for step in ("start", "resolve"):
        assert act(client, admin_headers, case, step).status_code == 200
    assert act(client, admin_headers, case, "send_back", note="未处理完").status_code == 200
    detail = client.get(f"/incidents/{case}", headers=admin_headers).json()
    assert detail["assignee"] == {"id": street_dept, "name": "部门s1-police",
                                  "kind": "department"}
    dispatches = [(e["from_status"], e["assignee"]["name"]) for e in detail["events"]
                  if e["action"] == "dispatch"]
    assert dispatches == [("accepted", "first_redispatch"), ("in_progress", "second_redispatch"),
                          ("dispatched", "部门s1-police")]
    assert detail["events"][-1]["action"] == "send_back"
    assert detail["events"][-1]["to_status"] == "in_progress"


def test_department_account_sees_the_cases_of_its_department(client, admin_headers, world,
                                                             conn) -> None:
    from gis.accounts import issue_token

    dept = department(conn, "s1-market", world.id(MG[:9]), kind="market_supervision")
    acc = conn.execute(
        "INSERT INTO accounts (username, password_hash, role, department_id) "
        "VALUES ('market_s1', 'x', 'department', %s) RETURNING id", (dept,)).fetchone()[0]
    token = issue_token(client.app.state.settings, acc, "market_s1", "department", 0)[0]
    case = accepted_case(client, admin_headers, world)
    assert act(client, admin_headers, case, "dispatch",
               assignee_department_id=dept).status_code == 200
    mine = client.get("/incidents", params={"assignee": "me"}, headers=bearer(token))
    assert [i["id"] for i in mine.json()["items"]] == [case]
    assert act(client, bearer(token), case, "start").status_code == 200
    # a department of street 1 sees nothing of street 2
    lon, lat = world.centers[f"{OTHER_STREET}001001001"]
    other = client.post("/incidents", json={"lon": lon, "lat": lat, "category": "garbage",
                                            "title": "x"}, headers=admin_headers).json()["id"]
    assert client.get(f"/incidents/{other}", headers=bearer(token)).status_code == 404


def test_suggestions_list_grid_workers_first_then_the_streets_departments(
        client, admin_headers, make_token, world, settings, conn) -> None:
    grid_worker = make_token("worker", [("grid", world.id(MG[:15]))], username="sug_grid")
    make_token("worker", [("street", world.id(MG[:9]))], username="sug_street")
    ended = make_token("worker", [("grid", world.id(MG[:15]))], username="sug_ended")
    conn.execute("UPDATE assignments SET starts_on = wangge_local_date() - 10, "
                 "ends_on = wangge_local_date() WHERE worker_id = (SELECT worker_id FROM "
                 "accounts WHERE id = %s)", (account_id(settings, ended),))
    make_token("worker", [("grid", world.id(OTHER_GRID))], username="sug_elsewhere")
    here = department(conn, "sug-s1", world.id(MG[:9]))
    district = department(conn, "sug-district", None, kind="police")
    department(conn, "sug-s2", world.id(OTHER_STREET))
    case = accepted_case(client, admin_headers, world)
    r = client.get(f"/incidents/{case}/assignees", headers=admin_headers)
    assert r.status_code == 200
    names = [(p["kind"], p["name"]) for p in r.json()["items"]]
    assert "sug_ended" not in {n for _, n in names} and "sug_elsewhere" not in {n for _, n in
                                                                                 names}
    assert names.index(("account", "sug_grid")) < names.index(("account", "sug_street"))
    assert names.index(("account", "sug_street")) < names.index(("department", "部门sug-s1"))
    assert names.index(("department", "部门sug-s1")) < names.index(("department",
                                                                    "部门sug-district"))
    assert ("department", "部门sug-s2") not in names
    ids = {p["id"] for p in r.json()["items"] if p["kind"] == "department"}
    assert {here, district} <= ids
    # every suggestion may be chosen
    for person in r.json()["items"][:3]:
        key = "assignee_account_id" if person["kind"] == "account" else "assignee_department_id"
        assert act(client, admin_headers, case, "dispatch", **{key: person["id"]}).status_code \
            == 200
    worker = bearer(grid_worker)
    assert client.get(f"/incidents/{case}/assignees", headers=worker).status_code == 403


@pytest.mark.parametrize(("ends_in_days", "sees"), [(-1, False), (0, False), (1, True)])
def test_an_assignment_stops_granting_access_on_its_end_date(
        client, admin_headers, make_token, world, settings, conn, ends_in_days, sees) -> None:
    """The end date counts in the district's time zone, in SQL, with no write in between."""
    token = make_token("worker", [("grid", world.id(MG[:15]))])
    conn.execute("UPDATE assignments SET starts_on = wangge_local_date() - 30, "
                 "ends_on = wangge_local_date() + %s WHERE worker_id = (SELECT worker_id FROM "
                 "accounts WHERE id = %s)", (ends_in_days, account_id(settings, token)))
    case = new_case(client, admin_headers, world)
    r = client.get(f"/incidents/{case}", headers=bearer(token), params={"n": ends_in_days})
    assert r.status_code == (200 if sees else 404)


def test_local_date_follows_the_district_time_zone(conn) -> None:
    """Shanghai's date is UTC's date 8 hours on; the API sets wangge.timezone per connection."""
    row = conn.execute("SELECT wangge_local_date(), (now() AT TIME ZONE 'Asia/Shanghai')::date"
                       ).fetchone()
    assert row[0] == row[1]
    conn.execute("SET wangge.timezone = 'Pacific/Kiritimati'")  # UTC+14
    kiri = conn.execute("SELECT wangge_local_date(), (now() AT TIME ZONE "
                        "'Pacific/Kiritimati')::date").fetchone()
    conn.execute("RESET wangge.timezone")
    assert kiri[0] == kiri[1]


def test_the_feed_event_of_a_dispatch_names_the_assignee(client, admin_headers, make_token,
                                                         world, settings, db_url) -> None:
    from gis.database import libpq_url

    token = make_token("worker", [("grid", world.id(MG[:15]))], username="feed_assignee")
    me = account_id(settings, token)
    case = accepted_case(client, admin_headers, world)
    with psycopg.connect(libpq_url(db_url), autocommit=True) as listener:
        listener.execute("LISTEN wangge_incidents")
        assert act(client, admin_headers, case, "dispatch",
                   assignee_account_id=me).status_code == 200
        events = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert events and events[0]["action"] == "dispatch"
    assert events[0]["assignee_account_id"] == me
    assert events[0]["assignee"]["name"] == "feed_assignee"
    # a subscriber whose scope misses the case still gets the event that names it
    assert visible(events[0], Scope(), me) and not visible(events[0], Scope(), me + 1)
