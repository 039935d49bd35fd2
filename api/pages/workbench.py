"""The planner workbench's panels on /map/plan: plans, drawing tools, violations, area, history.

The panels are plain HTML with data-i18n labels and the data-testid hooks the tests (and any
automation) rely on; `api/static/js/plan-workbench.js` drives them over the /plans API, with
Leaflet-Geoman (vendored) for drawing.
"""

from __future__ import annotations

V = "/static/vendor/geoman"
TOOLS = ("redraw", "split", "merge", "move", "resplit", "reshape")


def _tool(name: str) -> str:
    return (f'<button id="wb-tool-{name}" class="btn btn-outline-primary btn-sm wb-tool" '
            f'type="button" data-tool="{name}" data-testid="tool-{name}" '
            f'data-i18n="tool_{name}"></button>')


def workbench_chrome() -> str:
    """The workbench's HTML (appended after the split-preview panel)."""
    tools = "".join(_tool(t) for t in TOOLS)
    return f"""
<link rel="stylesheet" href="{V}/leaflet-geoman.css"/>
<link rel="stylesheet" href="/static/css/plan-edit.css"/>
<script src="{V}/leaflet-geoman.min.js"></script>
<script src="/static/js/plan-workbench.js"></script>
<div id="wb-left" class="wb-panel wb-left">
  <div class="wg-panel-title" data-i18n="plans"></div>
  <div class="wg-row">
    <input id="wb-plan-name" class="form-control form-control-sm" maxlength="120">
    <button id="wb-plan-new" class="btn btn-primary btn-sm" type="button" data-testid="plan-new"
      data-i18n="plan_new"></button>
  </div>
  <div id="wb-plan" class="wb-plan wg-count" data-testid="plan-current"></div>
  <div class="wg-row wb-wrap">
    <button id="wb-publish" class="btn btn-success btn-sm" type="button"
      data-testid="plan-publish" data-i18n="plan_publish" disabled></button>
    <button id="wb-discard" class="btn btn-outline-danger btn-sm" type="button"
      data-testid="plan-discard" data-i18n="plan_discard" disabled></button>
    <button id="wb-drop" class="btn btn-outline-secondary btn-sm" type="button"
      data-testid="plan-drop-last" data-i18n="plan_drop_last" disabled></button>
    <button id="wb-undo" class="btn btn-warning btn-sm" type="button" data-testid="plan-undo"
      data-i18n="plan_undo"></button>
  </div>
  <div id="wb-conflict" class="wb-conflict" data-testid="plan-conflict" hidden>
    <span data-i18n="conflict"></span>
    <button id="wb-reload" class="btn btn-light btn-sm" type="button" data-testid="plan-reload"
      data-i18n="reload"></button>
  </div>
  <div id="wb-check" class="wb-check" data-testid="publish-check" hidden></div>
  <div class="wb-scroll"><table class="table table-sm wb-plans" data-testid="plan-list">
    <thead><tr><th data-i18n="plan_name"></th><th data-i18n="plan_author"></th>
      <th data-i18n="plan_status"></th><th data-i18n="plan_version"></th>
      <th data-i18n="plan_time"></th></tr></thead><tbody id="wb-plans"></tbody>
  </table></div>
  <div class="wg-panel-title" data-i18n="tools"></div>
  <label class="wb-inline"><span data-i18n="edit_level"></span>
    <select id="wb-level" class="form-select form-select-sm" data-testid="edit-level">
      <option value="micro_grid" data-i18n="level.micro_grid"></option>
      <option value="grid" data-i18n="level.grid"></option>
    </select></label>
  <div class="wb-tools">{tools}</div>
  <div id="wb-hint" class="wb-hint"></div>
  <div id="wb-split-engine" class="wg-row" hidden>
    <label><span data-i18n="parts_n"></span><input id="wb-parts" type="number" min="2" max="20"
      value="2" class="form-control form-control-sm"></label>
    <button id="wb-split-go" class="btn btn-primary btn-sm" type="button"
      data-testid="split-engine" data-i18n="split_engine"></button>
  </div>
  <div id="wb-move" class="wg-row" hidden>
    <button id="wb-lasso" class="btn btn-outline-secondary btn-sm" type="button"
      data-testid="tool-lasso" data-i18n="tool_lasso"></button>
    <span class="wg-count"><span data-i18n="selected_buildings"></span>:
      <b id="wb-selected-count">0</b></span>
  </div>
  <div id="wb-msg" class="wb-msg" data-testid="plan-message"></div>
  <div class="wg-panel-title" data-i18n="violations"></div>
  <ul id="wb-violations" class="wb-violations" data-testid="violations"></ul>
</div>
<div id="wb-right" class="wb-panel wb-right" hidden>
  <div class="wg-panel-title" data-i18n="area_info"></div>
  <div id="wb-area" data-testid="area-info"></div>
  <div class="wg-panel-title" data-i18n="history_title"></div>
  <div class="wb-hint" data-i18n="history_pick"></div>
  <ul id="wb-history" class="wb-history" data-testid="history-list"></ul>
</div>"""
