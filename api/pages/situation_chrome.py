"""The command map's live-situation panel: live positions, the unpatrolled and staffing layers
(toggles, period) and the area panel; drawn by /static/js/situation.js."""

SITUATION_PANEL = """
<div id="wg-situation" class="wg-panel wg-situation">
  <div class="wg-panel-title" data-i18n="live.positions"></div>
  <ul id="live-positions" class="wg-live" data-testid="live-positions"></ul>
  <label class="wg-check"><input type="checkbox" id="f-unpatrolled"
    data-testid="unpatrolled-layer"> <span data-i18n="unpatrolled"></span>
    <span id="unpatrolled-count" class="badge bg-secondary"></span></label>
  <label><span data-i18n="period"></span>
  <select id="f-unpatrolled-days" class="form-select form-select-sm">
    <option value="1" data-i18n="today"></option><option value="7" data-i18n="days7" selected>
    </option><option value="30" data-i18n="days30"></option></select></label>
  <label class="wg-check"><input type="checkbox" id="f-staffing" data-testid="staffing-layer">
    <span data-i18n="staffing"></span></label>
  <div id="staffing-table" class="wg-staffing" data-testid="staffing-table" hidden></div>
</div>
<div id="wg-area" class="wg-detail wg-area" data-testid="area-panel" hidden></div>
<link rel="stylesheet" href="/static/css/situation.css"/>
<script src="/static/js/situation.js"></script>"""
