"""The columns of the statistics table and of the case list, in one table each.

The /stats page's table, the CSV and XLSX exports and the month report all take their columns
from here, so a file shows the same figures, under the same headings, as the page and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column: identifier, Chinese and English headings, and how to read it from a row."""

    key: str
    zh: str
    en: str
    get: Callable[[dict], Any]


def _pick(*path: str) -> Callable[[dict], Any]:
    def get(row: dict) -> Any:
        value: Any = row
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return get


STATS_COLUMNS: list[Column] = [
    Column("code", "编码", "Code", _pick("code")),
    Column("name", "名称", "Name", _pick("name")),
    Column("total", "上报数", "Reports", _pick("total")),
    Column("accepted", "立案数", "Accepted", _pick("accepted")),
    Column("disposed", "处置数", "Disposed", _pick("disposed")),
    Column("closed", "结案数", "Closed", _pick("closed")),
    Column("overdue", "超期数", "Overdue", _pick("overdue")),
    Column("disposal_rate", "处置率", "Disposal rate", _pick("disposal_rate")),
    Column("on_time_rate", "按期处置率", "On-time rate", _pick("on_time_rate")),
    Column("response_rate", "响应率", "Response rate", _pick("response_rate")),
    Column("satisfaction_rate", "满意率", "Satisfaction rate", _pick("satisfaction_rate")),
    Column("satisfaction_mean", "平均评分", "Mean rating", _pick("satisfaction", "mean")),
    Column("mean_close_hours", "平均结案时长(小时)", "Mean hours to close",
           _pick("mean_close_hours")),
    Column("p90_close_hours", "P90结案时长(小时)", "P90 hours to close",
           _pick("p90_close_hours")),
    Column("patrol_rate", "巡查率", "Patrol rate", _pick("patrol", "rate")),
    Column("patrol_assigned", "在岗微网格", "Micro-grids assigned", _pick("patrol", "assigned")),
    Column("patrol_patrolled", "已巡微网格", "Micro-grids patrolled",
           _pick("patrol", "patrolled")),
]

# (key, zh, en, SQL expression over incidents i and its areas s, c, g, m)
CASE_COLUMNS: list[tuple[str, str, str, str]] = [
    ("code", "编号", "Code", "i.code"),
    ("category", "类别", "Category", "i.category"),
    ("title", "标题", "Title", "i.title"),
    ("status", "状态", "Status", "i.status"),
    ("source", "来源", "Source", "i.source"),
    ("reported_at", "上报时间", "Reported", "i.reported_at"),
    ("accepted_at", "立案时间", "Accepted", "i.accepted_at"),
    ("respond_by", "响应时限", "Respond by", "i.respond_by"),
    ("due_at", "处置时限", "Due", "i.due_at"),
    ("resolved_at", "处置完成时间", "Resolved", "i.resolved_at"),
    ("closed_at", "结案时间", "Closed", "i.closed_at"),
    ("satisfaction", "评价", "Rating", "i.satisfaction"),
    ("street", "街道", "Street", "s.code"),
    ("community", "社区", "Community", "c.code"),
    ("grid", "网格", "Grid", "g.code"),
    ("micro_grid", "微网格", "Micro-grid", "m.code"),
    ("lon", "经度", "Longitude", "round(ST_X(i.geom)::numeric, 7)"),
    ("lat", "纬度", "Latitude", "round(ST_Y(i.geom)::numeric, 7)"),
]


def heading(lang: str, zh: str, en: str) -> str:
    """A column heading in the requested language (zh-CN default)."""
    return en if lang == "en" else zh


def stats_rows(report: dict) -> list[list[Any]]:
    """The table of a GET /stats answer: one row per area and a last row for the total."""
    rows = [[col.get(a) for col in STATS_COLUMNS] for a in report["areas"]]
    rows.append([col.get(report["total"]) for col in STATS_COLUMNS])
    return rows
