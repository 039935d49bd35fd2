"""The worker app's server side: photos (checked, stripped, scoped), idempotent retries of every
queued write, patrol gaps, my tasks, who is responsible here, my history."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import with_settings
from tests.test_incidents_fixture import COUNTY, STEP, World, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

GRID = f"{COUNTY}001001001"          # the worker's grid (street 1, community 1, north grid)
MG = GRID + "001"
OTHER_GRID = f"{COUNTY}002002002"    # another worker's grid


def jpeg(size=(2000, 1000), gps: bool = True) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"
    exif[0x0132] = "2026:11:29 10:00:00"
    exif[0x8769] = {0x9003: "2026:11:29 09:59:58"}
    if gps:
        exif[0x8825] = {1: "N", 2: (34.0, 12.0, 5.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def me(make_token, world: World) -> dict:
    return bearer(make_token("worker", [("grid", world.id(GRID))]))


@pytest.fixture(scope="module")
def other(make_token, world: World) -> dict:
    return bearer(make_token("worker", [("grid", world.id(OTHER_GRID))]))


def report(client, headers, world: World, code: str = MG, **extra) -> dict:
    lon, lat = world.centers[code]
    r = client.post("/incidents", headers=headers, json={
        "lon": lon, "lat": lat, "category": "garbage", "title": "照片测试", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def upload(client, headers, incident_id: int, data: bytes, key: str | None = None,
           ctype: str = "image/jpeg", purpose: str = "report"):
    h = {**headers, "Content-Type": ctype}
    if key:
        h["Idempotency-Key"] = key
    return client.post(f"/incidents/{incident_id}/photos?purpose={purpose}", content=data,
                       headers=h)


def test_photo_is_stored_stripped_resized_and_served(client, me, world, conn) -> None:
    inc = report(client, me, world)
    r = upload(client, me, inc["id"], jpeg())
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["width"], photo["height"]) == (1600, 800)
    assert photo["taken_at"].startswith("2026-11-29T01:59:58")  # 09:59:58 in Shanghai
    got = client.get(photo["url"], headers=me)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    import hashlib
    assert hashlib.sha256(got.content).hexdigest() == photo["sha256"] == \
        got.headers["etag"].strip('"')
    exif = Image.open(io.BytesIO(got.content)).getexif()
    assert dict(exif) == {0x0132: "2026:11:29 09:59:58"}  # no camera, no GPS: only the time
    assert exif.get_ifd(0x8825) == {}
    assert client.get(photo["url"], headers={**me, "If-None-Match": got.headers["etag"]}
                      ).status_code == 304
    row = conn.execute("SELECT size, octet_length(data), sha256 FROM incident_photos "
                       "WHERE id = %s", (photo["id"],)).fetchone()
    assert row == (len(got.content), len(got.content), photo["sha256"])
    # a PNG is kept as PNG
    r = upload(client, me, inc["id"], png(), ctype="image/png")
    assert r.status_code == 201 and r.json()["content_type"] == "image/png"
    listed = client.get(f"/incidents/{inc['id']}/photos", headers=me).json()
    assert [p["id"] for p in listed] == [photo["id"], r.json()["id"]]


def test_photo_bad_input(client, me, world) -> None:
    inc = report(client, me, world)
    # a text file renamed .jpg and declared as JPEG: refused by its content
    r = upload(client, me, inc["id"], b"this is not a picture, only text" * 10)
    assert r.status_code == 415 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not an image"
    # JPEG magic but garbage after it
    r = upload(client, me, inc["id"], b"\xff\xd8\xff\xe0" + b"\x00" * 500)
    assert r.status_code == 422 and r.json()["title"] == "Not an image"
    # over the size limit
    with with_settings(client, max_photo_bytes=2000):
        r = upload(client, me, inc["id"], jpeg())
    assert r.status_code == 413 and r.json()["title"] == "Photo too large"
    # empty
    assert upload(client, me, inc["id"], b"").status_code == 422
    # at most five per report
    for _ in range(5):
        assert upload(client, me, inc["id"], png()).status_code == 201
    r = upload(client, me, inc["id"], png())
    assert r.status_code == 409 and r.json()["title"] == "Too many photos"
    # a resolution has its own five
    assert upload(client, me, inc["id"], png(), purpose="resolution").status_code == 201
    assert upload(client, me, inc["id"], png(), purpose="other").status_code == 400


def test_photos_follow_the_incident_access_rule(client, me, other, world, admin_headers) -> None:
    inc = report(client, me, world)
    photo = upload(client, me, inc["id"], png(), ctype="image/png").json()
    # another area's worker: the photo, the list and the upload do not exist for them
    assert client.get(photo["url"], headers=other).status_code == 404
    assert client.get(f"/incidents/{inc['id']}/photos", headers=other).status_code == 404
    assert upload(client, other, inc["id"], png(), ctype="image/png").status_code == 404
    # a forged photo id, or a real photo under another incident's id
    assert client.get(f"/incidents/{inc['id']}/photos/{photo['id'] + 10_000}",
                      headers=me).status_code == 404
    other_inc = report(client, other, world, code=OTHER_GRID + "001")
    assert client.get(f"/incidents/{other_inc['id']}/photos/{photo['id']}",
                      headers=other).status_code == 404
    assert client.get(f"/incidents/{other_inc['id']}/photos/{photo['id']}",
                      headers=me).status_code == 404
    # without a token
    assert client.get(photo["url"]).status_code == 401
    # the admin sees it
    assert client.get(photo["url"], headers=admin_headers).status_code == 200


def test_every_queued_write_is_idempotent(client, me, world, conn) -> None:
    inc = report(client, me, world)
    first = upload(client, me, inc["id"], png(), key="photo-key-1", ctype="image/png")
    again = upload(client, me, inc["id"], png(), key="photo-key-1", ctype="image/png")
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert conn.execute("SELECT count(*) FROM incident_photos WHERE incident_id = %s",
                        (inc["id"],)).fetchone()[0] == 1
    # the same key for a different photo is refused, not silently replayed
    r = upload(client, me, inc["id"], jpeg(), key="photo-key-1")
    assert r.status_code == 422 and r.json()["title"] == "Idempotency-Key reused"
    # patrol start, points and end
    k = {**me, "Idempotency-Key": "patrol-start-1"}
    p1 = client.post("/patrols", json={"started_at": "2026-11-29T08:00:00Z"}, headers=k)
    p2 = client.post("/patrols", json={"started_at": "2026-11-29T08:00:00Z"}, headers=k)
    assert p1.status_code == p2.status_code == 201 and p1.json()["id"] == p2.json()["id"]
    pid = p1.json()["id"]
    lon, lat = world.centers[MG]
    pts = {"points": [{"t": "2026-11-29T08:00:10Z", "lon": lon, "lat": lat}]}
    k = {**me, "Idempotency-Key": "patrol-points-1"}
    for _ in range(3):
        assert client.post(f"/patrols/{pid}/points", json=pts, headers=k).status_code == 200
    k = {**me, "Idempotency-Key": "patrol-end-1"}
    for _ in range(2):
        assert client.post(f"/patrols/{pid}/end", json={}, headers=k).status_code == 200
    assert conn.execute("SELECT count(*) FROM patrol_points WHERE patrol_id = %s",
                        (pid,)).fetchone()[0] == 1
    # a workflow step retried after a lost answer is replayed, not refused as illegal
    conn.execute("UPDATE incidents SET status = 'dispatched' WHERE id = %s", (inc["id"],))
    k = {**me, "Idempotency-Key": "start-1"}
    s1 = client.post(f"/incidents/{inc['id']}/transitions", json={"action": "start"}, headers=k)
    s2 = client.post(f"/incidents/{inc['id']}/transitions", json={"action": "start"}, headers=k)
    assert s1.status_code == s2.status_code == 200, s1.text
    assert s2.headers.get("idempotent-replayed") == "true"
    assert conn.execute("SELECT count(*) FROM incident_events WHERE incident_id = %s "
                        "AND action = 'start'", (inc["id"],)).fetchone()[0] == 1
    # a failed step stores nothing: without a key it is the usual 409
    r = client.post(f"/incidents/{inc['id']}/transitions", json={"action": "start"}, headers=me)
    assert r.status_code == 409


def test_patrol_gaps_are_not_joined(client, me, world) -> None:
    pid = client.post("/patrols", json={"started_at": "2026-11-29T08:00:00Z"},
                      headers=me).json()["id"]
    (x, y) = world.centers[MG]
    d = STEP / 100
    times = ["08:00:00", "08:00:20", "08:00:40", "08:03:00", "08:03:20"]  # a 140 s gap
    pts = [{"t": f"2026-11-29T{t}Z", "lon": x + i * d, "lat": y} for i, t in enumerate(times)]
    assert client.post(f"/patrols/{pid}/points", json={"points": pts},
                       headers=me).status_code == 200
    patrol = client.post(f"/patrols/{pid}/end", json={}, headers=me).json()
    assert patrol["segments"]["type"] == "MultiLineString"
    assert [len(s) for s in patrol["segments"]["coordinates"]] == [3, 2]
    assert patrol["gaps"] == [{"from": "2026-11-29T08:00:40+00:00",
                               "to": "2026-11-29T08:03:00+00:00", "seconds": 140}]
    step_m = d * 111_320 * 0.827  # metres per step at 34.2° N
    assert abs(patrol["length_m"] - 3 * step_m) < 0.05 * step_m  # the gap's jump not counted


def test_tasks_responsible_and_history(client, me, other, world, conn, make_token) -> None:
    mg_id, grid_id = world.id(MG), world.id(GRID)
    leader = conn.execute("INSERT INTO workers (name, phone) VALUES ('王微网格长', "
                          "'13800000001') RETURNING id").fetchone()[0]
    boss = conn.execute("INSERT INTO workers (name, phone) VALUES ('李网格长', '13800000002') "
                        "RETURNING id").fetchone()[0]
    conn.execute("INSERT INTO assignments (worker_id, level, area_id, role) VALUES "
                 "(%s, 'micro_grid', %s, 'micro_grid_leader'), (%s, 'grid', %s, 'grid_leader')",
                 (leader, mg_id, boss, grid_id))
    r = client.get(f"/map/me/responsible?micro_grid={MG}", headers=me)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["micro_grid"]["code"] == MG and body["grid"]["code"] == GRID
    assert {"name": "王微网格长", "phone": "13800000001", "role": "micro_grid_leader"} in \
        body["micro_grid_leaders"]
    leaders = [n for (n,) in conn.execute(  # the same as the assignments (other tests add some)
        "SELECT w.name FROM assignments a JOIN workers w ON w.id = a.worker_id WHERE a.level = "
        "'micro_grid' AND a.area_id = %s AND a.role = 'micro_grid_leader' AND a.starts_on <= "
        "current_date AND (a.ends_on IS NULL OR a.ends_on > current_date)", (mg_id,))]
    assert sorted(x["name"] for x in body["micro_grid_leaders"]) == sorted(leaders)
    assert {"name": "李网格长", "phone": "13800000002", "role": "grid_leader"} in \
        body["grid_leaders"]  # other tests may add grid leaders to the shared grid
    assert any(w["role"] == "full_time" for w in body["grid_workers"])  # the worker fixture
    # outside my areas: 404; a planner may not see phone numbers: 403; bad input: 400
    assert client.get(f"/map/me/responsible?micro_grid={MG}", headers=other).status_code == 404
    planner = bearer(make_token("planner"))
    assert client.get(f"/map/me/responsible?micro_grid={MG}",
                      headers=planner).status_code == 403
    assert client.get("/map/me/responsible", headers=me).status_code == 400
    # tasks: the cases dispatched to my account, still to handle, overdue first
    username = client.get("/map/context", headers=me).json()["username"]
    account = conn.execute("SELECT id FROM accounts WHERE username = %s",
                           (username,)).fetchone()[0]
    a = report(client, me, world, title="任务A")
    b = report(client, me, world, title="任务B")
    c = report(client, me, world, title="任务C")  # dispatched, but to nobody in particular
    conn.execute("UPDATE incidents SET status = 'dispatched', due_at = now() + interval '1 day', "
                 "assignee_account_id = %s WHERE id = %s", (account, a["id"]))
    conn.execute("UPDATE incidents SET status = 'in_progress', due_at = now() - interval '1 h', "
                 "assignee_account_id = %s WHERE id = %s", (account, b["id"]))
    conn.execute("UPDATE incidents SET status = 'dispatched' WHERE id = %s", (c["id"],))
    items = client.get("/map/me/tasks", headers=me).json()["items"]
    ids = [t["id"] for t in items]
    assert b["id"] in ids and a["id"] in ids and ids.index(b["id"]) < ids.index(a["id"])
    assert c["id"] not in ids
    assert all(t["status"] in ("dispatched", "in_progress") for t in items)
    assert b["id"] not in [t["id"] for t in client.get("/map/me/tasks",
                                                        headers=other).json()["items"]]
    # history: my own reports and patrols of the last 30 days
    hist = client.get("/map/me/history", headers=me).json()
    assert {a["id"], b["id"]} <= {r["id"] for r in hist["reports"]}
    assert not {a["id"], b["id"]} & {r["id"] for r in client.get(
        "/map/me/history", headers=other).json()["reports"]}


def test_manifest_and_service_worker_are_served(client) -> None:
    m = client.get("/map/me/manifest.webmanifest")
    assert m.status_code == 200 and m.headers["content-type"] == "application/manifest+json"
    manifest = m.json()
    assert manifest["start_url"] == manifest["scope"] == "/map/me"
    for icon in manifest["icons"]:
        r = client.get(icon["src"])
        assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
        assert Image.open(io.BytesIO(r.content)).size == tuple(
            int(v) for v in icon["sizes"].split("x"))
    sw = client.get("/map/me/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/map/me"
    assert "javascript" in sw.headers["content-type"]
    page = client.get("/map/me").text
    assert 'rel="manifest" href="/map/me/manifest.webmanifest"' in page
    for testid in ("report-here", "report-title", "report-category", "report-submit",
                   "photo-input", "queue-count", "task-list", "patrol-start", "patrol-stop",
                   "responsible-panel"):
        assert f'data-testid="{testid}"' in page, testid




@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.integers(min_value=1, max_value=180), min_size=1, max_size=30))
def test_patrol_segments_break_exactly_at_gaps(client, me, world, steps) -> None:
    """Property: whatever the spacing in time, the track breaks after every gap over 60 s and
    only there; each piece has its points in order, and a lone point draws no line."""
    pid = client.post("/patrols", json={}, headers=me).json()["id"]
    x, y = world.centers[MG]
    t, times = 0, [0]
    for s in steps:
        t += s
        times.append(t)
    pts = [{"t": "", "lon": x + i * 1e-5, "lat": y} for i in range(len(times))]
    for p, sec in zip(pts, times, strict=True):
        p["t"] = f"2026-11-29T{8 + sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}Z"
    assert client.post(f"/patrols/{pid}/points", json={"points": pts},
                       headers=me).status_code == 200
    patrol = client.post(f"/patrols/{pid}/end", json={}, headers=me).json()
    pieces, current = [], [0]
    for i in range(1, len(times)):
        if times[i] - times[i - 1] > 60:
            pieces.append(current)
            current = []
        current.append(i)
    pieces.append(current)
    assert len(patrol["gaps"]) == len(pieces) - 1
    expected = [len(p) for p in pieces if len(p) >= 2]
    assert [len(line) for line in patrol["segments"]["coordinates"]] == expected
