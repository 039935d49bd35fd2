/* The roster page (/admin/people): people table, new worker/department, assignments, import. */
(function () {
  'use strict';
  var WG = window.WG;
  var state = { people: [], assignTo: null };
  function el(id) { return document.getElementById(id); }
  function day(v) { return v ? String(v).slice(0, 10) : ''; }

  /* A small CSV reader (RFC 4180 quotes) turning the file into row objects for the API. */
  function parseCsv(text) {
    var rows = [], row = [], field = '', i = 0, quoted = false;
    text = text.replace(/^\uFEFF/, '');
    for (; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') { quoted = false; }
        else { field += c; }
      } else if (c === '"') { quoted = true; }
      else if (c === ',') { row.push(field); field = ''; }
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') { i++; }
        row.push(field); field = '';
        if (row.length > 1 || row[0] !== '') { rows.push(row); }
        row = [];
      } else { field += c; }
    }
    if (field !== '' || row.length) { row.push(field); rows.push(row); }
    var head = (rows.shift() || []).map(function (h) { return h.trim().toLowerCase(); });
    return rows.map(function (r) {
      var o = {};
      head.forEach(function (h, k) { o[h] = r[k] === undefined ? '' : r[k]; });
      return o;
    });
  }

  function areaText(a) {
    return '<div class="wg-assignment' + (a.current ? '' : ' text-muted') +
      '" data-assignment="' + a.id + '">' + WG.esc(a.name || '') + ' ' + WG.esc(a.code) +
      ' · ' + WG.esc(WG.t('role.' + a.role)) + ' · ' + WG.esc(day(a.starts_on)) + '→' +
      WG.esc(day(a.ends_on)) + (a.current && !a.ends_on
        ? ' <button type="button" class="btn btn-link btn-sm p-0 wg-end" data-id="' + a.id +
          '" data-i18n="end_assignment"></button>' : '') + '</div>';
  }

  function render() {
    var body = el('pp-table').querySelector('tbody');
    body.innerHTML = state.people.map(function (p, i) {
      var roles = p.kind === 'worker'
        ? p.assignments.filter(function (a) { return a.current; }).map(function (a) {
          return WG.t('role.' + a.role);
        }).filter(function (v, k, arr) { return arr.indexOf(v) === k; }).join('、')
        : WG.t('department') + ' · ' + WG.t('dept.' + p.department_kind);
      var account = p.kind === 'worker' ? (p.account ? p.account.username : '')
        : p.accounts.map(function (a) { return a.username; }).join(', ');
      var areas = p.kind === 'worker' ? p.assignments.map(areaText).join('')
        : (p.street ? WG.esc(p.street.name + ' ' + p.street.code) : '');
      return '<tr data-kind="' + p.kind + '" data-id="' + p.id + '" data-name="' +
        WG.esc(p.name) + '"><td>' + WG.esc(p.name) + '</td><td>' + WG.esc(roles) +
        '</td><td>' + WG.esc(p.phone || '') + '</td><td>' + WG.esc(account) + '</td><td>' +
        areas + '</td><td><span data-i18n="' + (p.active ? 'active' : 'disabled') +
        '"></span></td><td class="text-nowrap">' +
        (p.kind === 'worker' ? '<button type="button" class="btn btn-sm btn-outline-primary ' +
          'wg-assign" data-testid="assign-area" data-i18n="assign_area" data-row="' + i +
          '"></button> ' : '') +
        '<button type="button" class="btn btn-sm btn-outline-secondary wg-toggle" data-row="' +
        i + '" data-i18n="' + (p.active ? 'disable' : 'enable') + '"></button></td></tr>';
    }).join('');
    WG.applyLang(body);
    body.setAttribute('data-count', String(state.people.length));
  }

  function load() {
    var q = el('pp-search').value;
    return WG.api('/people' + WG.query({ q: q })).then(function (res) {
      state.people = res.workers.concat(res.departments);
      render();
    });
  }

  function formBody(form) {
    var out = {};
    new FormData(form).forEach(function (v, k) { if (v !== '') { out[k] = v; } });
    return out;
  }
  function toggle(form, show) {
    ['pp-worker-form', 'pp-dept-form', 'pp-assign-form'].forEach(function (id) {
      el(id).hidden = true;
    });
    if (show) { form.reset(); form.hidden = false; }
  }
  function saved() { WG.toast(WG.t('saved')); return load(); }

  function searchAreas(q) {
    if (q.length < 2) { return; }
    WG.api('/people/areas' + WG.query({ q: q })).then(function (res) {
      el('pp-areas').innerHTML = res.items.map(function (a) {
        return '<option value="' + WG.esc(a.code) + '">' + WG.esc(WG.t('level.' + a.level) +
          ' ' + a.name) + '</option>';
      }).join('');
      el('pp-area-hits').textContent = res.items.slice(0, 5).map(function (a) {
        return a.code + ' ' + a.name;
      }).join(' · ');
      if (res.items.length && res.items[0].bbox && state.map) {  // show where the first hit is
        WG.fitBbox(state.map, res.items[0].bbox, 16);
      }
    }).catch(WG.fail);
  }

  /* A small map of the caller's area: clicking a grid or micro-grid picks its code. */
  function pickMap(areaInput) {
    if (state.map) { state.map.invalidateSize(); return; }
    var map = state.map = L.map('pp-map', { attributionControl: false, minZoom: 3,
                                            maxZoom: 20 });
    WG.makePanes(map, ['grids', 'micro-grids'], 410);
    ['grids', 'micro-grids'].forEach(function (layer) {
      var opts = WG.tileOptions(layer);
      var style = Object.assign({}, WG.LEVEL_STYLES[layer], { fill: true, fillOpacity: 0.06 });
      opts.interactive = true;  // filled, so a click anywhere inside picks the area
      opts.vectorTileLayerStyles = new Proxy({}, { get: function () {
        return function () { return style; };
      } });
      var tiles = L.vectorGrid.protobuf('/tiles/' + layer + '/{z}/{x}/{y}.pbf', opts);
      tiles.on('click', function (e) {
        var props = (e.layer && e.layer.properties) || {};
        if (!props.code) { return; }
        areaInput.value = props.code;
        el('pp-area-hits').textContent = props.code + ' ' + (props.name || '');
      });
      tiles.addTo(map);
    });
    if (state.ctx && state.ctx.bbox) { WG.fitBbox(map, state.ctx.bbox, 16); }
    else { map.setView([30, 120], 12); }
  }

  function showReport(res) {
    var box = el('pp-report');
    var rows = (res.issues || []).map(function (i) {
      return '<tr><td>' + WG.esc(i.row) + '</td><td>' + WG.esc(i.code || '') + '</td><td>' +
        WG.esc(i.reason) + '</td></tr>';
    }).join('');
    box.innerHTML = '<div class="alert ' + (res.written ? 'alert-success' : 'alert-danger') +
      '"><span data-i18n="' + (res.written ? 'import_ok' : 'import_failed') + '"></span> ' +
      WG.esc(res.read + ' / ' + res.created + ' / ' + res.assigned) + '</div>' +
      (rows ? '<table class="table table-sm"><thead><tr><th data-i18n="row"></th>' +
        '<th data-i18n="code"></th><th data-i18n="reason"></th></tr></thead><tbody>' + rows +
        '</tbody></table>' : '');
    box.setAttribute('data-written', res.written ? '1' : '0');
    box.hidden = false;
    WG.applyLang(box);
  }

  WG.startPeople = function () {
    WG.applyLang();
    if (WG.redirecting) { return; }
    WG.api('/map/context').then(function (ctx) {
      state.ctx = ctx;
      WG.chrome(ctx);
      if (ctx.role !== 'admin' && ctx.role !== 'commander') {
        var m = el('wg-message');
        m.textContent = WG.t('wrong_role');
        m.hidden = false;
        return null;
      }
      el('pp-search').placeholder = WG.t('search');
      el('pp-search').addEventListener('input', function () { load().catch(WG.fail); });
      el('pp-new').addEventListener('click', function () { toggle(el('pp-worker-form'), true); });
      el('pp-dept-new').addEventListener('click', function () {
        toggle(el('pp-dept-form'), true);
      });
      document.querySelectorAll('.wg-cancel').forEach(function (b) {
        b.addEventListener('click', function () { toggle(null, false); });
      });
      el('pp-worker-form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        WG.api('/people/workers', { method: 'POST', body: formBody(ev.target) })
          .then(function () { toggle(null, false); return saved(); }).catch(WG.fail);
      });
      el('pp-dept-form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        WG.api('/people/departments', { method: 'POST', body: formBody(ev.target) })
          .then(function () { toggle(null, false); return saved(); }).catch(WG.fail);
      });
      var areaInput = el('pp-assign-form').querySelector('[name=area]');
      areaInput.addEventListener('input', function () { searchAreas(areaInput.value.trim()); });
      el('pp-assign-form').addEventListener('submit', function (ev) {
        ev.preventDefault();
        var body = formBody(ev.target);
        WG.api('/people/workers/' + state.assignTo + '/assignments', { method: 'POST',
                                                                       body: body })
          .then(function () { toggle(null, false); return saved(); }).catch(WG.fail);
      });
      el('pp-table').addEventListener('click', function (ev) {
        var b = ev.target.closest('button');
        if (!b) { return; }
        if (b.classList.contains('wg-end')) {
          WG.api('/people/assignments/' + b.getAttribute('data-id') + '/end',
                 { method: 'POST', body: {} }).then(saved).catch(WG.fail);
          return;
        }
        var p = state.people[+b.getAttribute('data-row')];
        if (b.classList.contains('wg-assign')) {
          toggle(el('pp-assign-form'), true);
          state.assignTo = p.id;
          el('pp-assign-who').textContent = p.name;
          pickMap(el('pp-assign-form').querySelector('[name=area]'));
        } else if (b.classList.contains('wg-toggle')) {
          var path = (p.kind === 'worker' ? '/people/workers/' : '/people/departments/') + p.id;
          WG.api(path, { method: 'PATCH', body: { active: !p.active, version: p.version } })
            .then(saved).catch(function (err) { WG.fail(err); return load(); });
        }
      });
      el('pp-import').addEventListener('change', function (ev) {
        var file = ev.target.files[0];
        if (!file) { return; }
        file.text().then(function (text) {
          return WG.api('/people/import', { method: 'POST', body: { rows: parseCsv(text) } });
        }).then(function (res) { showReport(res); return load(); })
          .catch(function (err) {
            if (err.body && err.body.issues) { showReport(err.body); } else { WG.fail(err); }
          }).then(function () { ev.target.value = ''; });
      });
      return load();
    }).then(function () {
      document.body.setAttribute('data-ready', '1');
    }).catch(WG.fail);
  };
})();
