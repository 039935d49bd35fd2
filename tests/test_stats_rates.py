"""Response and satisfaction rates, per category, and the time series: equal to values worked
out by hand on a small fixture, on the rollup path (streets) and the incident path alike."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from gis.database import libpq_url
from gis.routing import REBUILD_SQL as ROUTE_REBUILD_SQL
from tests.test_incidents_fixture import COUNTY, World, bearer, world_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)

A = f"{COUNTY}001002002001"  # street 1 / community 002 / grid 002 / micro-grid 001
B = f"{COUNTY}002001002002"  # street 2 / community 001
PERIOD = {"start": "2025-05-01T00:00:00Z", "end": "2025-05-04T12:00:00Z"}
RESPONSE_H = {"garbage": 4, "noise": 2, "road_damage": 8}

# (micro-grid, category, reported, status, hours to accept, satisfaction)
ROWS = [
    (A, "garbage", "2025-05-01 08:00", "closed", 2, 5),  # responded, satisfied
    (A, "garbage", "2025-05-02 10:00", "closed", 6, 4),  # late, satisfied
    (A, "noise", "2025-05-03 00:00", "in_progress", 1, None),  # responded
    (A, "noise", "2025-05-04 06:00", "reported", None, None),  # not (yet) accepted
    (A, "garbage", "2025-05-04 10:00", "closed", 3, 2),  # responded, not satisfied
    (B, "road_damage", "2025-05-01 12:00", "closed", 10, 3),  # late, not satisfied
    (B, "road_damage", "2025-05-02 12:00", "accepted", 1, None),  # responded
    (B, "road_damage", "2025-04-30 23:00", "closed", 1, 5),  # before the period
]


@pytest.fixture(scope="session", name="rated")
def rated_fixture(db_url: str, world: World) -> World:
    """The rows above in the session's test database (once, whichever module asks first)."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn, conn.transaction():
        if conn.execute("SELECT 1 FROM incidents WHERE code = 'RATES0'").fetchone():
            return world
        for i, (mg, cat, rep, status, acc_h, sat) in enumerate(ROWS):
            lon, lat = world.centers[mg]
            reported = datetime.fromisoformat(rep + "+00:00")
            accepted = reported + timedelta(hours=acc_h) if acc_h is not None else None
            done = status == "closed"
            conn.execute(
                "INSERT INTO incidents (code, category, title, geom, reported_at, source, status,"
                " due_at, respond_by, accepted_at, resolved_at, closed_at, satisfaction,"
                " street_id, community_id, grid_id, micro_grid_id) VALUES (%s, %s, 't',"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, 'hotline', %s, %s, %s, %s, %s,"
                " %s, %s, %s, %s, %s, %s)",
                (f"RATES{i}", cat, lon, lat, reported, status, reported + timedelta(hours=72),
                 reported + timedelta(hours=RESPONSE_H[cat]), accepted,
                 accepted + timedelta(hours=1) if done else None,
                 accepted + timedelta(hours=2) if done else None, sat,
                 world.id(mg[:9]), world.id(mg[:12]), world.id(mg[:15]), world.id(mg)))
        conn.execute(ROUTE_REBUILD_SQL)  # a writer outside the API (Citus: no trigger)
    return world


def _get(client, headers, path="/stats", **params):
    r = client.get(path, params={**PERIOD, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("level, codes", [("street", (A[:9], B[:9])),
                                          ("community", (A[:12], B[:12]))])
def test_response_and_satisfaction_rates(client, admin_headers, rated, level, codes) -> None:
    r = _get(client, admin_headers, level=level)
    by_code = {a["code"]: a for a in r["areas"]}
    a, b = by_code[codes[0]], by_code[codes[1]]
    assert (a["total"], a["responded"], a["response_rate"]) == (5, 3, 0.6)
    assert (a["satisfied"], a["satisfaction"]["count"], a["satisfaction_rate"]) == (2, 3, 0.666667)
    assert a["category_rates"]["garbage"] == {
        "total": 3, "disposal_rate": 1.0, "on_time_rate": 1.0, "response_rate": 0.666667,
        "satisfaction_rate": 0.666667}
    assert a["category_rates"]["noise"]["response_rate"] == 0.5
    assert a["category_rates"]["noise"]["satisfaction_rate"] is None
    assert (b["total"], b["response_rate"], b["satisfaction_rate"]) == (2, 0.5, 0.0)


def test_category_filter_on_both_paths(client, admin_headers, rated) -> None:
    for level, code in (("street", A[:9]), ("community", A[:12]), ("micro_grid", A)):
        r = _get(client, admin_headers, level=level, category=["garbage"])
        row = next(x for x in r["areas"] if x["code"] == code)
        assert (row["total"], row["response_rate"], row["satisfaction_rate"]) == (
            3, 0.666667, 0.666667), level
        assert set(row["by_category"]) == {"garbage"}
        assert row["closed"] == 3 and row["p90_close_hours"] is not None
    both = _get(client, admin_headers, level="street", category=["garbage", "noise"])
    assert next(x for x in both["areas"] if x["code"] == A[:9])["total"] == 5


def test_series_buckets_equal_stats_of_each_stretch(client, admin_headers, rated) -> None:
    days = _get(client, admin_headers, "/stats/series", bucket="day")["series"]
    assert [d["start"][:10] for d in days] == ["2025-05-01", "2025-05-02", "2025-05-03",
                                               "2025-05-04"]
    assert days[-1]["end"].startswith("2025-05-04T12:00")
    keys = ("disposal_rate", "on_time_rate", "response_rate", "satisfaction_rate")
    for d in days:
        total = _get(client, admin_headers, level="street", start=d["start"],
                     end=d["end"])["total"]
        assert d["reports"] == total["total"] and d["closures"] == total["closed"]
        assert {k: d[k] for k in keys} == {k: total[k] for k in keys}
        assert d["patrol_rate"] == total["patrol"]["rate"]
    whole = _get(client, admin_headers, level="street")["total"]
    for bucket in ("week", "month"):
        series = _get(client, admin_headers, "/stats/series", bucket=bucket)["series"]
        assert sum(s["reports"] for s in series) == whole["total"]
    garbage = _get(client, admin_headers, "/stats/series", bucket="month", category="garbage",
                   level="community", area=A[:9])["series"]
    assert [(s["reports"], s["response_rate"]) for s in garbage] == [(3, 0.666667)]


def test_rollup_counts_response_and_satisfaction_exactly(conn, rated) -> None:
    rolled = conn.execute(
        "SELECT street_id, category, sum(n_responded), sum(n_sat_good) FROM incident_rollup "
        "GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2").fetchall()
    direct = conn.execute(
        "SELECT coalesce(street_id, 0), category, count(*) FILTER (WHERE accepted_at <= "
        "respond_by), count(*) FILTER (WHERE satisfaction >= 4) FROM incidents "
        "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    assert rolled == direct


def test_a_report_is_stamped_with_its_response_time(client, admin_headers, rated, conn) -> None:
    lon, lat = rated.centers[B]
    r = client.post("/incidents", json={"lon": lon, "lat": lat, "category": "noise",
                                        "title": "loud", "source": "hotline"},
                    headers=admin_headers)
    assert r.status_code == 201, r.text
    hours = conn.execute("SELECT extract(epoch FROM respond_by - reported_at) / 3600 "
                         "FROM incidents WHERE id = %s", (r.json()["id"],)).fetchone()[0]
    assert float(hours) == 2.0
    cats = client.get("/incidents/categories", headers=admin_headers).json()
    assert {c["key"]: c["response_hours"] for c in cats}["noise"] == 2.0


@pytest.mark.parametrize("params, status, key", [
    ({"start": "2024-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}, 400,
     "err.period_too_long"),
    ({"category": "volcano"}, 400, "err.unknown_category"),
    ({"level": "county"}, 400, "err.unknown_level"),
    ({"area": "12345"}, 400, "err.bad_area"),
    ({"level": "street", "area": A[:12]}, 400, "err.level_below_area"),
])
def test_bad_requests_are_problems_with_a_page_key(client, admin_headers, params, status,
                                                   key) -> None:
    for path in ("/stats", "/stats/series", "/stats/export"):
        r = client.get(path, params=params, headers=admin_headers)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["i18n"] == key


def test_an_area_outside_the_callers_scope_answers_like_an_unknown_one(client, make_token,
                                                                    rated) -> None:
    mine = bearer(make_token("commander", [("street", rated.id(B[:9]))]))
    assert client.get("/stats", params={"level": "community", "area": B[:9], **PERIOD},
                      headers=mine).status_code == 200
    for path in ("/stats", "/stats/series", "/stats/export", "/map/unpatrolled"):
        r = client.get(path, params={"level": "grid", "area": A[:12], **PERIOD}, headers=mine)
        assert r.status_code == 404, path
        assert r.json()["i18n"] == "err.no_area"
