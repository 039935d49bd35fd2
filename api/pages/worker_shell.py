"""The worker app's HTML parts: the installable app's head (manifest, theme colour, the offline
queue's script) and its panels (report form with photos, tasks, patrol, sync state, who is
responsible, history). Every action carries a stable data-testid."""

from __future__ import annotations

from html import escape

import folium
from folium.template import Template


class WorkerHead(folium.MacroElement):
    """Head entries that make /map/me an installable, offline-first app."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <link rel="manifest" href="/map/me/manifest.webmanifest"/>
            <meta name="theme-color" content="#d81b60"/>
            <link rel="apple-touch-icon" href="/static/icons/worker-192.png"/>
            <link rel="stylesheet" href="/static/css/worker.css"/>
            <script src="/static/js/wg-queue.js"></script>
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "WorkerHead"


def panels(categories: list[str]) -> str:
    """The worker app's panels below the top bar."""
    cats = "".join(f'<option value="{escape(c)}" data-i18n="category.{escape(c)}"></option>'
                   for c in categories)
    return f"""
<div id="w-sync" class="wg-sync" data-state="idle">
  <span data-i18n="queue_label"></span> <b id="w-queue-count" data-testid="queue-count">0</b>
  <span id="w-sync-state" class="wg-sync-state"></span>
  <span id="w-last-sync" class="wg-last-sync"></span>
  <button id="w-queue-open" class="btn btn-sm btn-outline-secondary" type="button"
    data-testid="queue-open" data-i18n="queue_details"></button>
</div>
<div id="wg-actions" class="wg-actions">
  <button id="w-report" class="btn btn-primary" type="button" data-i18n="report_here"
    data-testid="report-here"></button>
  <button id="w-locate" class="btn btn-secondary" type="button" data-i18n="use_location"
    data-testid="report-locate"></button>
  <button id="w-patrol-start" class="btn btn-success" type="button" data-i18n="patrol_start"
    data-testid="patrol-start"></button>
  <button id="w-patrol-stop" class="btn btn-danger" type="button" data-i18n="patrol_stop"
    data-testid="patrol-stop" hidden></button>
  <button id="w-tasks-open" class="btn btn-warning" type="button" data-testid="tasks-open">
    <span data-i18n="my_tasks"></span> <span id="w-task-count" class="badge bg-dark"></span>
  </button>
  <button id="w-history-open" class="btn btn-light" type="button" data-i18n="my_history"
    data-testid="history-open"></button>
  <div id="w-patrol-status" class="wg-count" data-testid="patrol-status"></div>
</div>
<form id="w-form" class="wg-form" hidden novalidate>
  <div class="wg-panel-title" data-i18n="report_here"></div>
  <label><span data-i18n="category"></span>
    <select name="category" class="form-select form-select-sm"
      data-testid="report-category">{cats}</select></label>
  <label><span data-i18n="title"></span>
    <input name="title" class="form-control form-control-sm" maxlength="200"
      data-testid="report-title"></label>
  <label><span data-i18n="description"></span>
    <textarea name="description" class="form-control form-control-sm" rows="2"></textarea>
  </label>
  <label><span data-i18n="photos"></span>
    <input name="photos" type="file" accept="image/jpeg,image/png" multiple capture="environment"
      class="form-control form-control-sm" data-testid="photo-input"></label>
  <div id="w-form-photos" class="wg-thumbs"></div>
  <div id="w-form-msg" class="wg-form-msg" hidden></div>
  <div class="wg-row"><button type="submit" class="btn btn-primary btn-sm" data-i18n="submit"
    data-testid="report-submit"></button><button type="button" id="w-cancel"
    class="btn btn-light btn-sm" data-i18n="cancel"></button></div>
</form>
<div id="w-tasks" class="wg-sheet" hidden>
  <div class="wg-sheet-head"><span class="wg-panel-title" data-i18n="my_tasks"></span>
    <button type="button" class="btn btn-sm btn-light" data-close="w-tasks"
      data-i18n="close_panel"></button></div>
  <ul id="w-task-list" class="wg-list" data-testid="task-list"></ul>
  <div id="w-task-detail" class="wg-task-detail" hidden></div>
</div>
<div id="w-queue" class="wg-sheet" hidden>
  <div class="wg-sheet-head"><span class="wg-panel-title" data-i18n="queue_details"></span>
    <button type="button" class="btn btn-sm btn-light" data-close="w-queue"
      data-i18n="close_panel"></button></div>
  <ul id="w-queue-list" class="wg-list" data-testid="queue-list"></ul>
</div>
<div id="w-responsible" class="wg-sheet" data-testid="responsible-panel" hidden>
  <div class="wg-sheet-head"><span class="wg-panel-title" data-i18n="responsible"></span>
    <button type="button" class="btn btn-sm btn-light" data-close="w-responsible"
      data-i18n="close_panel"></button></div>
  <div id="w-responsible-body"></div>
</div>
<div id="w-history" class="wg-sheet" hidden>
  <div class="wg-sheet-head"><span class="wg-panel-title" data-i18n="my_history"></span>
    <button type="button" class="btn btn-sm btn-light" data-close="w-history"
      data-i18n="close_panel"></button></div>
  <div id="w-history-body" data-testid="history-list"></div>
</div>"""
