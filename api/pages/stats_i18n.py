"""Labels of the statistics page, the printable month report and the command map's live layers
(zh-CN, en); merged into :func:`api.pages.i18n.labels`."""

from __future__ import annotations

from gis.report_columns import STATS_COLUMNS

TEXT: dict[str, tuple[str, str]] = {
    "stats_title": ("统计报表", "Statistics"),
    "report_title": ("月度报表", "Monthly report"),
    "stats.start": ("开始日期", "From"), "stats.end": ("结束日期", "To (exclusive)"),
    "stats.month": ("月份", "Month"), "stats.level": ("层级", "Level"),
    "stats.bucket": ("时间粒度", "Interval"), "stats.categories": ("类别", "Categories"),
    "stats.area": ("区域编码", "Area code"), "stats.apply": ("查询", "Show"),
    "bucket.day": ("按日", "Daily"), "bucket.week": ("按周", "Weekly"),
    "bucket.month": ("按月", "Monthly"),
    "stats.counts": ("上报与结案", "Reports and closures"), "stats.rates": ("各项比率", "Rates"),
    "series.reports": ("上报数", "Reports"), "series.closures": ("结案数", "Closures"),
    "series.disposal_rate": ("处置率", "Disposal rate"),
    "series.on_time_rate": ("按期处置率", "On-time rate"),
    "series.response_rate": ("响应率", "Response rate"),
    "series.satisfaction_rate": ("满意率", "Satisfaction rate"),
    "series.patrol_rate": ("巡查率", "Patrol rate"),
    "stats.total": ("合计", "Total"), "stats.table": ("统计表", "Table"),
    "export.csv": ("导出CSV", "Export CSV"), "export.xlsx": ("导出Excel", "Export Excel"),
    "export.cases_csv": ("案件清单CSV", "Cases CSV"),
    "export.cases_xlsx": ("案件清单Excel", "Cases Excel"),
    "export.month_xlsx": ("月报Excel", "Month report Excel"),
    "export.print": ("打印月报", "Print month report"),
    "report.generated": ("生成时间", "Generated"), "report.period": ("统计时段", "Period"),
    "report.by_category": ("分类别", "By category"), "print": ("打印", "Print"),
    "err.period_order": ("开始时间须早于结束时间", "The start must come before the end"),
    "err.period_too_long": ("统计时段不能超过366天", "A period spans at most 366 days"),
    "err.unknown_category": ("未知的事件类别", "Unknown category"),
    "err.unknown_level": ("未知的区域层级", "Unknown level"),
    "err.bad_area": ("区域编码格式不正确", "That is not an area code"),
    "err.no_area": ("您的管辖范围内没有该区域", "No such area among your areas"),
    "err.level_below_area": ("层级须低于所选区域", "Pick a level below the chosen area"),
    "err.bad_month": ("月份格式应为YYYY-MM", "A month is YYYY-MM"),
    "err.too_many_rows": ("行数过多，请导出CSV或缩短时段",
                          "Too many rows: export CSV or a shorter period"),
    "live.positions": ("实时位置", "Live positions"),
    "live.minutes_ago": ("分钟前", "min ago"), "live.none": ("近10分钟无巡查点位",
                                                            "No patrol points in 10 minutes"),
    "unpatrolled": ("未巡查微网格", "Not patrolled"),
    "unpatrolled.last": ("最近巡查", "Last patrol"), "unpatrolled.never": ("从未", "never"),
    "assignees": ("责任人", "Assigned"), "grid_assignees": ("网格责任人", "Grid staff"),
    "staffing": ("人员配置", "Staffing"),
    "staffing.grids_without_full_time": ("无专职网格员的网格", "Grids without a full-time worker"),
    "staffing.micro_grids_without_leader": ("无微网格长的微网格",
                                            "Micro-grids without a leader"),
    "staffing.ending_soon": ("7天内到期的任命", "Assignments ending within 7 days"),
    "staffing.workers_without_area": ("未分配区域的人员", "Workers with no area"),
    "area.people": ("责任人员", "Responsible people"),
    "area.open_cases": ("待办事件", "Open cases"), "area.rates": ("本期指标", "Rates (period)"),
    "role.grid_leader": ("网格长", "Grid leader"), "role.full_time": ("专职网格员", "Full-time"),
    "role.part_time": ("兼职网格员", "Part-time"),
    "role.micro_grid_leader": ("微网格长", "Micro-grid leader"),
    "role.household_leader": ("联户长", "Household leader"),
    "none_found": ("无", "None"),
}


def stats_labels() -> dict[str, dict[str, str]]:
    """{lang: {key: text}} of the strings above and the table's column headings (col.*)."""
    out: dict[str, dict[str, str]] = {"zh-CN": {}, "en": {}}
    for key, (zh, en) in TEXT.items():
        out["zh-CN"][key], out["en"][key] = zh, en
    for col in STATS_COLUMNS:
        out["zh-CN"]["col." + col.key], out["en"]["col." + col.key] = col.zh, col.en
    return out
