"""Supervision and evaluation (督、评): urge, escalation with the clock moved, rating links (one
use, expiry, 410), phone follow-up, and the category response times."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from gis.categories import load_categories
from gis.database import libpq_url
from gis.supervision import ESCALATION_LOCK
from tests.conftest import with_settings
from tests.test_dispatch import accepted_case, account_id, act, new_case
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

MG = f"{COUNTY}001001001001"
OTHER_STREET_MG = f"{COUNTY}002001001001"


def events(client, headers, case: int) -> list[tuple[str, str]]:
    detail = client.get(f"/incidents/{case}", headers=headers).json()
    return [(e["action"], e["note"]) for e in detail["events"]]


DEPT: dict[str, int] = {}


@pytest.fixture(autouse=True)
def district_department(conn) -> None:
    """A district-wide department to dispatch to."""
    if not DEPT:
        DEPT["id"] = conn.execute("INSERT INTO departments (code, name, kind) VALUES "
                                  "('sup-district', '区住建局', 'housing') RETURNING id"
                                  ).fetchone()[0]


def closed_case(client, headers, world) -> int:
    case = accepted_case(client, headers, world)
    assert act(client, headers, case, "dispatch",
               assignee_department_id=DEPT["id"]).status_code == 200
    for step in ("start", "resolve", "verify", "close"):
        assert act(client, headers, case, step).status_code == 200, step
    return case


def test_urge_needs_a_note_is_an_event_and_reaches_the_assignee(
        client, admin_headers, make_token, world, settings, db_url) -> None:
    commander = bearer(make_token("commander", [("street", world.id(MG[:9]))]))
    token = make_token("worker", [("grid", world.id(MG[:15]))])
    case = accepted_case(client, admin_headers, world)
    act(client, admin_headers, case, "dispatch", assignee_account_id=account_id(settings, token))
    assert client.post(f"/incidents/{case}/urge", json={"note": " "},
                       headers=commander).status_code == 422
    assert client.post(f"/incidents/{case}/urge", json={"note": "x"},
                       headers=bearer(token)).status_code == 403
    with psycopg.connect(libpq_url(db_url), autocommit=True) as listener:
        listener.execute("LISTEN wangge_incidents")
        r = client.post(f"/incidents/{case}/urge", json={"note": "今天下班前处理完"},
                        headers=commander)
        assert r.status_code == 200, r.text

        feed = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert feed[0]["action"] == "urge" and feed[0]["note"] == "今天下班前处理完"
    assert feed[0]["assignee_account_id"] == account_id(settings, token)
    assert events(client, admin_headers, case)[-1] == ("urge", "今天下班前处理完")
    # a street-1 commander cannot urge a case of street 2; a closed case is not urged
    lon, lat = world.centers[OTHER_STREET_MG]
    other = client.post("/incidents", json={"lon": lon, "lat": lat, "category": "noise",
                                            "title": "x"}, headers=admin_headers).json()["id"]
    assert client.post(f"/incidents/{other}/urge", json={"note": "x"},
                       headers=commander).status_code == 404
    done = closed_case(client, admin_headers, world)
    assert client.post(f"/incidents/{done}/urge", json={"note": "x"},
                       headers=admin_headers).status_code == 409


def test_overdue_cases_escalate_by_rule_to_the_street_then_the_district(
        client, admin_headers, world) -> None:
    """garbage: due 24 h after the report, street after 12 h overdue, district after 24 h."""
    rule = load_categories()["garbage"]
    hours = lambda td: td.total_seconds() / 3600  # noqa: E731
    assert (hours(rule.due), [hours(s) for s in rule.escalate_after]) == (24, [12, 24])
    now = datetime.now(UTC)
    fresh = new_case(client, admin_headers, world)
    street = new_case(client, admin_headers, world,
                      reported_at=(now - timedelta(hours=24 + 13)).isoformat())
    district = new_case(client, admin_headers, world,
                        reported_at=(now - timedelta(hours=24 + 30)).isoformat())
    resolved = new_case(client, admin_headers, world,
                        reported_at=(now - timedelta(hours=24 + 30)).isoformat())
    for step in ("accept", "dispatch"):
        extra = {}
        if step == "dispatch":
            people = client.get(f"/incidents/{resolved}/assignees",
                                headers=admin_headers).json()["items"]
            p = people[0]
            extra = {"assignee_account_id" if p["kind"] == "account"
                     else "assignee_department_id": p["id"]}
        act(client, admin_headers, resolved, step, **extra)
    for step in ("start", "resolve"):
        act(client, admin_headers, resolved, step)
    r = client.post("/incidents/escalate", headers=admin_headers)
    assert r.status_code == 200
    levels = {i["id"]: i["escalation_level"] for i in r.json()["escalated"]}
    assert levels.get(street) == 1 and levels.get(district) == 2
    assert fresh not in levels and resolved not in levels
    assert [n for a, n in events(client, admin_headers, district) if a == "escalate"] == [
        "street", "district"]
    # running again changes nothing for them; 12 h later the street case reaches the district
    again = {i["id"] for i in client.post("/incidents/escalate",
                                          headers=admin_headers).json()["escalated"]}
    assert street not in again and district not in again
    later = (now + timedelta(hours=12)).isoformat()
    r = client.post("/incidents/escalate", json={"now": later}, headers=admin_headers)
    assert {i["id"]: i["escalation_level"] for i in r.json()["escalated"]}.get(street) == 2
    assert client.get(f"/incidents/{street}", headers=admin_headers).json()[
        "escalation_level"] == 2
    assert client.get(f"/incidents/{fresh}", headers=admin_headers).json()[
        "escalation_level"] == 0


def test_escalation_runs_on_reads_without_anyone_asking(client, admin_headers, world) -> None:
    now = datetime.now(UTC)
    late = new_case(client, admin_headers, world, category="illegal_parking",  # due 4 h, +2 h
                    reported_at=(now - timedelta(hours=7)).isoformat())
    with with_settings(client, escalation_interval_s=0):
        detail = client.get(f"/incidents/{late}", headers=admin_headers).json()
    assert detail["escalation_level"] == 1
    assert detail["events"][-1]["action"] == "escalate"


def test_a_read_is_not_held_by_an_escalation_run_that_cannot_finish(client, admin_headers,
                                                                      world, db_url) -> None:
    """A backlog (or another process's run) may make escalation slow: the read that started
    it answers after escalation_wait_s, and the run still completes in the background."""
    late = new_case(client, admin_headers, world, category="illegal_parking",  # due 4 h, +2 h
                    reported_at=(datetime.now(UTC) - timedelta(hours=7)).isoformat())
    with psycopg.connect(libpq_url(db_url), autocommit=True) as other_run:
        other_run.execute("SELECT pg_advisory_lock(%s)", (ESCALATION_LOCK,))
        with with_settings(client, escalation_interval_s=0, escalation_wait_s=0.2):
            detail = client.get(f"/incidents/{late}", headers=admin_headers).json()
        assert detail["escalation_level"] == 0  # answered while the run waits for the lock
        other_run.execute("SELECT pg_advisory_unlock(%s)", (ESCALATION_LOCK,))
    deadline = time.monotonic() + 30
    with with_settings(client, escalation_interval_s=3600):  # no new run: the first one ends
        while (level := client.get(f"/incidents/{late}", headers=admin_headers).json()[
                "escalation_level"]) != 1:
            assert time.monotonic() < deadline, f"escalation did not finish (level {level})"
            time.sleep(0.05)


def test_a_rating_link_works_once_without_login_then_is_gone(client, admin_headers,
                                                             make_token, world, conn) -> None:
    case = closed_case(client, admin_headers, world)
    r = client.post(f"/incidents/{case}/rating-link", headers=admin_headers)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["qr_svg"].startswith("<svg") and link["path"] in link["url"]
    token = link["path"].rsplit("/", 1)[1]
    stored = conn.execute("SELECT token_sha256 FROM rating_links WHERE incident_id = %s",
                          (case,)).fetchone()[0]
    assert token not in stored and len(stored) == 64  # only the digest is kept
    anonymous = {}
    assert client.get(f"/rate/{token}/case", headers=anonymous).json()["code"]
    assert client.post(f"/rate/{token}", json={"score": 6}).status_code == 422
    r = client.post(f"/rate/{token}", json={"score": 4, "comment": "处理及时"})
    assert r.status_code == 200
    detail = client.get(f"/incidents/{case}", headers=admin_headers).json()
    assert detail["satisfaction"] == 4 and detail["events"][-1]["action"] == "rate"
    again = client.post(f"/rate/{token}", json={"score": 1})
    assert again.status_code == 410
    assert again.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/rate/{token}/case").status_code == 410
    assert client.get(f"/incidents/{case}", headers=admin_headers).json()["satisfaction"] == 4
    assert client.post(f"/rate/{'x' * 43}", json={"score": 5}).status_code == 410
    # a second link for a case already rated is refused
    assert client.post(f"/incidents/{case}/rating-link",
                       headers=admin_headers).status_code == 409


def test_an_expired_rating_link_is_gone(client, admin_headers, world, conn) -> None:
    case = closed_case(client, admin_headers, world)
    token = client.post(f"/incidents/{case}/rating-link",
                        headers=admin_headers).json()["path"].rsplit("/", 1)[1]
    conn.execute("UPDATE rating_links SET created_at = now() - interval '20 days', "
                 "expires_at = now() - interval '1 second' WHERE incident_id = %s", (case,))
    r = client.post(f"/rate/{token}", json={"score": 5})
    assert r.status_code == 410 and "expired" in r.json()["detail"]
    assert client.get(f"/incidents/{case}", headers=admin_headers).json()["satisfaction"] is None


def test_rating_links_are_for_closed_cases_and_commanders(client, admin_headers, make_token,
                                                          world) -> None:
    case = accepted_case(client, admin_headers, world)
    assert client.post(f"/incidents/{case}/rating-link",
                       headers=admin_headers).status_code == 409
    worker = bearer(make_token("worker", [("grid", world.id(MG[:15]))]))
    assert client.post(f"/incidents/{case}/rating-link", headers=worker).status_code == 403


def test_a_phone_follow_up_stands_in_for_the_link(client, admin_headers, world) -> None:
    case = closed_case(client, admin_headers, world)
    token = client.post(f"/incidents/{case}/rating-link",
                        headers=admin_headers).json()["path"].rsplit("/", 1)[1]
    r = client.post(f"/incidents/{case}/follow-up", json={"score": 3, "comment": "电话回访"},
                    headers=admin_headers)
    assert r.status_code == 200
    detail = client.get(f"/incidents/{case}", headers=admin_headers).json()
    assert detail["satisfaction"] == 3 and detail["events"][-1]["action"] == "follow_up"
    assert client.post(f"/rate/{token}", json={"score": 5}).status_code == 410


def test_categories_carry_response_and_escalation_times(client, admin_headers) -> None:
    cats = {c["key"]: c for c in client.get("/incidents/categories",
                                            headers=admin_headers).json()}
    assert cats["safety_hazard"]["response_hours"] == 1
    assert cats["safety_hazard"]["escalate_after_hours"] == [4, 12]
    assert all(c["response_hours"] <= c["due_hours"] for c in cats.values())
