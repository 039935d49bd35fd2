"""The incident workflow: every transition legal and illegal, roles, history, the feed of events."""

from __future__ import annotations

import pytest

from gis.workflow import STATUSES, TRANSITIONS, allowed_actions
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MG = f"{COUNTY}002001001001"
ACTIONS = sorted({t.action for t in TRANSITIONS})
# the path to each status from 'reported'
PATH = {"reported": [], "accepted": ["accept"], "rejected": ["reject"],
        "dispatched": ["accept", "dispatch"], "in_progress": ["accept", "dispatch", "start"],
        "resolved": ["accept", "dispatch", "start", "resolve"],
        "verified": ["accept", "dispatch", "start", "resolve", "verify"],
        "closed": ["accept", "dispatch", "start", "resolve", "verify", "close"]}


def new_case(client, headers, world) -> int:
    lon, lat = world.centers[MG]
    r = client.post("/incidents", json={"lon": lon, "lat": lat, "category": "safety_hazard",
                                        "title": "井盖缺失"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


DISTRICT_DEPARTMENT: dict[str, int] = {}


@pytest.fixture(autouse=True)
def district_department(conn) -> int:
    """A district-wide department: the assignee of dispatches that name none."""
    if not DISTRICT_DEPARTMENT:
        DISTRICT_DEPARTMENT["id"] = conn.execute(
            "INSERT INTO departments (code, name, kind) VALUES ('wf-urban', '区城管局', "
            "'urban_management') RETURNING id").fetchone()[0]
    return DISTRICT_DEPARTMENT["id"]


def account_of(settings, token: str) -> int:
    from gis.accounts import decode_token

    return int(decode_token(settings, token)["sub"])


def act(client, headers, case: int, action: str, **extra):
    if action == "dispatch" and not any(k.startswith("assignee") for k in extra):
        extra["assignee_department_id"] = DISTRICT_DEPARTMENT["id"]
    return client.post(f"/incidents/{case}/transitions", json={"action": action, **extra},
                       headers=headers)


def test_command_center_runs_a_case_from_report_to_close(client, make_token, world,
                                                         settings) -> None:
    commander = bearer(make_token("commander"))
    token = make_token("worker", [("grid", world.id(MG[:15]))], username=f"lisi_{id(world)}")
    worker = bearer(token)
    case = new_case(client, worker, world)
    assert act(client, commander, case, "accept", note="立案").json()["status"] == "accepted"
    r = act(client, commander, case, "dispatch", assignee_account_id=account_of(settings, token))
    assert r.json()["status"] == "dispatched"
    assert r.json()["assignee"] == {"id": account_of(settings, token),
                                    "name": f"lisi_{id(world)}", "kind": "account"}
    assert act(client, worker, case, "start").json()["status"] == "in_progress"
    assert act(client, worker, case, "resolve").json()["status"] == "resolved"
    assert act(client, commander, case, "send_back", note="未清理干净").json()["status"] \
        == "in_progress"
    assert act(client, worker, case, "resolve").json()["status"] == "resolved"
    assert act(client, commander, case, "verify").json()["status"] == "verified"
    r = act(client, commander, case, "close", satisfaction=5, note="群众满意")
    assert r.json()["status"] == "closed" and r.json()["allowed_actions"] == []
    detail = client.get(f"/incidents/{case}", headers=commander).json()
    assert detail["satisfaction"] == 5 and detail["closed_at"] and detail["resolved_at"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in detail["events"]] == [
        ("report", None, "reported"), ("accept", "reported", "accepted"),
        ("dispatch", "accepted", "dispatched"), ("start", "dispatched", "in_progress"),
        ("resolve", "in_progress", "resolved"), ("send_back", "resolved", "in_progress"),
        ("resolve", "in_progress", "resolved"), ("verify", "resolved", "verified"),
        ("close", "verified", "closed")]
    assert detail["events"][5]["note"] == "未清理干净"
    assert {e["actor"] for e in detail["events"][1:3]} == {detail["events"][1]["actor"]}


@pytest.mark.parametrize("status", STATUSES)
def test_every_action_from_every_status(client, admin_headers, world, status) -> None:
    """Legal actions move the case; every other action is 409 listing the allowed ones."""
    for action in ACTIONS:
        case = new_case(client, admin_headers, world)
        for step in PATH[status]:
            assert act(client, admin_headers, case, step).status_code == 200
        r = act(client, admin_headers, case, action)
        if action in allowed_actions(status):
            assert r.status_code == 200, (status, action, r.text)
        else:
            assert r.status_code == 409, (status, action, r.text)
            assert r.json()["allowed"] == allowed_actions(status, "admin")
            assert r.json()["status_now"] == status


def test_wrong_role_is_403_and_writes_nothing(client, make_token, world) -> None:
    worker = bearer(make_token("worker", [("grid", world.id(MG[:15]))]))
    case = new_case(client, worker, world)
    r = act(client, worker, case, "accept")
    assert r.status_code == 403 and "may not" in r.json()["detail"]
    planner = bearer(make_token("planner"))
    assert act(client, planner, case, "accept").status_code == 403
    detail = client.get(f"/incidents/{case}", headers=worker).json()
    assert detail["status"] == "reported" and len(detail["events"]) == 1


def test_satisfaction_goes_with_close_only(client, admin_headers, world) -> None:
    case = new_case(client, admin_headers, world)
    r = act(client, admin_headers, case, "accept", satisfaction=4)
    assert r.status_code == 422
    for step in PATH["verified"]:
        act(client, admin_headers, case, step)
    assert act(client, admin_headers, case, "close", satisfaction=9).status_code == 422
    assert act(client, admin_headers, case, "close", satisfaction=4).status_code == 200


def test_stale_version_is_refused(client, admin_headers, world) -> None:
    case = new_case(client, admin_headers, world)
    assert act(client, admin_headers, case, "accept", version=1).status_code == 200
    assert act(client, admin_headers, case, "dispatch", version=1).status_code == 409


def test_worker_cannot_touch_cases_outside_its_area(client, admin_headers, make_token,
                                                    world) -> None:
    case = new_case(client, admin_headers, world)
    for step in PATH["dispatched"]:
        act(client, admin_headers, case, step)
    other = bearer(make_token("worker", [("grid", world.id(f"{COUNTY}001001001"))]))
    assert act(client, other, case, "start").status_code == 404
    assert client.get(f"/incidents/{case}", headers=other).status_code == 404


def test_events_are_append_only(conn, client, admin_headers, world) -> None:
    import psycopg

    case = new_case(client, admin_headers, world)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE incident_events SET note = 'x' WHERE incident_id = %s", (case,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM incident_events WHERE incident_id = %s", (case,))
