"""folium map builders, one per page, and the login page.

Each page is a folium Map (assets from /static, optional XYZ basemap, layers from our vector tiles
and GeoJSON) plus a :class:`PageScript` element that loads the page's own script, which fetches the
data with the caller's token once the page is in the browser.
"""

from __future__ import annotations

import json

import folium
from folium.plugins import HeatMap, MarkerCluster, VectorGridProtobuf
from folium.template import Template

from api.pages import assets, worker_shell
from api.pages.i18n import DEFAULT_LANG, labels
from api.pages.shell import page_html
from api.pages.situation_chrome import SITUATION_PANEL
from api.pages.workbench import workbench_chrome
from gis.categories import load_categories
from gis.settings import Settings
from gis.workflow import STATUSES, TRANSITIONS

CENTER = [30.0, 120.0]  # replaced in the browser by the caller's area bounds
# The API paths the page scripts call ({id}: an incident or patrol id).
ENDPOINTS = {
    "incidents": "/incidents",
    "incident": "/incidents/{id}",
    "transition": "/incidents/{id}/transitions",
    "feed": "/incidents/feed",
    "stats": "/stats",
    "patrols": "/patrols",
    "patrol_points": "/patrols/{id}/points",
    "patrol_end": "/patrols/{id}/end",
    "photos": "/incidents/{id}/photos",
    "tasks": "/map/me/tasks",
    "responsible": "/map/me/responsible",
    "history": "/map/me/history",
    "checks": "/map/plan/checks",
    "preview_split": "/map/plan/preview-split",
    "live_positions": "/map/live-positions",
    "unpatrolled": "/map/unpatrolled",
    "staffing": "/map/staffing",
    "areas_at": "/map/areas-at",
    "area": "/map/area/{id}",
}
OUTLINE_LAYERS = [("streets", "街道 Streets"), ("communities", "社区 Communities"),
                  ("grids", "网格 Grids"), ("micro-grids", "微网格 Micro-grids")]


class PageScript(folium.MacroElement):
    """The page's chrome, configuration and script, started once the folium map exists."""

    _template = Template("""
        {% macro header(this, kwargs) %}
            <link rel="icon" href="/static/favicon.svg" type="image/svg+xml"/>
            <link rel="stylesheet" href="/static/vendor/noto-sans-sc/noto-sans-sc-400.css"/>
            <link rel="stylesheet" href="/static/css/wangge.css"/>
            <script>window.WG_CONFIG = {{ this.config|tojson }};</script>
            <script src="/static/js/wangge.js"></script>
            <script src="/static/js/{{ this.page }}.js"></script>
        {% endmacro %}
        {% macro html(this, kwargs) %}{{ this.chrome }}{% endmacro %}
        {% macro script(this, kwargs) %}
            WG.start({{ this._parent.get_name() }}, {
                {%- for key, layer in this.layers.items() %}
                {{ key|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
            });
        {% endmacro %}
    """)

    def __init__(self, page: str, config: dict, chrome: str, layers: dict) -> None:
        super().__init__()
        self._name = "PageScript"
        self.page, self.config, self.chrome, self.layers = page, config, chrome, layers


def page_config(settings: Settings, page: str) -> dict:
    """What the page's script needs: labels, statuses, categories, transitions and bounds."""
    cats = load_categories(settings.categories_file)
    return {
        "page": page,
        "lang": DEFAULT_LANG,
        "labels": labels(settings.categories_file),
        "statuses": STATUSES,
        "categories": list(cats),
        "transitions": [{"action": t.action, "source": t.source, "target": t.target,
                         "roles": sorted(t.roles)} for t in TRANSITIONS],
        "bounds": {"grid": [settings.grid_min, settings.grid_max],
                   "micro_grid": [settings.micro_grid_min, settings.micro_grid_max]},
        "basemap": bool(settings.basemap_url),
        "endpoints": ENDPOINTS,
    }


def _chrome(title_key: str, body: str = "") -> str:
    """The top bar (title, user, language switch, log out) and the page's panels."""
    return f"""
<div id="wg-bar" class="wg-bar">
  <span class="wg-brand" data-i18n="app"></span>
  <span class="wg-title" data-i18n="{title_key}"></span>
  <span id="wg-user" class="wg-user"></span>
  <button id="wg-lang" class="btn btn-sm btn-light" data-i18n="lang" type="button"></button>
  <a class="btn btn-sm btn-light" href="/account" data-i18n="my_account"
     data-testid="account-link"></a>
  <button id="wg-logout" class="btn btn-sm btn-outline-light" data-i18n="logout"
          type="button"></button>
</div>
<div id="wg-message" class="wg-message" hidden></div>
<div id="wg-toast" class="wg-toast" hidden></div>
{body}"""


def base_map(settings: Settings, **kwargs) -> folium.Map:
    """A map with local assets and the configured basemap (or a plain background)."""
    m = assets.localize(folium.Map(location=CENTER, zoom_start=12, tiles=None,
                                   control_scale=True, **kwargs))
    m.options.update(minZoom=3, maxZoom=20)  # folium passes these to tiles only
    if settings.basemap_url:
        folium.TileLayer(settings.basemap_url, attr="basemap", name="底图 Basemap",
                         max_zoom=20).add_to(m)
    else:  # the offline `basemap` tile layer, added by wangge.js
        assets.VectorGridAssets().add_to(m)
    return m


def _outline_layers(m: folium.Map, names: list[tuple[str, str]]) -> dict:
    """Vector tile layers, added to the map by the page script once the caller is known."""
    layers = {}
    for layer, label in names:
        layers[layer] = VectorGridProtobuf(
            f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf", label, show=False,
            options=f"WG.tileOptions({json.dumps(layer)})").add_to(m)
    return layers


def command_page(settings: Settings) -> str:
    """`/map`: outlines by level, clustered incidents, heat map, filters, live feed, workflow."""
    m = base_map(settings)
    layers = _outline_layers(m, OUTLINE_LAYERS)
    layers["choropleth"] = folium.FeatureGroup(name="专题图 Choropleth").add_to(m)
    layers["incidents"] = MarkerCluster(name="事件 Incidents",
                                        options={"maxClusterRadius": 50}).add_to(m)
    layers["heat"] = HeatMap([], name="热力图 Heat map", show=False, radius=18,
                             min_opacity=0.3).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    chrome = _chrome("command_title", """
<div id="wg-panel" class="wg-panel">
  <div class="wg-panel-title" data-i18n="filters"></div>
  <label><span data-i18n="status"></span><select id="f-status" class="form-select form-select-sm">
  </select></label>
  <label><span data-i18n="category"></span>
  <select id="f-category" class="form-select form-select-sm"></select></label>
  <label><span data-i18n="period"></span><select id="f-period" class="form-select form-select-sm">
    <option value="" data-i18n="all"></option><option value="1" data-i18n="today"></option>
    <option value="7" data-i18n="days7"></option><option value="30" data-i18n="days30"></option>
  </select></label>
  <label><span data-i18n="area"></span><select id="f-area" class="form-select form-select-sm">
  </select></label>
  <label><span data-i18n="choropleth"></span>
  <select id="f-choropleth" class="form-select form-select-sm">
    <option value="" data-i18n="none"></option>
    <option value="community:disposal_rate" data-i18n="disposal_rate"></option>
    <option value="community:overdue_count" data-i18n="overdue_count"></option>
    <option value="grid:disposal_rate" data-i18n="disposal_rate"></option>
    <option value="grid:overdue_count" data-i18n="overdue_count"></option>
  </select></label>
  <label class="wg-check"><input type="checkbox" id="f-heat"> <span data-i18n="heat"></span>
  </label>
  <div id="wg-count" class="wg-count"></div>
</div>
<div id="wg-detail" class="wg-detail" hidden></div>""" + SITUATION_PANEL)
    PageScript("command", page_config(settings, "command"), chrome, layers).add_to(m)
    return m.get_root().render()


def worker_page(settings: Settings) -> str:
    """`/map/me`: the installable, offline-first worker app (see api/pages/worker_shell.py)."""
    m = base_map(settings)
    layers = {
        "micro_grids": folium.FeatureGroup(name="微网格 Micro-grids").add_to(m),
        "buildings": folium.FeatureGroup(name="楼栋 Buildings").add_to(m),
        "incidents": folium.FeatureGroup(name="事件 Incidents").add_to(m),
        "patrol": folium.FeatureGroup(name="巡查 Patrol").add_to(m),
    }
    folium.LayerControl(collapsed=True).add_to(m)
    chrome = _chrome("worker_title", worker_shell.panels(list(
        load_categories(settings.categories_file))))
    config = page_config(settings, "worker")
    config["max_photo_bytes"] = settings.max_photo_bytes
    PageScript("worker", config, chrome, layers).add_to(m)
    worker_shell.WorkerHead().add_to(m)  # after wangge.js, which creates window.WG
    return m.get_root().render()


def planner_page(settings: Settings) -> str:
    """`/map/plan`: grids and micro-grids coloured against the bounds, split preview, checks."""
    m = base_map(settings)
    layers = _outline_layers(m, [("streets", "街道 Streets"), ("communities", "社区 Communities"),
                                 ("grids", "网格 Grids"), ("micro-grids", "微网格 Micro-grids")])
    layers["preview"] = folium.FeatureGroup(name="拆分预览 Split preview").add_to(m)
    layers["issues"] = folium.FeatureGroup(name="问题 Violations").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    chrome = _chrome("plan_title", """
<div id="wg-panel" class="wg-panel wg-plan">
  <div class="wg-panel-title" data-i18n="split_preview"></div>
  <div id="p-selected" class="wg-count" data-i18n="select_grid"></div>
  <div class="wg-row">
    <label><span data-i18n="min"></span><input id="p-min" type="number" min="1"
      class="form-control form-control-sm"></label>
    <label><span data-i18n="max"></span><input id="p-max" type="number" min="1"
      class="form-control form-control-sm"></label>
  </div>
  <div class="wg-row"><button id="p-preview" class="btn btn-primary btn-sm" type="button"
    data-i18n="preview" disabled></button>
  <button id="p-clear" class="btn btn-light btn-sm" type="button" data-i18n="clear"></button></div>
  <div id="p-report"></div>
  <div class="wg-panel-title" data-i18n="validation"></div>
  <div id="p-validation" class="wg-validation"></div>
</div>""" + workbench_chrome())
    PageScript("planner", page_config(settings, "planner"), chrome, layers).add_to(m)
    return m.get_root().render()


LOGIN_BODY = """\
<form id="wg-login" class="wg-login card">
  <div class="card-body">
    <h1 class="h4"><span data-i18n="app"></span> · <span data-i18n="login_title"></span></h1>
    <div id="wg-login-msg" class="alert alert-warning" role="alert" hidden></div>
    <label class="form-label w-100"><span data-i18n="username"></span>
      <input name="username" class="form-control" autocomplete="username" required></label>
    <label class="form-label w-100"><span data-i18n="password"></span>
      <input name="password" type="password" class="form-control" autocomplete="current-password"
             required></label>
    <div class="d-flex gap-2 mt-2">
      <button class="btn btn-primary" type="submit" data-i18n="login"></button>
      <button id="wg-lang" class="btn btn-light" type="button" data-i18n="lang"></button>
    </div>
  </div>
</form>
<script>WG.startLogin();</script>
"""


def login_page(settings: Settings) -> str:
    """The login form: posts to /auth/token and keeps the token in the browser."""
    return page_html(title="Wangge 网格", config=page_config(settings, "login"), body=LOGIN_BODY,
                     body_class="wg-login-body")


ACCOUNT_BODY = """\
<main class="wg-account card"><div class="card-body">
  <div class="d-flex justify-content-between align-items-center">
    <h1 class="h4"><span data-i18n="app"></span> · <span data-i18n="account_title"></span></h1>
    <button id="wg-lang" class="btn btn-light btn-sm" type="button" data-i18n="lang"
            data-testid="lang"></button>
  </div>
  <p class="mb-1"><span data-i18n="username"></span>:
    <b id="a-user" data-testid="account-user"></b></p>
  <h2 class="h5 mt-3" data-i18n="api_keys"></h2>
  <p class="small text-muted" data-i18n="api_keys_help"></p>
  <form id="a-new" class="row g-2 align-items-end" data-testid="key-form">
    <label class="col-6"><span data-i18n="key_name"></span>
      <input name="name" class="form-control form-control-sm" maxlength="100" required
             data-testid="key-name"></label>
    <label class="col-3"><span data-i18n="key_expires_days"></span>
      <input name="expires_days" type="number" min="1" max="3650"
             class="form-control form-control-sm" data-testid="key-expires"></label>
    <div class="col-3"><button class="btn btn-primary btn-sm w-100" type="submit"
      data-i18n="create_key" data-testid="key-create"></button></div>
  </form>
  <div id="a-msg" class="alert alert-warning mt-2" role="alert" hidden
       data-testid="key-error"></div>
  <div id="a-created" class="alert alert-success mt-2" hidden data-testid="key-created">
    <div data-i18n="key_once"></div>
    <code id="a-secret" class="user-select-all" data-testid="key-secret"></code>
  </div>
  <table class="table table-sm mt-3" data-testid="key-table">
    <thead><tr><th data-i18n="key_name"></th><th data-i18n="key_prefix"></th>
      <th data-i18n="created"></th><th data-i18n="expires"></th><th data-i18n="last_used"></th>
      <th></th></tr></thead>
    <tbody id="a-keys"></tbody>
  </table>
</div></main>
"""


def account_page(settings: Settings) -> str:
    """`/account`: the caller's API keys (create, list, revoke) for desktop GIS clients."""
    return page_html(title="Wangge 网格", config=page_config(settings, "account"),
                     body=ACCOUNT_BODY, body_class="wg-account-body",
                     scripts=("/static/js/account.js",))
