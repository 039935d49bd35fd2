/* Command center (/map): outlines, incidents (clustered, heat map), filters, live feed,
   choropleth, incident details and workflow steps. */
(function () {
  'use strict';
  var WG = window.WG;
  var OPEN = ['reported', 'accepted', 'dispatched', 'in_progress'];

  function url(name, id) { return WG.cfg.endpoints[name].replace('{id}', id); }

  function isOverdue(p) {
    if (p.overdue !== undefined && p.overdue !== null) { return !!p.overdue; }
    if (!p.due_at || ['resolved', 'verified', 'closed', 'rejected'].indexOf(p.status) >= 0) {
      return false;
    }
    return new Date(p.due_at).getTime() < Date.now();
  }

  function icon(p) {
    var overdue = isOverdue(p);
    var color = WG.STATUS_COLORS[p.status] || '#333';
    return L.divIcon({
      className: 'wg-inc' + (overdue ? ' wg-overdue' : ''),
      iconSize: [16, 16],
      html: '<span class="wg-dot" data-id="' + WG.esc(p.id) + '" data-status="' +
        WG.esc(p.status) + '" style="background:' + color + '">' + (overdue ? '!' : '') +
        '</span>'
    });
  }

  /* A feature (OGC item or feed message) as {id, lat, lon, props}. */
  function normalize(obj) {
    var f = obj.feature || obj.incident || obj;
    var props = Object.assign({}, f.properties || f);
    var id = f.id !== undefined ? f.id : props.id;
    props.id = id;
    var lon, lat;
    if (f.geometry && f.geometry.coordinates) {
      lon = f.geometry.coordinates[0];
      lat = f.geometry.coordinates[1];
    } else {
      lon = props.lon !== undefined ? props.lon : props.longitude;
      lat = props.lat !== undefined ? props.lat : props.latitude;
    }
    return { id: id, lon: lon, lat: lat, props: props };
  }

  WG.pages.command = function (map, layers, ctx) {
    var S = WG.incidents = {};
    var filters = {};
    var el = function (id) { return document.getElementById(id); };
    WG.showTiles(map, layers, ['streets', 'communities', 'grids', 'micro-grids']);
    WG.fitBbox(map, ctx.bbox, 16);

    /* filters */
    function options(select, values, prefix, extra) {
      select.innerHTML = '<option value="" data-i18n="all"></option>' + (extra || '') +
        values.map(function (v) {
          return '<option value="' + WG.esc(v) + '" data-i18n="' + prefix + v + '"></option>';
        }).join('');
    }
    options(el('f-status'), WG.cfg.statuses, 'status.',
            '<option value="open" data-i18n="open_incidents"></option>' +
            '<option value="overdue" data-i18n="overdue"></option>');
    options(el('f-category'), WG.cfg.categories, 'category.');
    el('f-area').innerHTML = '<option value="" data-i18n="all"></option>' +
      ctx.areas.map(function (a, i) {
        return '<option value="' + i + '">' + (a.level === 'community' ? '\u00a0\u00a0' : '') +
          WG.esc(a.name || a.code) + '</option>';
      }).join('');
    WG.applyLang(el('wg-panel'));

    function readFilters() {
      var area = el('f-area').value === '' ? null : ctx.areas[+el('f-area').value];
      var days = el('f-period').value;
      return {
        status: el('f-status').value,
        category: el('f-category').value,
        since: days ? new Date(Date.now() - days * 86400000) : null,
        area: area
      };
    }
    function passes(p) {
      var f = filters;
      if (f.status === 'open' && OPEN.indexOf(p.status) < 0) { return false; }
      if (f.status === 'overdue' && !isOverdue(p)) { return false; }
      if (f.status && f.status !== 'open' && f.status !== 'overdue' && p.status !== f.status) {
        return false;
      }
      if (f.category && p.category !== f.category) { return false; }
      if (f.since && p.reported_at && new Date(p.reported_at) < f.since) { return false; }
      if (f.area) {
        var key = f.area.level + '_id';
        if (p[key] !== undefined && p[key] !== null && p[key] !== f.area.id) { return false; }
      }
      return true;
    }

    /* incidents */
    function upsert(item, bulk) {
      var old = S[item.id];
      if (old && old.marker) { layers.incidents.removeLayer(old.marker); }
      if (item.lat === undefined || item.lon === undefined) {
        if (old) { item.lat = old.lat; item.lon = old.lon; } else { return null; }
      }
      item.props = Object.assign({}, old ? old.props : {}, item.props);
      S[item.id] = item;
      if (!passes(item.props)) { item.marker = null; return item; }
      item.marker = L.marker([item.lat, item.lon], { icon: icon(item.props) });
      item.marker.on('click', function () { showDetail(item.id); });
      if (bulk) { bulk.push(item.marker); } else { layers.incidents.addLayer(item.marker); }
      return item;
    }
    function refreshHeat() {
      var pts = [];
      Object.keys(S).forEach(function (id) {
        var it = S[id];
        if (it.marker) { pts.push([it.lat, it.lon, 1]); }
      });
      if (map.hasLayer(layers.heat)) { layers.heat.setLatLngs(pts); } else {
        layers.heat._latlngs = pts;  // drawn when the layer is switched on
      }
      el('wg-count').textContent = WG.t('incidents') + ': ' + pts.length;
    }
    function load() {
      filters = readFilters();
      var params = { limit: 10000 };
      var f = filters;
      if (f.status && f.status !== 'open' && f.status !== 'overdue') { params.status = f.status; }
      if (f.category) { params.category = f.category; }
      if (f.since) { params.datetime = f.since.toISOString().replace(/\.\d+Z$/, 'Z') + '/..'; }
      var bbox = f.area ? f.area.bbox : ctx.bbox;
      if (bbox) { params.bbox = bbox.join(','); }
      if (f.area) { WG.fitBbox(map, f.area.bbox, 17); }
      return WG.items('incidents', params, 10).then(function (fc) {
        layers.incidents.clearLayers();
        Object.keys(S).forEach(function (k) { delete S[k]; });
        var bulk = [];
        fc.features.forEach(function (feat) { upsert(normalize(feat), bulk); });
        layers.incidents.addLayers(bulk);
        refreshHeat();
      });
    }
    ['f-status', 'f-category', 'f-period', 'f-area'].forEach(function (id) {
      el(id).addEventListener('change', function () { load().catch(WG.fail); });
    });
    el('f-heat').addEventListener('change', function (ev) {
      if (ev.target.checked) { map.addLayer(layers.heat); } else { map.removeLayer(layers.heat); }
    });
    map.on('overlayadd overlayremove', function (ev) {
      if (ev.layer === layers.heat) { el('f-heat').checked = ev.type === 'overlayadd'; }
    });

    /* legends */
    function legends() {
      WG.legend(map, 'status', 'status', WG.cfg.statuses.map(function (s) {
        return { color: WG.STATUS_COLORS[s], key: 'status.' + s, shape: 'dot' };
      }).concat([{ color: '#d50000', key: 'overdue', shape: 'ring' }]));
      WG.legend(map, 'levels', 'outlines', ['streets', 'communities', 'grids', 'micro-grids']
        .map(function (l) {
          return { color: WG.LEVEL_STYLES[l].color, key: 'level.' + l.replace(/s$/, '')
            .replace('communitie', 'community').replace('-', '_'), shape: 'line' };
        }), 'bottomleft');
    }
    legends();

    /* details and workflow */
    function actionsFor(status, data) {
      if (data && Array.isArray(data.allowed_actions)) { return data.allowed_actions; }
      return WG.cfg.transitions.filter(function (t) {
        return t.source === status && t.roles.indexOf(ctx.role) >= 0;
      }).map(function (t) { return t.action; });
    }
    function showDetail(id) {
      var box = el('wg-detail');
      box.hidden = false;
      box.innerHTML = '<div class="wg-panel-title">' + WG.esc(WG.t('loading')) + '</div>';
      return WG.api(url('incident', id)).then(function (data) {
        var inc = normalize(data);
        var p = inc.props;
        var cur = S[id];
        if (cur) { upsert({ id: id, lat: cur.lat, lon: cur.lon, props: p }); refreshHeat(); }
        var history = data.history || data.events || p.history || p.events || [];
        var rows = history.map(function (h) {
          return '<tr><td>' + WG.esc((h.at || '').replace('T', ' ').slice(0, 16)) + '</td><td>' +
            WG.esc(WG.t('action.' + h.action)) + '</td><td>' + WG.esc(h.actor) + '</td><td>' +
            WG.esc(h.to_status ? WG.t('status.' + h.to_status) : '') + '</td><td>' +
            WG.esc(h.note || '') + '</td></tr>';
        }).join('');
        var actions = actionsFor(p.status, data);
        var canDispatch = actions.indexOf('dispatch') >= 0;
        var commanding = ctx.role === 'admin' || ctx.role === 'commander';
        var buttons = actions.filter(function (a) { return a !== 'dispatch'; }).map(function (a) {
          return '<button type="button" class="btn btn-sm btn-primary wg-act" data-action="' +
            WG.esc(a) + '" data-i18n="action.' + WG.esc(a) + '"></button>';
        }).join(' ');
        var people = '';
        if (canDispatch) {
          people = '<div class="wg-row wg-dispatch"><select id="d-assignee" ' +
            'data-testid="dispatch-assignee" class="form-select form-select-sm">' +
            '<option value="" data-i18n="choose_assignee"></option></select>' +
            '<button type="button" id="d-dispatch" data-testid="dispatch-submit" ' +
            'class="btn btn-sm btn-primary" data-i18n="action.dispatch"></button></div>';
        }
        if (commanding && OPEN.indexOf(p.status) >= 0) {
          people += '<button type="button" id="d-urge" data-testid="urge" ' +
            'class="btn btn-sm btn-warning" data-i18n="urge"></button> ';
        }
        if (commanding && p.status === 'closed') {
          people += '<div class="wg-rating"><button type="button" id="d-rating" ' +
            'data-testid="rating-link" class="btn btn-sm btn-success" data-i18n="rating_link">' +
            '</button> <span id="d-rating-out"></span></div>' +
            '<div class="wg-row wg-followup"><select id="d-fu-score" class="form-select ' +
            'form-select-sm">' + [5, 4, 3, 2, 1].map(function (n) {
              return '<option value="' + n + '">' + n + '</option>';
            }).join('') + '</select><input id="d-fu-comment" class="form-control ' +
            'form-control-sm"><button type="button" id="d-followup" data-testid="follow-up" ' +
            'class="btn btn-sm btn-outline-success" data-i18n="follow_up"></button></div>';
        }
        var assignee = p.assignee ? WG.esc(p.assignee.name) +
          (p.assignee.kind === 'department' ? ' (' + WG.esc(WG.t('department')) + ')' : '') : '';
        box.innerHTML =
          '<div class="wg-panel-title"><span data-i18n="details"></span>' +
          '<button type="button" class="btn-close float-end" id="d-close"></button></div>' +
          '<div class="wg-kv"><b data-i18n="code"></b> <span id="d-code">' + WG.esc(p.code) +
          '</span></div>' +
          '<div class="wg-kv"><b data-i18n="title"></b> ' + WG.esc(p.title) + '</div>' +
          '<div class="wg-kv"><b data-i18n="category"></b> <span data-i18n="category.' +
          WG.esc(p.category) + '"></span></div>' +
          '<div class="wg-kv"><b data-i18n="status"></b> <span id="d-status" data-status="' +
          WG.esc(p.status) + '" data-i18n="status.' + WG.esc(p.status) + '"></span>' +
          (isOverdue(p) ? ' <span class="badge bg-danger" data-i18n="overdue"></span>' : '') +
          '</div>' +
          '<div class="wg-kv"><b data-i18n="reported_at"></b> ' +
          WG.esc((p.reported_at || '').replace('T', ' ').slice(0, 16)) + '</div>' +
          '<div class="wg-kv"><b data-i18n="due_at"></b> ' +
          WG.esc((p.due_at || '').replace('T', ' ').slice(0, 16)) + '</div>' +
          '<div class="wg-kv"><b data-i18n="assignee"></b> <span id="d-assignee-name">' +
          assignee + '</span>' + (p.escalation_level ? ' <span class="badge bg-warning ' +
          'text-dark" data-i18n="escalated_' + WG.esc(p.escalation_level) + '"></span>' : '') +
          '</div>' +
          (data.satisfaction ? '<div class="wg-kv"><b data-i18n="satisfaction"></b> ' +
            '<span id="d-satisfaction">' + WG.esc(data.satisfaction) + '/5</span> ' +
            WG.esc(data.satisfaction_comment || '') + '</div>' : '') +
          '<div class="wg-kv">' + WG.esc(p.description || '') + '</div>' +
          '<div class="wg-panel-title" data-i18n="history"></div>' +
          '<table class="table table-sm wg-history"><tbody>' + rows + '</tbody></table>' +
          (buttons || people ? '<input id="d-note" class="form-control form-control-sm mb-1" ' +
            'placeholder="' + WG.esc(WG.t('note')) + '"><div id="d-actions">' + buttons +
            '</div>' + people : '');
        WG.applyLang(box);
        el('d-close').addEventListener('click', function () { box.hidden = true; });
        box.querySelectorAll('.wg-act').forEach(function (b) {
          b.addEventListener('click', function () {
            box.querySelectorAll('.wg-act').forEach(function (x) { x.disabled = true; });
            var note = el('d-note') ? el('d-note').value : '';
            WG.api(url('transition', id), { method: 'POST',
              body: { action: b.getAttribute('data-action'), note: note,
                      version: p.version } })
              .then(function () { return showDetail(id); })
              .catch(function (err) { WG.fail(err); return showDetail(id); });
          });
        });
        wirePeople(id, box, p);
      }).catch(WG.fail);
    }
    function noteText() { return el('d-note') ? el('d-note').value : ''; }
    function post(path, body) {
      return WG.api(path, { method: 'POST', body: body });
    }
    function wirePeople(id, box, p) {
      var pick = el('d-assignee');
      if (pick) {
        WG.api('/incidents/' + id + '/assignees').then(function (res) {
          res.items.forEach(function (person) {
            var opt = document.createElement('option');
            opt.value = person.kind + ':' + person.id;
            opt.textContent = person.name + ' · ' + (person.kind === 'account'
              ? WG.t('role.' + person.role) : WG.t('dept.' + person.department_kind));
            pick.appendChild(opt);
          });
          pick.setAttribute('data-loaded', String(res.items.length));
        }).catch(WG.fail);
        el('d-dispatch').addEventListener('click', function () {
          var parts = pick.value.split(':');
          if (!pick.value) { WG.toast(WG.t('choose_assignee'), 'error'); return; }
          var body = { action: 'dispatch', note: noteText(), version: p.version };
          body[parts[0] === 'account' ? 'assignee_account_id' : 'assignee_department_id'] =
            Number(parts[1]);
          el('d-dispatch').disabled = true;
          post(url('transition', id), body).then(function () { return showDetail(id); })
            .catch(function (err) { WG.fail(err); return showDetail(id); });
        });
      }
      if (el('d-urge')) {
        el('d-urge').addEventListener('click', function () {
          if (!noteText().trim()) { WG.toast(WG.t('urge_needs_note'), 'error'); return; }
          post('/incidents/' + id + '/urge', { note: noteText() })
            .then(function () { WG.toast(WG.t('urged')); return showDetail(id); })
            .catch(WG.fail);
        });
      }
      if (el('d-rating')) {
        el('d-rating').addEventListener('click', function () {
          post('/incidents/' + id + '/rating-link').then(function (link) {
            var out = el('d-rating-out');
            out.innerHTML = '<a id="d-rating-url" target="_blank" rel="noopener" href="' +
              WG.esc(link.path) + '">' + WG.esc(link.url) + '</a><div id="d-rating-qr" ' +
              'class="wg-qr">' + link.qr_svg + '</div>';
          }).catch(WG.fail);
        });
        el('d-followup').addEventListener('click', function () {
          post('/incidents/' + id + '/follow-up', { score: Number(el('d-fu-score').value),
                                                    comment: el('d-fu-comment').value })
            .then(function () { return showDetail(id); }).catch(WG.fail);
        });
      }
    }
    WG.showIncident = showDetail;

    /* live feed */
    function onFeed(ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      var item = normalize(data);
      if (item.id === undefined || item.id === null) { return; }
      var known = !!S[item.id];
      upsert(item);
      refreshHeat();
      WG.toast(WG.t(known ? 'live_changed' : 'live_new') + ': ' +
               (item.props.title || item.props.code || item.id), 'live');
      var box = el('wg-detail');
      if (!box.hidden && el('d-code') && S[item.id] && el('d-code').textContent ===
          String(S[item.id].props.code)) { showDetail(item.id); }
    }
    function connect() {
      var src = new EventSource(url('feed') + '?access_token=' + encodeURIComponent(WG.token()));
      ['message', 'incident', 'created', 'updated', 'changed', 'transition'].forEach(function (n) {
        src.addEventListener(n, onFeed);
      });
      src.onerror = function () {
        if (WG.expired()) { src.close(); WG.toLogin('expired'); }
      };
      WG.feed = src;
    }
    window.addEventListener('beforeunload', function () { if (WG.feed) { WG.feed.close(); } });

    /* choropleth */
    var RAMP = ['#fff5eb', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'];
    var GOOD = ['#d73027', '#fc8d59', '#fee08b', '#91cf60', '#1a9850'];
    function statsRows(data) {
      var rows = Array.isArray(data) ? data : (data.areas || data.items || data.rows ||
                                                data.results || []);
      var out = {};
      rows.forEach(function (r) {
        var key = r.code || r.area_code || (r.area && r.area.code) || r.id || r.area_id;
        out[key] = r;
        if (r.id !== undefined) { out[r.id] = r; }
        if (r.area_id !== undefined) { out[r.area_id] = r; }
      });
      return out;
    }
    function metric(row, name) {
      if (!row) { return null; }
      var m = row.metrics || row;
      if (name === 'overdue_count') {
        return m.overdue_count !== undefined ? m.overdue_count : (m.overdue || 0);
      }
      return m.disposal_rate !== undefined ? m.disposal_rate : null;
    }
    function choropleth() {
      var v = el('f-choropleth').value;
      layers.choropleth.clearLayers();
      var old = WG.loaded['legend:choropleth'];
      if (old) { map.removeControl(old); delete WG.loaded['legend:choropleth']; }
      if (!v) { return Promise.resolve(); }
      var level = v.split(':')[0];
      var name = v.split(':')[1];
      var since = readFilters().since;
      var q = { level: level };
      if (since) { q.start = since.toISOString(); }
      var coll = level === 'grid' ? 'grids' : 'communities';
      var params = { limit: 10000 };
      if (ctx.bbox) { params.bbox = ctx.bbox.join(','); }
      return Promise.all([WG.api(WG.cfg.endpoints.stats + WG.query(q)), WG.items(coll, params)])
        .then(function (res) {
          var rows = statsRows(res[0]);
          var values = res[1].features.map(function (f) {
            return metric(rows[f.properties.code] || rows[f.id], name);
          }).filter(function (x) { return x !== null && x !== undefined; });
          var max = Math.max.apply(null, values.concat([name === 'disposal_rate' ? 1 : 1]));
          var ramp = name === 'disposal_rate' ? GOOD : RAMP;
          var breaks = [0, 1, 2, 3, 4].map(function (i) { return max * i / 5; });
          function colour(x) {
            if (x === null || x === undefined) { return '#cccccc'; }
            var i = 0;
            while (i < 4 && x > breaks[i + 1]) { i += 1; }
            return ramp[i];
          }
          L.geoJSON(res[1], {
            style: function (f) {
              var x = metric(rows[f.properties.code] || rows[f.id], name);
              return { color: '#555', weight: 1, fillColor: colour(x), fillOpacity: 0.55 };
            },
            onEachFeature: function (f, lyr) {
              var x = metric(rows[f.properties.code] || rows[f.id], name);
              lyr.bindTooltip(WG.esc(f.properties.name || f.properties.code) + ': ' +
                (x === null ? '-' : (name === 'disposal_rate' ? Math.round(x * 100) + '%' : x)));
            }
          }).addTo(layers.choropleth);
          WG.legend(map, 'choropleth', name, ramp.map(function (c, i) {
            var a = breaks[i];
            var b = i < 4 ? breaks[i + 1] : max;
            var fmt = name === 'disposal_rate' ? function (x) { return Math.round(x * 100) + '%'; }
              : function (x) { return Math.round(x); };
            return { color: c, text: fmt(a) + ' – ' + fmt(b) };
          }).concat([{ color: '#cccccc', text: '–' }]), 'bottomleft');
        });
    }
    el('f-choropleth').addEventListener('change', function () { choropleth().catch(WG.fail); });

    WG.onLang.push(function () { legends(); });
    return load().then(function () {
      connect();
      if (WG.situation) { WG.situation(map, layers, ctx); }  // live layers (situation.js)
    });
  };
})();
