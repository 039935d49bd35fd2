/* Planner editing on /map/plan: a draft plan, moving buildings between micro-grids, the draft's
   preview (counts and bound colours), validation messages, publish and undo of the last publish.
   Talks to /plans (versions sent as the `version` field, so a stale page gets a 409). */
(function () {
  'use strict';
  var WG = window.WG;
  var original = WG.pages.planner;

  function el(id) { return document.getElementById(id); }

  WG.pages.planner = function (map, layers, ctx) {
    return Promise.resolve(original(map, layers, ctx)).then(function () {
      if (ctx.role === 'planner' || ctx.role === 'admin') { setup(map, layers); }
    });
  };

  function setup(map, layers) {
    var box = document.createElement('div');
    box.id = 'pe-box';
    box.className = 'pe-box';
    box.innerHTML =
      '<div class="wg-panel-title">编辑方案 Plan</div>' +
      '<div id="pe-plan" class="wg-count">—</div>' +
      '<div class="wg-row"><input id="pe-building" class="form-control form-control-sm" ' +
      'placeholder="楼栋 id" type="number" min="1">' +
      '<input id="pe-to" class="form-control form-control-sm" placeholder="微网格 code"></div>' +
      '<div class="wg-row">' +
      '<button id="pe-new" class="btn btn-light btn-sm" type="button">新方案 New</button>' +
      '<button id="pe-move" class="btn btn-primary btn-sm" type="button">移动 Move</button>' +
      '<button id="pe-publish" class="btn btn-success btn-sm" type="button">发布 Publish</button>' +
      '<button id="pe-undo" class="btn btn-warning btn-sm" type="button">撤销 Undo</button>' +
      '</div><ul id="pe-msg" class="pe-msg"></ul>';
    el('wg-panel').appendChild(box);
    var draft = L.featureGroup().addTo(map);
    var state = WG.planEdit = { plan: null, preview: null, published: 0, undone: 0 };

    function say(items, cls) {
      el('pe-msg').className = 'pe-msg ' + (cls || '');
      el('pe-msg').innerHTML = items.map(function (t) { return '<li>' + WG.esc(t) + '</li>'; })
        .join('');
    }
    function problem(err) {
      var v = (err.body && err.body.violations) || [];
      say([err.message].concat(v.map(function (x) { return x.message; })), 'pe-error');
      state.error = err.body || { detail: err.message };
    }
    function showPlan(plan) {
      state.plan = plan;
      el('pe-plan').textContent = plan ? ('#' + plan.id + ' ' + plan.name + ' · ' + plan.status +
        ' · v' + plan.version) : '—';
    }
    function clearDraft() { draft.clearLayers(); }
    function drawPreview(fc) {
      clearDraft();
      state.preview = fc;
      L.geoJSON(fc, {
        style: function (f) {
          var level = f.properties.layer === 'grids' ? 'grid' : 'micro_grid';
          var s = WG.boundState(level, f.properties.households);
          return { color: '#6a1b9a', weight: 2, fillOpacity: 0.45,
                   fillColor: WG.BOUND_COLORS[s], className: 'pe-area pe-' + s };
        },
        onEachFeature: function (f, lyr) {
          L.marker(lyr.getBounds().getCenter(), { interactive: false, icon: L.divIcon({
            className: 'pe-hh', html: String(f.properties.households), iconSize: [28, 16] })
          }).addTo(draft);
        }
      }).addTo(draft);
    }
    function refreshTiles() {
      ['grids', 'micro-grids'].forEach(function (name) {
        if (layers[name] && layers[name].redraw) { layers[name].redraw(); }
      });
    }
    function newPlan() {
      return WG.api('/plans', { method: 'POST', body: { name: '页面方案 ' +
        new Date().toISOString().slice(0, 16) } }).then(function (plan) {
        showPlan(plan);
        clearDraft();
        say([]);
        return plan;
      });
    }
    function move() {
      var building = parseInt(el('pe-building').value, 10);
      var to = el('pe-to').value.trim();
      var ready = state.plan && state.plan.status === 'draft' ? Promise.resolve(state.plan)
        : newPlan();
      return ready.then(function (plan) {
        return WG.api('/plans/' + plan.id + '/edits', { method: 'POST', body: {
          op: 'move_buildings', buildings: [building], to: to, version: plan.version } });
      }).then(function (out) {
        showPlan(out.plan);
        drawPreview(out.plan.preview);
        say(out.warnings.map(function (w) { return '⚠ ' + w.message; }));
      }).catch(problem);
    }
    function publish() {
      if (!state.plan) { return Promise.resolve(); }
      return WG.api('/plans/' + state.plan.id + '/publish', { method: 'POST',
        body: { version: state.plan.version, reason: 'map page' } }).then(function (out) {
        showPlan(out.plan);
        clearDraft();
        state.published += 1;
        refreshTiles();
        say(['✓ ' + out.changed + ' / ' + out.created + ' / ' + out.retired]);
      }).catch(problem);
    }
    function undo() {
      return WG.api('/plans/undo', { method: 'POST', body: { reason: 'map page' } })
        .then(function (out) {
          showPlan(out.plan);
          state.undone += 1;
          refreshTiles();
          say(['↶ #' + out.plan.id]);
        }).catch(problem);
    }
    layers['micro-grids'].on('click', function (ev) {
      var props = ev.layer && ev.layer.properties;
      if (props && props.code) { el('pe-to').value = props.code; }
    });
    el('pe-new').addEventListener('click', function () { newPlan().catch(problem); });
    el('pe-move').addEventListener('click', move);
    el('pe-publish').addEventListener('click', publish);
    el('pe-undo').addEventListener('click', undo);
  }
})();
