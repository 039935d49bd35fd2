"""The roster API and `wangge import workers`: people, accounts, dated assignments, jurisdiction,
versions, and all-or-nothing imports with a row report."""

from __future__ import annotations

import csv
from datetime import date, timedelta

import pytest

from importers.options import ImportFailed, ImportOptions
from importers.run import import_file
from tests.test_incidents_fixture import COUNTY, bearer, world_fixture  # noqa: F401

S1, S2 = f"{COUNTY}001", f"{COUNTY}002"
MG1 = f"{S1}001001001"
MG2 = f"{S2}001001001"


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_admin_adds_a_worker_who_logs_in_and_sees_only_the_assigned_micro_grid(
        client, admin_headers, world) -> None:
    r = client.post("/people/workers", json={"name": "赵六", "phone": "13800000001",
                                             "code": "W-ppl-1", "username": "zhao.liu",
                                             "password": "zhao-liu-pass"}, headers=admin_headers)
    assert r.status_code == 201, r.text
    worker = r.json()
    assert worker["account"]["username"] == "zhao.liu" and worker["assignments"] == []
    r = client.post(f"/people/workers/{worker['id']}/assignments",
                    json={"area": MG1, "role": "micro_grid_leader"}, headers=admin_headers)
    assert r.status_code == 201, r.text
    (assignment,) = r.json()["assignments"]
    assert assignment["code"] == MG1 and assignment["current"] and assignment["ends_on"] is None
    token = client.post("/auth/token", data={"username": "zhao.liu",
                                             "password": "zhao-liu-pass"}).json()["access_token"]
    inside, outside = ([world.centers[MG1], world.centers[f"{S1}001001002"]])
    ok = client.post("/incidents", json={"lon": inside[0], "lat": inside[1], "category": "noise",
                                         "title": "夜间施工"}, headers=bearer(token))
    assert ok.status_code == 201
    no = client.post("/incidents", json={"lon": outside[0], "lat": outside[1],
                                         "category": "noise", "title": "x"},
                     headers=bearer(token))
    assert no.status_code == 403
    listed = client.get("/people", params={"q": "赵六"}, headers=admin_headers).json()
    assert [w["name"] for w in listed["workers"]] == ["赵六"]


def test_an_assignment_ending_before_it_starts_is_422(client, admin_headers) -> None:
    wid = client.post("/people/workers", json={"name": "钱七"}, headers=admin_headers).json()["id"]
    for starts, ends in [("2026-05-10", "2026-05-01"), ("2026-05-10", "2026-05-10")]:
        r = client.post(f"/people/workers/{wid}/assignments",
                        json={"area": MG1, "role": "part_time", "starts_on": starts,
                              "ends_on": ends}, headers=admin_headers)
        assert r.status_code == 422 and "before it starts" in r.json()["detail"]
    r = client.post(f"/people/workers/{wid}/assignments",
                    json={"area": "610199999999", "role": "part_time"}, headers=admin_headers)
    assert r.status_code == 422 and "no current area" in r.json()["detail"]
    r = client.post(f"/people/workers/{wid}/assignments", json={"area": MG1, "role": "boss"},
                    headers=admin_headers)
    assert r.status_code == 422 and "unknown worker role" in r.json()["detail"]
    assert client.get(f"/people/workers/{wid}", headers=admin_headers).json()["assignments"] == []


def test_a_street_commander_manages_only_its_jurisdiction(client, admin_headers, make_token,
                                                          world) -> None:
    commander = bearer(make_token("commander", [("street", world.id(S1))]))
    r = client.post("/people/workers", json={"name": "孙八"}, headers=commander)
    assert r.status_code == 201
    wid = r.json()["id"]
    r = client.post(f"/people/workers/{wid}/assignments", json={"area": MG2, "role": "full_time"},
                    headers=commander)
    assert r.status_code == 403 and "outside your jurisdiction" in r.json()["detail"]
    r = client.post(f"/people/workers/{wid}/assignments", json={"area": MG1, "role": "full_time"},
                    headers=commander)
    assert r.status_code == 201
    r = client.post("/people/departments", json={"code": "cmd-s2", "name": "二街派出所",
                                                 "kind": "police", "street_code": S2},
                    headers=commander)
    assert r.status_code == 403
    # a worker of street 2 only is invisible to the street 1 commander
    other = client.post("/people/workers", json={"name": "周九"}, headers=admin_headers).json()
    client.post(f"/people/workers/{other['id']}/assignments",
                json={"area": MG2, "role": "full_time"}, headers=admin_headers)
    names = {w["name"] for w in client.get("/people", headers=commander).json()["workers"]}
    assert "孙八" in names and "周九" not in names
    assert client.get(f"/people/workers/{other['id']}", headers=commander).status_code == 404
    worker = bearer(make_token("worker", [("grid", world.id(MG1[:15]))]))
    assert client.get("/people", headers=worker).status_code == 403


def test_edits_need_the_version_and_disabling_locks_the_account_out(client, admin_headers,
                                                                     make_token, world) -> None:
    r = client.post("/people/workers", json={"name": "吴十", "username": "wu.shi",
                                             "password": "wu-shi-pass"}, headers=admin_headers)
    wid, version = r.json()["id"], r.json()["version"]
    assert r.headers["etag"] == f'"{version}"'
    client.post(f"/people/workers/{wid}/assignments", json={"area": MG1, "role": "full_time"},
                headers=admin_headers)
    token = client.post("/auth/token", data={"username": "wu.shi",
                                             "password": "wu-shi-pass"}).json()["access_token"]
    assert client.get("/incidents", headers=bearer(token)).status_code == 200
    assert client.patch(f"/people/workers/{wid}", json={"phone": "1"},
                        headers=admin_headers).status_code == 428
    r = client.patch(f"/people/workers/{wid}", json={"phone": "1", "version": version},
                     headers=admin_headers)
    assert r.status_code == 409 and r.json()["current_version"] == version + 1
    current = client.get(f"/people/workers/{wid}", headers=admin_headers).headers["etag"]
    r = client.patch(f"/people/workers/{wid}", json={"active": False},
                     headers={**admin_headers, "If-Match": current})
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["account"]["disabled"] is True
    assert client.get("/incidents", headers=bearer(token)).status_code == 401


def test_ending_an_assignment_today_ends_access_at_once(client, admin_headers, world) -> None:
    r = client.post("/people/workers", json={"name": "郑一", "username": "zheng.yi",
                                             "password": "zheng-yi-pass"}, headers=admin_headers)
    wid = r.json()["id"]
    start = (date.today() - timedelta(days=20)).isoformat()
    r = client.post(f"/people/workers/{wid}/assignments",
                    json={"area": MG1[:15], "role": "full_time", "starts_on": start},
                    headers=admin_headers)
    assignment = r.json()["assignments"][0]["id"]
    token = client.post("/auth/token", data={"username": "zheng.yi",
                                             "password": "zheng-yi-pass"}).json()["access_token"]
    lon, lat = world.centers[MG1]
    body = {"lon": lon, "lat": lat, "category": "noise", "title": "x"}
    assert client.post("/incidents", json=body, headers=bearer(token)).status_code == 201
    r = client.post(f"/people/assignments/{assignment}/end", json={}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["assignments"][0]["current"] is False
    assert client.post("/incidents", json=body, headers=bearer(token)).status_code == 403


def _roster_rows(n: int, world, prefix: str) -> list[dict]:
    codes = sorted(c for c in world.ids if len(c) == 18)
    return [{"code": f"{prefix}{i:04d}", "name": f"网格员{prefix}{i:04d}",
             "phone": f"139{i:08d}", "username": f"{prefix}{i:04d}".lower(),
             "role": ["full_time", "part_time", "micro_grid_leader"][i % 3],
             "area": codes[i % len(codes)], "starts_on": "2026-01-01", "ends_on": ""}
            for i in range(n)]


def _write_csv(path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)


def test_cli_imports_200_workers_and_is_idempotent(db_url, conn, world, tmp_path) -> None:
    rows = _roster_rows(200, world, "CLI")
    path = tmp_path / "workers.csv"
    _write_csv(path, rows)
    before = count(conn, "assignments")
    report = import_file(db_url, "workers", path, ImportOptions())
    assert report.written and report.inserted == 200 and report.rejected == 0
    assert count(conn, "assignments") == before + 200
    assert conn.execute("SELECT count(*) FROM accounts a JOIN workers w ON w.id = a.worker_id "
                        "WHERE w.code LIKE 'CLI%' AND a.role = 'worker'").fetchone()[0] == 200
    again = import_file(db_url, "workers", path, ImportOptions())
    assert again.inserted == 0 and again.updated == 200
    assert count(conn, "assignments") == before + 200


def test_cli_import_with_unknown_areas_or_roles_writes_nothing(db_url, conn, world,
                                                               tmp_path) -> None:
    rows = _roster_rows(30, world, "BAD")
    rows[3]["area"] = "610199009009009009"
    rows[7]["role"] = "captain"
    rows[11]["ends_on"] = "2025-12-01"
    path = tmp_path / "bad.csv"
    _write_csv(path, rows)
    before = (count(conn, "workers"), count(conn, "assignments"), count(conn, "accounts"))
    with pytest.raises(ImportFailed) as exc:
        import_file(db_url, "workers", path, ImportOptions())
    issues = {i.row: i.reason for i in exc.value.report.issues}
    assert set(issues) == {4, 8, 12}
    assert "no current area" in issues[4] and "unknown role" in issues[8]
    assert "before it starts" in issues[12]
    assert (count(conn, "workers"), count(conn, "assignments"), count(conn, "accounts")) == before
    report_file = tmp_path / "report.csv"
    exc.value.report.write(str(report_file))
    assert "captain" in report_file.read_text(encoding="utf-8")


def test_api_import_reports_rows_and_respects_jurisdiction(client, admin_headers, make_token,
                                                           conn, world) -> None:
    commander = bearer(make_token("commander", [("street", world.id(S1))]))
    rows = [r for r in _roster_rows(40, world, "API") if r["area"].startswith(S1)]
    r = client.post("/people/import", json={"rows": rows, "dry_run": True}, headers=commander)
    assert r.status_code == 200 and r.json()["created"] == len(rows)
    assert conn.execute("SELECT count(*) FROM workers WHERE code LIKE 'API%'").fetchone()[0] == 0
    bad = rows + [{**rows[0], "code": "API-X", "name": "越界", "username": "api-x",
                   "area": MG2}]
    r = client.post("/people/import", json={"rows": bad}, headers=commander)
    assert r.status_code == 422
    assert r.json()["issues"] == [{"row": len(bad), "code": "API-X",
                                   "reason": f"area {MG2} lies outside your jurisdiction"}]
    assert conn.execute("SELECT count(*) FROM workers WHERE code LIKE 'API%'").fetchone()[0] == 0
    r = client.post("/people/import", json={"rows": rows}, headers=commander)
    assert r.status_code == 201 and r.json()["assigned"] == len(rows)


def test_departments_with_their_own_login(client, admin_headers, world) -> None:
    r = client.post("/people/departments", json={"code": "s1-cg", "name": "一街城管中队",
                                                  "kind": "urban_management", "street_code": S1,
                                                  "username": "s1.chengguan",
                                                  "password": "chengguan-pass"},
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["street"]["code"] == S1 and r.json()["accounts"][0]["username"] \
        == "s1.chengguan"
    r = client.post("/people/departments", json={"code": "s1-cg", "name": "dup",
                                                  "kind": "police"}, headers=admin_headers)
    assert r.status_code == 409
    r = client.post("/people/departments", json={"code": "x1", "name": "x", "kind": "army"},
                    headers=admin_headers)
    assert r.status_code == 422
    token = client.post("/auth/token", data={"username": "s1.chengguan",
                                             "password": "chengguan-pass"}).json()
    assert token["access_token"]
    areas = client.get("/people/areas", params={"q": MG1[:12]}, headers=admin_headers).json()
    assert areas["items"][0]["code"] == MG1[:12]


def test_role_and_department_labels_are_for_managers_only(client, admin_headers,
                                                           make_token) -> None:
    r = client.get("/people/options", headers=admin_headers)
    assert r.status_code == 200
    roles = {o["key"]: o["zh"] for o in r.json()["roles"]}
    assert roles["grid_leader"] == "网格长" and "micro_grid_leader" in roles
    assert {o["key"] for o in r.json()["department_kinds"]} >= {"urban_management", "police"}
    for role in ("worker", "planner"):
        assert client.get("/people/options", headers=bearer(make_token(role))
                          ).status_code == 403, role
