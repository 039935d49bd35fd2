"""The roster page (/admin/people): workers and departments, assignments, CSV import.

A plain page with a small map to pick an area (grids and micro-grids from our vector tiles; a
click fills in the area code, as the code/name search does), the shared client (wangge.js) for
the token, API calls and labels, and people.js for the page. Admins manage everyone, a street
commander its jurisdiction (the API decides; the page only shows what it is given).
"""

from __future__ import annotations

from api.pages.i18n import DEFAULT_LANG, labels
from api.pages.shell import page_html
from gis.roster import DEPARTMENT_KINDS, ROLE_LABELS
from gis.settings import Settings

PEOPLE_BODY = """\
<div id="wg-bar" class="wg-bar">
  <span class="wg-brand" data-i18n="app"></span>
  <span class="wg-title" data-i18n="people_title"></span>
  <span id="wg-user" class="wg-user"></span>
  <button id="wg-lang" class="btn btn-sm btn-light" data-i18n="lang" type="button"></button>
  <button id="wg-logout" class="btn btn-sm btn-outline-light" data-i18n="logout"
          type="button"></button>
</div>
<div id="wg-toast" class="wg-toast" hidden></div>
<div id="wg-message" class="wg-message" hidden></div>
<main class="container-fluid wg-people">
  <div class="d-flex flex-wrap gap-2 align-items-center my-2">
    <input id="pp-search" class="form-control form-control-sm w-auto" type="search">
    <button id="pp-new" data-testid="person-new" class="btn btn-sm btn-primary" type="button"
            data-i18n="person_new"></button>
    <button id="pp-dept-new" class="btn btn-sm btn-outline-primary" type="button"
            data-i18n="dept_new"></button>
    <label class="btn btn-sm btn-outline-secondary mb-0"><span data-i18n="import_workers"></span>
      <input id="pp-import" data-testid="import-workers" type="file" accept=".csv,text/csv"
             hidden></label>
    <small class="text-muted" data-i18n="import_hint"></small>
  </div>
  <form id="pp-worker-form" class="card card-body mb-2 wg-form-inline" hidden>
    <div class="wg-panel-title" data-i18n="person_new"></div>
    <div class="d-flex flex-wrap gap-2">
      <label><span data-i18n="name"></span><input name="name" data-testid="person-name"
        class="form-control form-control-sm" required maxlength="100"></label>
      <label><span data-i18n="phone"></span><input name="phone" data-testid="person-phone"
        class="form-control form-control-sm" maxlength="40"></label>
      <label><span data-i18n="code"></span><input name="code" data-testid="person-code"
        class="form-control form-control-sm" maxlength="64"></label>
      <label><span data-i18n="username"></span><input name="username"
        data-testid="person-username" class="form-control form-control-sm" maxlength="64"
        pattern="[A-Za-z0-9_.@\\-]+"></label>
      <label><span data-i18n="password"></span><input name="password" type="password"
        data-testid="person-password" class="form-control form-control-sm" minlength="8"
        autocomplete="new-password"></label>
    </div>
    <div class="mt-2"><button type="submit" data-testid="person-save"
      class="btn btn-sm btn-primary" data-i18n="save"></button>
    <button type="button" class="btn btn-sm btn-light wg-cancel" data-i18n="cancel"></button>
    </div>
  </form>
  <form id="pp-dept-form" class="card card-body mb-2" hidden>
    <div class="wg-panel-title" data-i18n="dept_new"></div>
    <div class="d-flex flex-wrap gap-2">
      <label><span data-i18n="code"></span><input name="code" class="form-control
        form-control-sm" required pattern="[A-Za-z0-9_.\\-]+"></label>
      <label><span data-i18n="name"></span><input name="name" class="form-control
        form-control-sm" required></label>
      <label><span data-i18n="kind"></span><select name="kind" class="form-select
        form-select-sm">__KINDS__</select></label>
      <label><span data-i18n="street"></span><input name="street_code" class="form-control
        form-control-sm" pattern="[0-9]{9}"></label>
      <label><span data-i18n="username"></span><input name="username" class="form-control
        form-control-sm"></label>
      <label><span data-i18n="password"></span><input name="password" type="password"
        class="form-control form-control-sm" minlength="8" autocomplete="new-password"></label>
    </div>
    <div class="mt-2"><button type="submit" class="btn btn-sm btn-primary" data-i18n="save">
    </button><button type="button" class="btn btn-sm btn-light wg-cancel" data-i18n="cancel">
    </button></div>
  </form>
  <form id="pp-assign-form" class="card card-body mb-2" hidden>
    <div class="wg-panel-title"><span data-i18n="assign_area"></span> ·
      <span id="pp-assign-who"></span></div>
    <div class="d-flex flex-wrap gap-2">
      <label><span data-i18n="area_search"></span><input name="area" list="pp-areas"
        data-testid="assign-area-code" class="form-control form-control-sm" required
        autocomplete="off"><datalist id="pp-areas"></datalist></label>
      <label><span data-i18n="role"></span><select name="role" data-testid="assign-role"
        class="form-select form-select-sm">__ROLES__</select></label>
      <label><span data-i18n="starts_on"></span><input name="starts_on" type="date"
        data-testid="assign-starts" class="form-control form-control-sm"></label>
      <label><span data-i18n="ends_on"></span><input name="ends_on" type="date"
        data-testid="assign-ends" class="form-control form-control-sm"></label>
    </div>
    <div id="pp-area-hits" class="wg-area-hits"></div>
    <div id="pp-map" class="wg-pick-map" data-testid="assign-map"></div>
    <div class="mt-2"><button type="submit" data-testid="assign-save"
      class="btn btn-sm btn-primary" data-i18n="save"></button>
    <button type="button" class="btn btn-sm btn-light wg-cancel" data-i18n="cancel"></button>
    </div>
  </form>
  <div id="pp-report" data-testid="import-report" hidden></div>
  <table class="table table-sm table-hover" data-testid="people-table" id="pp-table">
    <thead><tr><th data-i18n="name"></th><th data-i18n="role"></th><th data-i18n="phone"></th>
      <th data-i18n="account"></th><th data-i18n="areas"></th><th data-i18n="status"></th>
      <th></th></tr></thead>
    <tbody></tbody>
  </table>
</main>
<script>WG.startPeople();</script>
"""


def people_page_html(settings: Settings) -> str:
    """The roster page's HTML shell (no data: the script asks the API with the caller's token)."""
    config = {"page": "people", "lang": DEFAULT_LANG, "labels": labels(settings.categories_file)}
    kinds = "".join(f'<option value="{k}" data-i18n="dept.{k}"></option>' for k in DEPARTMENT_KINDS)
    roles = "".join(f'<option value="{k}" data-i18n="role.{k}"></option>' for k in ROLE_LABELS)
    return page_html(title="Wangge 网格 · 人员", config=config,
                     body=PEOPLE_BODY.replace("__KINDS__", kinds).replace("__ROLES__", roles),
                     body_class="wg-people-body", styles=("/static/vendor/leaflet/leaflet.css",),
                     libraries=("/static/vendor/leaflet/leaflet.js",
                                "/static/vendor/vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
                     scripts=("/static/js/people.js",))
