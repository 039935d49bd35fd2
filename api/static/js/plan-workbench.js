/* Planner workbench on /map/plan: the planner's day over the /plans API.
   Grids and micro-grids are live GeoJSON (hover, click selects into the area panel); buildings
   from z15 with their households, selectable by click or lasso. Drawing tools (Leaflet-Geoman)
   add edits to the current draft: redraw (a line across two neighbours), split (a line, or the
   engine with N parts), merge (two neighbours), move buildings (then click the target), re-split
   a grid from its preview, reshape (a polygon). The draft's preview replaces the areas it
   changes (recoloured by bounds, counts updated); warnings and refusals are listed and drawn.
   Every write sends the plan's version: a 409 shows the conflict box with a reload, never a
   silent overwrite. State for tests: WG.bench. */
(function () {
  'use strict';
  var WG = window.WG;
  var original = WG.pages.planner;
  var LAYER = { grid: 'grids', micro_grid: 'micro_grids' };
  var COLLECTION = { grid: 'grids', micro_grid: 'micro-grids' };
  var MINZOOM = { grid: 10, micro_grid: 14, buildings: 15 };

  function el(id) { return document.getElementById(id); }

  WG.pages.planner = function (map, layers, ctx) {
    return Promise.resolve(original(map, layers, ctx)).then(function () {
      if (ctx.role === 'planner' || ctx.role === 'admin') { return setup(map); }
      ['wb-left', 'wb-right'].forEach(function (id) { el(id).hidden = true; });
    });
  };

  function setup(map) {
    var S = WG.bench = {
      plan: null, plans: [], level: 'micro_grid', tool: null, selected: null, info: null,
      history: null, mergeFirst: null, buildings: {}, features: { grid: [], micro_grid: [] },
      buildingFeatures: [], violations: [], edits: 0, published: 0, undone: 0, conflicts: 0,
      loads: 0, busy: false, message: null, check: null
    };
    var panes = ['wb-grid', 'wb-micro_grid', 'wb-buildings', 'wb-marks'];
    panes.forEach(function (name, i) { map.createPane(name).style.zIndex = String(430 + i); });
    var groups = {
      grid: L.featureGroup().addTo(map), micro_grid: L.featureGroup().addTo(map),
      buildings: L.featureGroup().addTo(map), labels: L.featureGroup().addTo(map),
      violations: L.featureGroup().addTo(map), diff: L.featureGroup().addTo(map)
    };
    map.doubleClickZoom.disable();

    /* ---- messages ---------------------------------------------------------------------- */
    function say(key, kind, extra) {
      S.message = { key: key, kind: kind, extra: extra || '' };
      showMessage();
    }
    function showMessage() {
      var m = S.message;
      el('wb-msg').innerHTML = m ? '<div class="wb-' + (m.kind || 'info') + '">' +
        WG.esc(WG.t(m.key) + (m.extra ? ': ' + m.extra : '')) + '</div>' : '';
    }
    function violationText(v) {
      var key = 'err.' + v.check;
      var text = WG.t(key) === key ? (v.message || v.check) : WG.t(key);
      return text + ((v.codes && v.codes.length) ? ' (' + v.codes.join(', ') + ')' : '');
    }
    function showViolations(list) {
      S.violations = list || [];
      groups.violations.clearLayers();
      var box = el('wb-violations');
      if (!S.violations.length) {
        box.innerHTML = '<li class="wg-ok">' + WG.esc(WG.t('no_violations')) + '</li>';
        return;
      }
      box.innerHTML = S.violations.map(function (v, i) {
        return '<li><a href="#" data-i="' + i + '" class="wb-violation" data-check="' +
          WG.esc(v.check) + '">' + WG.esc(violationText(v)) + '</a></li>';
      }).join('');
      S.violations.forEach(function (v) {
        v.layer = v.geometry ? L.geoJSON(v.geometry, {
          pane: 'wb-marks', interactive: false,
          style: { color: '#d50000', weight: 3, dashArray: '4 3', fillOpacity: 0.15,
                   className: 'wb-violation-shape' },
          pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 6 }); }
        }).addTo(groups.violations) : null;
      });
      box.querySelectorAll('.wb-violation').forEach(function (a) {
        a.addEventListener('click', function (ev) {
          ev.preventDefault();
          zoomTo(S.violations[+a.getAttribute('data-i')]);
        });
      });
    }
    function zoomTo(v) {
      var bounds = v.layer ? v.layer.getBounds() : null;
      if ((!bounds || !bounds.isValid()) && v.codes) {
        var layers = [];
        ['grid', 'micro_grid'].forEach(function (lv) {
          groups[lv].eachLayer(function (l) {
            if (l.feature && v.codes.indexOf(l.feature.properties.code) >= 0) { layers.push(l); }
          });
        });
        bounds = layers.length ? L.featureGroup(layers).getBounds() : null;
      }
      if (bounds && bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 19, padding: [40, 40] }); }
      S.zoomed = (S.zoomed || 0) + 1;
    }
    function problem(err) {
      var body = err.body || {};
      if (err.status === 409 && S.plan && !body.last_published &&
          (body.stale || body.current_version !== undefined || /version|changed/.test(err.message))) {
        S.conflicts += 1;
        el('wb-conflict').hidden = false;
        say('conflict', 'error');
        return;
      }
      if (body.violations && body.violations.length) {
        showViolations(body.violations);
        say('err.request', 'error', violationText(body.violations[0]));
      } else {
        say('err.request', 'error', err.message);
      }
      S.error = body;
    }

    /* ---- plans ------------------------------------------------------------------------- */
    function isDraft() { return !!(S.plan && S.plan.status === 'draft'); }
    function showPlan() {
      var p = S.plan;
      el('wb-plan').textContent = p ? ('#' + p.id + ' ' + p.name + ' · ' + WG.t('plan.' + p.status) +
        ' · v' + p.version + ' · ' + WG.t('plan_edits') + ' ' + (p.changes || []).length)
        : WG.t('plan_none');
      ['wb-publish', 'wb-discard', 'wb-drop'].forEach(function (id) { el(id).disabled = !isDraft(); });
      renderPlans();
    }
    function when(iso) { return iso ? new Date(iso).toLocaleString(WG.lang) : ''; }
    function renderPlans() {
      el('wb-plans').innerHTML = S.plans.map(function (p) {
        return '<tr data-id="' + p.id + '" class="' + (S.plan && S.plan.id === p.id ? 'wb-current' : '') +
          '" data-testid="plan-row"><td>' + WG.esc(p.name) + '</td><td>' + WG.esc(p.created_by) +
          '</td><td>' + WG.esc(WG.t('plan.' + p.status)) + '</td><td>' + p.version + '</td><td>' +
          WG.esc(when(p.updated_at)) + '</td></tr>';
      }).join('');
      el('wb-plans').querySelectorAll('tr').forEach(function (tr) {
        tr.addEventListener('click', function () { openPlan(+tr.getAttribute('data-id')); });
      });
    }
    function refreshPlans() {
      return WG.api('/plans').then(function (out) { S.plans = out.plans; renderPlans(); });
    }
    function setPlan(plan) {
      S.plan = plan;
      el('wb-conflict').hidden = true;
      el('wb-check').hidden = true;
      showPlan();
      render();
    }
    function openPlan(id) {
      return WG.api('/plans/' + id).then(function (plan) {
        setPlan(plan);
        showViolations([]);
        return refreshPlans();
      }).catch(problem);
    }
    function newPlan() {
      var name = el('wb-plan-name').value.trim() ||
        (WG.t('plans') + ' ' + new Date().toLocaleString(WG.lang));
      return WG.api('/plans', { method: 'POST', body: { name: name } }).then(function (plan) {
        setPlan(plan);
        showViolations([]);
        refreshPlans();
        return plan;
      });
    }
    function ensureDraft() { return isDraft() ? Promise.resolve(S.plan) : newPlan(); }
    function edit(op) {
      if (S.busy) { return Promise.resolve(); }
      S.busy = true;
      return ensureDraft().then(function (plan) {
        op.version = plan.version;
        op.reason = op.reason || WG.t('tool_' + (S.tool || 'move'));
        return WG.api('/plans/' + plan.id + '/edits', { method: 'POST', body: op });
      }).then(function (out) {
        S.edits += 1;
        setPlan(out.plan);
        showViolations(out.warnings);
        say('edit_added', 'ok');
        setTool(null);
        refreshPlans();
      }).catch(problem).then(function () { S.busy = false; });
    }
    function publishCheck() {
      if (!isDraft()) { return Promise.resolve(); }
      var box = el('wb-check');
      return WG.api('/plans/' + S.plan.id + '/validate').then(function (out) {
        S.check = out;
        renderCheck();
        box.hidden = false;
      }).catch(problem);
    }
    function renderCheck() {
      var out = S.check;
      if (!out) { return; }
      var box = el('wb-check');
      var items = (out.violations || []).map(function (v) { return '<li>' + WG.esc(violationText(v)) + '</li>'; });
      (out.stale || []).forEach(function (a) { items.push('<li>' + WG.esc(WG.t('conflict') + ' ' + a.code) + '</li>'); });
      (out.moves || []).forEach(function (m) {
        items.push('<li class="wb-move">' + WG.esc(m.worker + ' · ' + WG.t('role.' + m.role) + ': ' +
          m.from + ' → ' + m.to) + '</li>');
      });
      (out.uncovered || []).forEach(function (u) {
        items.push('<li class="wb-uncovered">' + WG.esc(WG.t('uncovered') + ': ' + u.code + ' (' +
          WG.t('role.' + u.role) + ')') + '</li>');
      });
      box.innerHTML = '<div class="wg-panel-title">' + WG.esc(WG.t('publish_check')) + '</div>' +
        '<div class="' + (out.valid ? 'wg-ok' : 'wb-error') + '">' +
        WG.esc(WG.t(out.valid ? 'publish_ok' : 'publish_blocked')) + '</div>' +
        (items.length ? '<ul>' + items.join('') + '</ul>' : '') +
        '<button id="wb-publish-confirm" class="btn btn-success btn-sm" type="button" ' +
        'data-testid="publish-confirm"' + (out.valid ? '' : ' disabled') + '>' +
        WG.esc(WG.t('publish_confirm')) + '</button>';
      el('wb-publish-confirm').addEventListener('click', publish);
    }
    function publish() {
      if (!isDraft()) { return Promise.resolve(); }
      return WG.api('/plans/' + S.plan.id + '/publish', { method: 'POST',
        body: { version: S.plan.version, reason: S.plan.name } }).then(function () {
        S.published += 1;
        setPlan(null);
        showViolations([]);
        say('published_done', 'ok');
        return afterBoundaryChange();
      }).catch(problem);
    }
    function discard() {
      if (!isDraft()) { return Promise.resolve(); }
      return WG.api('/plans/' + S.plan.id + '/discard', { method: 'POST',
        body: { version: S.plan.version } }).then(function () {
        setPlan(null);
        showViolations([]);
        return refreshPlans();
      }).catch(problem);
    }
    function dropLast() {
      if (!isDraft()) { return Promise.resolve(); }
      return WG.api('/plans/' + S.plan.id + '/edits/last', { method: 'DELETE',
        headers: { 'If-Match': '"' + S.plan.version + '"' } }).then(function (plan) {
        setPlan(plan);
        showViolations([]);
        return refreshPlans();
      }).catch(problem);
    }
    function undo() {
      return WG.api('/plans/undo', { method: 'POST', body: { reason: WG.t('plan_undo') } })
        .then(function () {
          S.undone += 1;
          say('undone_done', 'ok');
          return afterBoundaryChange();
        }).catch(problem);
    }
    function reload() {
      el('wb-conflict').hidden = true;
      var id = S.plan && S.plan.id;
      return (id ? openPlan(id) : Promise.resolve()).then(load).then(function () {
        say('reload', 'ok');
      });
    }
    function afterBoundaryChange() {
      if (WG.planChecks) { WG.planChecks().catch(WG.fail); }
      if (S.selected) { showArea(S.selected.level, S.selected.code); }
      return Promise.all([refreshPlans(), load()]);
    }

    /* ---- areas and buildings ----------------------------------------------------------- */
    function bbox() {
      var b = map.getBounds();
      return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (n) {
        return n.toFixed(6);
      }).join(',');
    }
    function fetchLevel(collection, minzoom) {
      if (map.getZoom() < minzoom) { return Promise.resolve([]); }
      return WG.items(collection, { bbox: bbox(), limit: 1000 }, 10).then(function (fc) {
        return fc.features;
      }).catch(function () { return []; });
    }
    function load() {
      var seq = S.loadSeq = (S.loadSeq || 0) + 1;
      return Promise.all([fetchLevel('grids', MINZOOM.grid),
                          fetchLevel('micro-grids', MINZOOM.micro_grid),
                          fetchLevel('buildings', MINZOOM.buildings)]).then(function (got) {
        if (seq !== S.loadSeq) { return; }
        S.features.grid = got[0];
        S.features.micro_grid = got[1];
        S.buildingFeatures = got[2];
        S.loads += 1;
        render();
      });
    }
    /* The current features of a level with the draft's preview in place of what it changes. */
    function merged(level) {
      var feats = S.features[level];
      var preview = isDraft() ? S.plan.preview : null;
      if (!preview || !preview.features) { return feats; }
      var hide = {};
      preview.features.forEach(function (f) {
        if (f.properties.layer === LAYER[level]) { hide[f.properties.code] = true; }
      });
      (preview.retired || []).forEach(function (r) { if (r.layer === LAYER[level]) { hide[r.code] = true; } });
      var out = feats.filter(function (f) { return !hide[f.properties.code]; });
      preview.features.forEach(function (f) {
        if (f.properties.layer === LAYER[level]) {
          out.push({ type: 'Feature', geometry: f.geometry,
                     properties: Object.assign({}, f.properties, { draft: true }) });
        }
      });
      return out;
    }
    function state(level, props) {
      if (level === 'grid' && props.kind === 'dedicated') { return 'within'; }
      return WG.boundState(level, props.households);
    }
    function areaStyle(level, f) {
      var p = f.properties;
      var sel = S.selected && S.selected.level === level && S.selected.code === p.code;
      var pick = S.mergeFirst === p.code && level === S.level;
      var active = level === S.level;
      return {
        pane: 'wb-' + level,
        color: sel || pick ? '#ff6f00' : (p.draft ? '#6a1b9a' : (level === 'grid' ? '#263238' : '#5d4037')),
        weight: sel || pick ? 3.5 : (p.draft ? 2.4 : (level === 'grid' ? 1.8 : 0.9)),
        dashArray: p.draft ? '6 3' : null,
        fill: true, fillColor: WG.BOUND_COLORS[state(level, p)],
        fillOpacity: active ? 0.32 : 0.04
      };
    }
    function render() {
      ['grid', 'micro_grid'].forEach(renderLevel);
      renderBuildings();
      renderLabels();
    }
    function renderLevel(level) {
      groups[level].clearLayers();
      var active = level === S.level;
      L.geoJSON({ type: 'FeatureCollection', features: merged(level) }, {
        pane: 'wb-' + level,
        interactive: active,
        style: function (f) {
          var st = areaStyle(level, f);
          st.className = 'wb-area wb-' + level + ' wb-' + state(level, f.properties) +
            ' wb-code-' + f.properties.code + (f.properties.draft ? ' wb-draft' : '');
          return st;
        },
        onEachFeature: function (f, lyr) {
          if (!active) { return; }
          lyr.on('mouseover', function () {
            S.hover = f.properties.code;
            lyr.setStyle({ weight: 3, fillOpacity: 0.5 });
          });
          lyr.on('mouseout', function () { lyr.setStyle(areaStyle(level, f)); });
          lyr.on('click', function (ev) {
            if (map.pm.globalDrawModeEnabled()) { return; }  /* the click is a vertex */
            L.DomEvent.stopPropagation(ev);
            areaClicked(level, f.properties);
          });
        }
      }).addTo(groups[level]);
    }
    function renderBuildings() {
      groups.buildings.clearLayers();
      var moving = S.tool === 'move';
      L.geoJSON({ type: 'FeatureCollection', features: S.buildingFeatures }, {
        pane: 'wb-buildings',
        interactive: moving,
        style: function (f) {
          var sel = !!S.buildings[f.id];
          return { color: sel ? '#ff6f00' : '#37474f', weight: sel ? 3 : 1,
                   fillColor: sel ? '#ffb74d' : '#90a4ae', fillOpacity: 0.8,
                   className: 'wb-building wb-building-' + f.id + (sel ? ' wb-selected-building' : '') };
        },
        pointToLayer: function (f, ll) { return L.circleMarker(ll, { radius: 5 }); },
        onEachFeature: function (f, lyr) {
          if (!moving) { return; }
          lyr.on('click', function (ev) {
            if (map.pm.globalDrawModeEnabled()) { return; }
            L.DomEvent.stopPropagation(ev);
            toggleBuilding(f.id);
          });
        }
      }).addTo(groups.buildings);
      el('wb-selected-count').textContent = String(Object.keys(S.buildings).length);
    }
    function center(geometry) { return L.geoJSON(geometry).getBounds().getCenter(); }
    function renderLabels() {
      groups.labels.clearLayers();
      merged(S.level).forEach(function (f) {
        L.marker(center(f.geometry), { pane: 'wb-marks', interactive: false, icon: L.divIcon({
          className: 'wb-label wb-hh-' + S.level + (f.properties.draft ? ' wb-hh-draft' : ''),
          html: String(f.properties.households), iconSize: [34, 16] }) }).addTo(groups.labels);
      });
      S.buildingFeatures.forEach(function (f) {
        L.marker(center(f.geometry), { pane: 'wb-marks', interactive: false, icon: L.divIcon({
          className: 'wb-label wb-bld-label', html: String(f.properties.households),
          iconSize: [20, 12], iconAnchor: [10, -4] }) }).addTo(groups.labels);
      });
    }
    function toggleBuilding(id) {
      if (S.buildings[id]) { delete S.buildings[id]; } else { S.buildings[id] = true; }
      renderBuildings();
    }
    function inside(ll, ring) {
      var x = ll.lng, y = ll.lat, hit = false;
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
        if (((yi > y) !== (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi)) { hit = !hit; }
      }
      return hit;
    }
    function lassoSelect(polygon) {
      var ring = polygon.coordinates[0];
      S.buildingFeatures.forEach(function (f) {
        if (inside(center(f.geometry), ring)) { S.buildings[f.id] = true; }
      });
      renderBuildings();
    }

    /* ---- selection, area panel and history --------------------------------------------- */
    function areaClicked(level, props) {
      if (S.tool === 'merge') {
        if (!S.mergeFirst) {
          S.mergeFirst = props.code;
          select(level, props);
          return;
        }
        if (S.mergeFirst !== props.code) {
          edit({ op: 'merge', level: level, a: S.mergeFirst, b: props.code });
        }
        return;
      }
      if (S.tool === 'move' && Object.keys(S.buildings).length) {
        edit({ op: 'move_buildings', level: level, to: props.code,
               buildings: Object.keys(S.buildings).map(Number) });
        return;
      }
      select(level, props);
      if (S.tool === 'resplit') { resplitPreview(); }
    }
    function select(level, props) {
      S.selected = { level: level, code: props.code, props: props };
      if (level === 'grid') { WG.selectGrid(props); }  /* the split preview panel's grid */
      render();
      showArea(level, props.code);
    }
    function kv(key, value) {
      return '<div class="wb-kv" data-key="' + key + '"><b>' + WG.esc(WG.t(key)) + '</b>' +
        WG.esc(value) + '</div>';
    }
    function renderArea() {
      var sel = S.selected;
      if (!sel) { el('wb-right').hidden = true; return; }
      el('wb-right').hidden = false;
      var p = Object.assign({}, sel.props, S.info || {});
      var parent = S.info && S.info.parent ? (S.info.parent.name || '') + ' ' + S.info.parent.code
        : (p.parent_code || '');
      var workers = S.info ? (S.info.workers.length ? S.info.workers.map(function (w) {
        return w.name + '（' + WG.t('role.' + w.role) + '）';
      }).join('、') : WG.t('no_workers')) : '';
      el('wb-area').innerHTML = kv('code', p.code) + kv('area_name', p.name || '') +
        '<div class="wb-kv"><b>' + WG.esc(WG.t('level.' + sel.level)) + '</b></div>' +
        kv('households', p.households) +
        kv('bounds_state', WG.t(state(sel.level, p)) + ' (' + WG.cfg.bounds[sel.level].join('–') + ')') +
        kv('parent', parent) +
        (p.kind ? kv('kind', WG.t('kind.' + p.kind)) : '') +
        kv('responsible_workers', workers) +
        (sel.level === 'grid' && p.kind && !p.draft ? '<div class="wg-row">' +
          '<select id="wb-kind" class="form-select form-select-sm" data-testid="area-kind">' +
          ['standard', 'dedicated'].map(function (k) {
            return '<option value="' + k + '"' + (k === p.kind ? ' selected' : '') + '>' +
              WG.esc(WG.t('kind.' + k)) + '</option>';
          }).join('') + '</select><button id="wb-kind-apply" class="btn btn-outline-primary ' +
          'btn-sm" type="button" data-testid="area-kind-apply">' + WG.esc(WG.t('kind_apply')) +
          '</button></div>' : '');
      var apply = el('wb-kind-apply');
      if (apply) {
        apply.addEventListener('click', function () {
          var kind = el('wb-kind').value;
          if (kind !== p.kind) {
            edit({ op: 'set_attributes', level: 'grid', area: p.code, kind: kind });
          }
        });
      }
    }
    function showArea(level, code) {
      S.info = null;
      S.history = null;
      renderArea();
      el('wb-history').innerHTML = '';
      groups.diff.clearLayers();
      var sel = S.selected;
      WG.api('/map/plan/area/' + level + '/' + code).then(function (info) {
        if (S.selected !== sel) { return; }
        S.info = info;
        renderArea();
      }).catch(function () { /* an area the draft created has no record yet */ });
      WG.api('/history/' + level + '/' + code).then(function (h) {
        if (S.selected !== sel) { return; }
        S.history = h;
        renderHistory();
      }).catch(function () { el('wb-history').innerHTML = ''; });
    }
    function renderHistory() {
      var h = S.history;
      if (!h) { return; }
      var versions = h.versions.features.map(function (f) { return f.properties; });
      el('wb-history').innerHTML = versions.map(function (v) {
        var who = v.author ? v.author : '';
        var why = v.reason || v.by_plan_name || '';
        return '<li data-testid="history-version"><label><input type="checkbox" class="wb-hv" value="' +
          v.version + '"> v' + v.version + (v.valid_to ? '' : ' (' + WG.esc(WG.t('current')) + ')') +
          ' · ' + WG.esc(when(v.valid_from)) + (who ? ' · ' + WG.esc(who) : '') +
          (why ? ' · ' + WG.esc(why) : '') + ' · ' + v.households + '</label></li>';
      }).join('');
      el('wb-history').querySelectorAll('.wb-hv').forEach(function (box) {
        box.addEventListener('change', diff);
      });
    }
    function diff() {
      var picked = Array.prototype.slice.call(el('wb-history').querySelectorAll('.wb-hv:checked'))
        .map(function (b) { return +b.value; }).sort(function (a, b) { return a - b; });
      groups.diff.clearLayers();
      S.diff = null;
      if (picked.length !== 2 || !S.selected) { return Promise.resolve(); }
      var sel = S.selected;
      return WG.api('/history/' + sel.level + '/' + sel.code + '/diff' +
        WG.query({ a: picked[0], b: picked[1] })).then(function (fc) {
        S.diff = fc;
        var colors = { from: '#9e9e9e', to: '#1565c0', added: '#2e7d32', removed: '#c62828' };
        L.geoJSON(fc, { pane: 'wb-marks', interactive: false, style: function (f) {
          var part = f.properties.part;
          var fill = part === 'added' || part === 'removed';
          return { color: colors[part], weight: fill ? 1 : 2, dashArray: part === 'from' ? '4 4' : null,
                   fill: fill, fillOpacity: 0.5, className: 'wb-diff wb-diff-' + part };
        } }).addTo(groups.diff);
        var b = groups.diff.getBounds();
        if (b.isValid()) { map.fitBounds(b, { maxZoom: 19, padding: [40, 40] }); }
      }).catch(problem);
    }

    /* ---- tools ------------------------------------------------------------------------- */
    function draw(shape, purpose) {
      S.drawPurpose = purpose;
      map.pm.enableDraw(shape, { finishOn: 'dblclick', snappable: false, continueDrawing: false,
                                 allowSelfIntersection: true, templineStyle: { color: '#ff6f00' },
                                 pathOptions: { color: '#ff6f00', weight: 3 } });
    }
    map.on('pm:create', function (e) {
      var geometry = e.layer.toGeoJSON().geometry;
      map.removeLayer(e.layer);
      var purpose = S.drawPurpose;
      S.drawPurpose = null;
      var sel = S.selected && S.selected.level === S.level ? S.selected.code : null;
      if (purpose === 'redraw') {
        edit({ op: 'redraw', level: S.level, line: geometry });
      } else if (purpose === 'split') {
        var op = { op: 'split', level: S.level, line: geometry };
        if (sel) { op.area = sel; }
        edit(op);
      } else if (purpose === 'reshape' && sel) {
        edit({ op: 'redraw', level: S.level, area: sel, polygon: geometry });
      } else if (purpose === 'lasso') {
        lassoSelect(geometry);
      }
    });
    function setTool(name) {
      if (map.pm.globalDrawModeEnabled()) { map.pm.disableDraw(); }
      if (S.tool === 'move' && name !== 'move') { S.buildings = {}; }
      S.tool = name;
      S.mergeFirst = null;
      document.querySelectorAll('.wb-tool').forEach(function (b) {
        b.classList.toggle('active', b.getAttribute('data-tool') === name);
      });
      el('wb-hint').textContent = name ? WG.t('hint.' + name) : '';
      el('wb-split-engine').hidden = name !== 'split';
      el('wb-move').hidden = name !== 'move';
      if (name === 'redraw') { draw('Line', 'redraw'); }
      if (name === 'split') { draw('Line', 'split'); }
      if (name === 'reshape') {
        if (!S.selected || S.selected.level !== S.level) { say('pick_area_first', 'error'); } else {
          draw('Polygon', 'reshape');
        }
      }
      if (name === 'resplit') { resplitPreview(); }
      render();
    }
    function resplitPreview() {
      var sel = S.selected;
      var grid = sel && (sel.level === 'grid' ? sel.props : null);
      if (sel && sel.level === 'micro_grid') {
        grid = { code: sel.props.parent_code, name: '', households: '' };
      }
      if (!grid || !grid.code) { say('pick_grid_first', 'error'); return Promise.resolve(); }
      WG.selectGrid(grid);
      return WG.previewSplit().then(function () {
        if (!WG.lastPreview || S.tool !== 'resplit') { return; }
        var btn = document.createElement('button');
        btn.className = 'btn btn-success btn-sm';
        btn.type = 'button';
        btn.setAttribute('data-testid', 'preview-apply');
        btn.setAttribute('data-i18n', 'apply_resplit');
        btn.textContent = WG.t('apply_resplit');
        btn.addEventListener('click', function () {
          edit({ op: 'resplit', grid: grid.code }).then(function () {
            el('p-clear').click();
          });
        });
        el('p-report').appendChild(btn);
      });
    }
    document.querySelectorAll('.wb-tool').forEach(function (b) {
      b.addEventListener('click', function () {
        var name = b.getAttribute('data-tool');
        setTool(S.tool === name ? null : name);
      });
    });
    el('wb-split-go').addEventListener('click', function () {
      var sel = S.selected && S.selected.level === S.level ? S.selected.code : null;
      if (!sel) { say('pick_area_first', 'error'); return; }
      edit({ op: 'split', level: S.level, area: sel, parts: +el('wb-parts').value });
    });
    el('wb-lasso').addEventListener('click', function () { draw('Polygon', 'lasso'); });
    el('wb-level').addEventListener('change', function () {
      S.level = el('wb-level').value;
      setTool(null);
    });
    document.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape' && S.tool) { setTool(null); }
    });
    el('wb-plan-new').addEventListener('click', function () { newPlan().catch(problem); });
    el('wb-publish').addEventListener('click', publishCheck);
    el('wb-discard').addEventListener('click', discard);
    el('wb-drop').addEventListener('click', dropLast);
    el('wb-undo').addEventListener('click', undo);
    el('wb-reload').addEventListener('click', reload);
    var timer = null;
    map.on('moveend', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { load(); }, 150);
    });
    WG.onLang.push(function () {
      showPlan();
      showMessage();
      showViolations(S.violations);
      renderArea();
      renderHistory();
      renderCheck();
      if (S.tool) { el('wb-hint').textContent = WG.t('hint.' + S.tool); }
    });
    showPlan();
    showViolations([]);
    WG.applyLang(el('wb-left'));
    WG.applyLang(el('wb-right'));
    return Promise.all([refreshPlans(), load()]);
  }
})();
