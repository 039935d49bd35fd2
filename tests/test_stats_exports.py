"""Report files read back: the table as CSV and XLSX equals GET /stats, the case list holds
exactly the period's cases in scope, and the month report has a sheet per level equal to
GET /stats for the month."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from gis.report_columns import CASE_COLUMNS, STATS_COLUMNS
from tests.test_incidents_fixture import bearer, world_fixture  # noqa: F401
from tests.test_stats_rates import PERIOD, A, B, rated_fixture  # noqa: F401

pytestmark = pytest.mark.citus  # run again on the local Citus cluster (docs/scale.md)


def _api_rows(report: dict) -> list[list]:
    return [[c.get(a) for c in STATS_COLUMNS] for a in report["areas"] + [report["total"]]]


def _csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _as_csv(value) -> str:
    return "" if value is None else str(value)


@pytest.mark.parametrize("level", ["street", "grid"])
def test_table_exports_equal_the_api(client, admin_headers, rated, level) -> None:
    params = {"level": level, **PERIOD, "category": ["garbage", "road_damage"]}
    api = client.get("/stats", params=params, headers=admin_headers).json()
    expected = _api_rows(api)
    r = client.get("/stats/export", params={**params, "format": "csv", "lang": "en"},
                   headers=admin_headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _csv(r.content)
    assert rows[0] == [c.en for c in STATS_COLUMNS]
    assert rows[1:] == [[_as_csv(v) for v in row] for row in expected]
    r = client.get("/stats/export", params={**params, "format": "xlsx"}, headers=admin_headers)
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    got = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert got[0] == [c.zh for c in STATS_COLUMNS]
    assert got[1:] == expected


def test_case_list_holds_the_periods_cases_in_scope(client, admin_headers, make_token, conn,
                                                    rated) -> None:
    codes = {row[0] for row in conn.execute(
        "SELECT code FROM incidents WHERE reported_at >= %(start)s AND reported_at < %(end)s",
        PERIOD).fetchall()}
    r = client.get("/stats/export", params={**PERIOD, "what": "cases", "format": "csv"},
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    rows = _csv(r.content)
    assert rows[0] == [zh for _k, zh, _en, _e in CASE_COLUMNS]
    assert {row[0] for row in rows[1:]} == codes and len(rows) - 1 == len(codes)
    total = client.get("/stats", params=PERIOD, headers=admin_headers).json()["total"]["total"]
    assert len(codes) == total
    mine = bearer(make_token("commander", [("street", rated.id(B[:9]))]))
    r = client.get("/stats/export", params={**PERIOD, "what": "cases", "format": "xlsx"},
                   headers=mine)
    sheet = load_workbook(io.BytesIO(r.content), read_only=True).active
    got = [row for row in sheet.iter_rows(values_only=True)][1:]
    street = [c[0] for c in CASE_COLUMNS].index("street")
    assert got and {row[street] for row in got} == {B[:9]}
    assert {row[0] for row in got} == {row[0] for row in conn.execute(
        "SELECT code FROM incidents WHERE street_id = %(s)s AND reported_at >= %(start)s "
        "AND reported_at < %(end)s", {**PERIOD, "s": rated.id(B[:9])}).fetchall()}


def test_month_report_has_a_sheet_per_level_equal_to_the_api(client, admin_headers,
                                                             rated) -> None:
    r = client.get("/stats/month-report", params={"month": "2025-05", "lang": "en"},
                   headers=admin_headers)
    assert r.status_code == 200, r.text
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    assert book.sheetnames == ["Street", "Community", "Grid", "Micro-grid", "Totals", "Per day"]
    month = {"start": "2025-05-01T00:00:00Z", "end": "2025-06-01T00:00:00Z"}
    for sheet, level in zip(book.sheetnames[:4], ["street", "community", "grid", "micro_grid"],
                            strict=True):
        api = client.get("/stats", params={"level": level, **month},
                         headers=admin_headers).json()
        rows = [list(row) for row in book[sheet].iter_rows(values_only=True)]
        assert rows[1:] == _api_rows(api), sheet
    totals = [list(row) for row in book["Totals"].iter_rows(values_only=True)]
    assert totals[1] == _api_rows(api)[-1]
    days = [row for row in book["Per day"].iter_rows(values_only=True)][1:]
    assert len(days) == 31 and sum(d[1] for d in days) == api["total"]["total"]


def test_month_report_bad_input(client, admin_headers, make_token, rated) -> None:
    r = client.get("/stats/month-report", params={"month": "2025-13"}, headers=admin_headers)
    assert r.status_code == 400 and r.json()["i18n"] == "err.bad_month"
    mine = bearer(make_token("commander", [("street", rated.id(B[:9]))]))
    r = client.get("/stats/month-report", params={"month": "2025-05", "area": A[:9]},
                   headers=mine)
    assert r.status_code == 404 and r.json()["i18n"] == "err.no_area"  # as for an unknown code
