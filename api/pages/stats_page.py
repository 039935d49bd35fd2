"""The statistics page (/stats) and the printable month report (/stats/report): HTML shells
whose scripts fetch GET /stats and GET /stats/series with the caller's token and draw the
charts (Apache ECharts, vendored) and the table."""

from __future__ import annotations

from html import escape

from api.pages.builders import _chrome, page_config
from api.pages.shell import page_html
from gis.categories import load_categories
from gis.levels import LEVEL_ORDER
from gis.report_columns import STATS_COLUMNS
from gis.settings import Settings

ENDPOINTS = {"stats": "/stats", "series": "/stats/series", "export": "/stats/export",
             "month_report": "/stats/month-report", "report_page": "/stats/report"}
SERIES = ["reports", "closures", "disposal_rate", "on_time_rate", "response_rate",
          "satisfaction_rate", "patrol_rate"]

def _config(settings: Settings, page: str) -> dict:
    config = page_config(settings, page)
    config["endpoints"] = {**config["endpoints"], **ENDPOINTS}
    config["columns"] = [c.key for c in STATS_COLUMNS]
    config["series"] = SERIES
    config["levels"] = LEVEL_ORDER
    return config


def _page(settings: Settings, page: str, body: str) -> str:
    return page_html(title="Wangge 网格 · 统计", config=_config(settings, page),
                     body=body + "\n<script>WG.startStats();</script>", body_class="wg-stats-body",
                     page_styles=("/static/css/stats.css",),
                     scripts=("/static/vendor/echarts/echarts.min.js", "/static/js/stats.js"))


def stats_page(settings: Settings) -> str:
    """`/stats`: period, level, categories, interval; charts, the table and the exports."""
    levels = "".join(f'<option value="{lv}" data-i18n="level.{lv}"></option>'
                     for lv in LEVEL_ORDER)
    cats = "".join(
        f'<label class="wg-check"><input type="checkbox" name="category" value="{escape(c)}">'
        f' <span data-i18n="category.{escape(c)}"></span></label>'
        for c in load_categories(settings.categories_file))
    body = _chrome("stats_title", f"""
<main class="wg-stats">
<form id="s-form" class="wg-stats-form" data-testid="stats-form">
  <label><span data-i18n="stats.start"></span>
    <input type="date" id="s-start" name="start" class="form-control form-control-sm"></label>
  <label><span data-i18n="stats.end"></span>
    <input type="date" id="s-end" name="end" class="form-control form-control-sm"></label>
  <label><span data-i18n="stats.level"></span>
    <select id="s-level" name="level" class="form-select form-select-sm">{levels}</select></label>
  <label><span data-i18n="stats.bucket"></span>
    <select id="s-bucket" name="bucket" class="form-select form-select-sm">
      <option value="day" data-i18n="bucket.day"></option>
      <option value="week" data-i18n="bucket.week"></option>
      <option value="month" data-i18n="bucket.month"></option></select></label>
  <label><span data-i18n="stats.area"></span>
    <input id="s-area" name="area" class="form-control form-control-sm" maxlength="18"></label>
  <fieldset class="wg-stats-cats"><legend data-i18n="stats.categories"></legend>{cats}
  </fieldset>
  <button id="s-apply" type="submit" class="btn btn-primary btn-sm" data-testid="stats-apply"
    data-i18n="stats.apply"></button>
</form>
<div id="s-error" class="alert alert-danger" role="alert" data-testid="stats-error" hidden>
</div>
<div class="wg-stats-actions">
  <a id="export-csv" class="btn btn-outline-primary btn-sm" data-testid="export-csv" download
     data-i18n="export.csv"></a>
  <a id="export-xlsx" class="btn btn-outline-primary btn-sm" data-testid="export-xlsx" download
     data-i18n="export.xlsx"></a>
  <a id="export-cases-csv" class="btn btn-outline-secondary btn-sm"
     data-testid="export-cases-csv" download data-i18n="export.cases_csv"></a>
  <a id="export-cases-xlsx" class="btn btn-outline-secondary btn-sm"
     data-testid="export-cases-xlsx" download data-i18n="export.cases_xlsx"></a>
  <label class="wg-inline"><span data-i18n="stats.month"></span>
    <input type="month" id="s-month" class="form-control form-control-sm"></label>
  <a id="export-month" class="btn btn-outline-success btn-sm" data-testid="export-month-xlsx"
     download data-i18n="export.month_xlsx"></a>
  <a id="print-month" class="btn btn-outline-dark btn-sm" data-testid="stats-print"
     target="_blank" data-i18n="export.print"></a>
</div>
<section id="stats-chart" class="wg-charts" data-testid="stats-chart">
  <div class="wg-chart-box"><div class="wg-chart-title" data-i18n="stats.counts"></div>
    <div id="chart-counts" class="wg-chart"></div></div>
  <div class="wg-chart-box"><div class="wg-chart-title" data-i18n="stats.rates"></div>
    <div id="chart-rates" class="wg-chart"></div></div>
</section>
<div class="wg-table-wrap">
<table id="stats-table" class="table table-sm table-striped wg-stats-table"
       data-testid="stats-table"><thead></thead><tbody></tbody></table>
</div>
</main>""")
    return _page(settings, "stats", body)


def report_page(settings: Settings) -> str:
    """`/stats/report?month=YYYY-MM`: the month's report laid out for A4 printing."""
    body = _chrome("report_title", """
<main class="wg-report" id="r-report" data-testid="month-report">
  <div class="wg-report-head">
    <h1 class="h4"><span data-i18n="report_title"></span> <span id="r-month"></span></h1>
    <div><span data-i18n="report.period"></span>: <span id="r-period"></span> ·
      <span data-i18n="report.generated"></span>: <span id="r-generated"></span></div>
    <button id="r-print" type="button" class="btn btn-sm btn-primary wg-noprint"
      data-testid="report-print" data-i18n="print"></button>
  </div>
  <div id="s-error" class="alert alert-danger" role="alert" data-testid="stats-error" hidden>
  </div>
  <section class="wg-report-charts" data-testid="stats-chart">
    <div id="chart-counts" class="wg-chart wg-chart-print"></div>
    <div id="chart-rates" class="wg-chart wg-chart-print"></div>
  </section>
  <div id="r-tables"></div>
</main>""")
    return _page(settings, "report", body)
