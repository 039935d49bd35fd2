/* Command map (/map), the live situation: workers' last positions (polled every second),
   micro-grids not patrolled in a period, staffing gaps (layer and table), and a click on any
   area for its people, open cases and rates. Admins and commanders only. */
(function () {
  'use strict';
  var WG = window.WG;
  var WATCH = ['admin', 'commander'];
  var POLL_MS = 1000;
  var STAFF_STYLE = {
    grids_without_full_time: { color: '#ef6c00', weight: 2, dashArray: '6 4',
                               fillColor: '#ffb74d', fillOpacity: 0.25 },
    micro_grids_without_leader: { color: '#6a1b9a', weight: 1.5, fillColor: '#ba68c8',
                                  fillOpacity: 0.25 }
  };

  function hhmm(t) {
    var d = new Date(t);
    return isNaN(d) ? '' : d.toLocaleTimeString(WG.lang === 'en' ? 'en-GB' : 'zh-CN',
                                                { hour12: false });
  }
  function day(t) { return t ? String(t).replace('T', ' ').slice(0, 16) : ''; }
  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; }
  function people(list) {
    if (!list || !list.length) { return '<i data-i18n="none_found">' + WG.t('none_found') + '</i>'; }
    return list.map(function (p) {
      return '<span class="wg-person" data-worker-id="' + WG.esc(p.worker_id) + '">' +
        WG.esc(p.name) + ' <small data-i18n="role.' + WG.esc(p.role) + '">' +
        WG.esc(WG.t('role.' + p.role)) + '</small></span>';
    }).join(', ');
  }

  WG.situation = function (map, layers, ctx) {
    var el = function (id) { return document.getElementById(id); };
    var panel = el('wg-situation');
    if (WATCH.indexOf(ctx.role) < 0) { panel.hidden = true; return; }
    WG.applyLang(panel);
    var ep = WG.cfg.endpoints;
    var S = WG.live = { positions: [], unpatrolled: [], staffing: null };

    /* ---- live positions ---------------------------------------------------------------- */
    var live = L.layerGroup().addTo(map);
    function drawLive(positions) {
      S.positions = positions;
      live.clearLayers();
      var list = el('live-positions');
      list.innerHTML = positions.length ? positions.map(function (p) {
        return '<li data-worker-id="' + WG.esc(p.worker_id) + '" data-t="' + WG.esc(p.t) +
          '"><b>' + WG.esc(p.name) + '</b> · ' + WG.esc(hhmm(p.t)) + '</li>';
      }).join('') : '<li class="wg-none" data-i18n="live.none">' + WG.esc(WG.t('live.none')) +
        '</li>';
      positions.forEach(function (p) {
        L.circleMarker([p.lat, p.lon], { radius: 7, color: '#0d47a1', weight: 2,
                                         fillColor: '#42a5f5', fillOpacity: 0.9,
                                         className: 'wg-live-pos' })
          .bindTooltip(WG.esc(p.name) + ' · ' + WG.esc(hhmm(p.t))).addTo(live);
      });
    }
    function poll() {
      var next = function () { S.timer = setTimeout(poll, POLL_MS); };
      if (document.hidden) { next(); return; }
      WG.api(ep.live_positions).then(function (data) { drawLive(data.positions); })
        .catch(function (err) { if (err && err.status === 403) { return; } })
        .then(next);
    }
    poll();

    /* ---- period ------------------------------------------------------------------------ */
    function period() {
      var days = +el('f-unpatrolled-days').value || 7;
      var end = new Date();
      return { start: new Date(end.getTime() - days * 86400000).toISOString(),
               end: end.toISOString() };
    }

    /* ---- unpatrolled micro-grids -------------------------------------------------------- */
    var unpatrolled = L.geoJSON(null, {
      style: { color: '#c62828', weight: 1, fillColor: '#ef5350', fillOpacity: 0.35 },
      bubblingMouseEvents: false,
      onEachFeature: function (f, lyr) {
        var p = f.properties;
        lyr.bindPopup(function () {
          return '<div class="wg-popup" data-code="' + WG.esc(p.code) + '"><b>' +
            WG.esc(p.name || p.code) + '</b> <small>' + WG.esc(p.code) + '</small><br>' +
            '<span data-i18n="assignees">' + WG.t('assignees') + '</span>: ' +
            people(p.assignees) + '<br><span>' + WG.t('grid_assignees') + '</span>: ' +
            people(p.grid_assignees) + '<br><span>' + WG.t('unpatrolled.last') + '</span>: ' +
            '<span class="wg-last">' + WG.esc(p.last_patrol ? day(p.last_patrol)
                                              : WG.t('unpatrolled.never')) + '</span></div>';
        });
      }
    });
    function loadUnpatrolled() {
      return WG.api(ep.unpatrolled + WG.query(period())).then(function (fc) {
        unpatrolled.clearLayers();
        S.unpatrolled = fc.features.map(function (f) { return f.properties.code; });
        unpatrolled.addData(fc);
        if (!map.hasLayer(unpatrolled)) { unpatrolled.addTo(map); }
        unpatrolled.eachLayer(function (l) {
          if (l._path) { l._path.setAttribute('data-unpatrolled', l.feature.properties.code); }
        });
        el('unpatrolled-count').textContent = String(fc.features.length);
        el('f-unpatrolled').setAttribute('data-count', String(fc.features.length));
      });
    }
    el('f-unpatrolled').addEventListener('change', function (ev) {
      if (ev.target.checked) { loadUnpatrolled().catch(WG.fail); } else {
        map.removeLayer(unpatrolled);
        el('unpatrolled-count').textContent = '';
        ev.target.removeAttribute('data-count');
      }
    });
    el('f-unpatrolled-days').addEventListener('change', function () {
      if (el('f-unpatrolled').checked) { loadUnpatrolled().catch(WG.fail); }
    });

    /* ---- staffing ------------------------------------------------------------------------ */
    var staffing = L.geoJSON(null, {
      style: function (f) { return STAFF_STYLE[f.properties.kind === 'grid_without_full_time'
        ? 'grids_without_full_time' : 'micro_grids_without_leader']; },
      bubblingMouseEvents: false,
      onEachFeature: function (f, lyr) {
        var p = f.properties;
        lyr.bindPopup(function () {
          var key = p.kind === 'grid_without_full_time' ? 'staffing.grids_without_full_time'
            : 'staffing.micro_grids_without_leader';
          return '<div class="wg-popup"><b>' + WG.esc(p.name || p.code) + '</b> <small>' +
            WG.esc(p.code) + '</small><br>' + WG.esc(WG.t(key)) + '<br>' +
            WG.t('assignees') + ': ' + people(p.assignees) + '</div>';
        });
      }
    });
    function staffingTable(data) {
      function section(key, rows, fmt) {
        return '<div class="wg-panel-title" data-section="' + key + '"><span data-i18n="staffing.' +
          key + '">' + WG.esc(WG.t('staffing.' + key)) + '</span> <span class="badge ' +
          'bg-secondary">' + rows.length + '</span></div><ul data-list="' + key + '">' +
          rows.slice(0, 50).map(function (r) { return '<li>' + fmt(r) + '</li>'; }).join('') +
          '</ul>';
      }
      var area = function (f) {
        return '<span data-code="' + WG.esc(f.properties.code) + '">' +
          WG.esc(f.properties.name || f.properties.code) + '</span>';
      };
      return section('grids_without_full_time', data.grids_without_full_time, area) +
        section('micro_grids_without_leader', data.micro_grids_without_leader, area) +
        section('ending_soon', data.ending_soon, function (a) {
          return '<span data-assignment="' + WG.esc(a.assignment_id) + '">' + WG.esc(a.name) +
            '</span> · ' + WG.esc(WG.t('role.' + a.role)) + ' · ' + WG.esc(a.code) + ' · ' +
            WG.esc(a.ends_on);
        }) +
        section('workers_without_area', data.workers_without_area, function (w) {
          return '<span data-worker-id="' + WG.esc(w.worker_id) + '">' + WG.esc(w.name) +
            '</span>';
        });
    }
    function loadStaffing() {
      return WG.api(ep.staffing).then(function (data) {
        S.staffing = data;
        staffing.clearLayers();
        staffing.addData({ type: 'FeatureCollection',
          features: data.grids_without_full_time.concat(data.micro_grids_without_leader) });
        if (!map.hasLayer(staffing)) { staffing.addTo(map); }
        staffing.eachLayer(function (l) {
          if (l._path) { l._path.setAttribute('data-staffing', l.feature.properties.kind); }
        });
        var box = el('staffing-table');
        box.innerHTML = staffingTable(data);
        box.hidden = false;
      });
    }
    el('f-staffing').addEventListener('change', function (ev) {
      if (ev.target.checked) { loadStaffing().catch(WG.fail); } else {
        map.removeLayer(staffing);
        el('staffing-table').hidden = true;
      }
    });

    /* ---- one area: people, open cases, rates --------------------------------------------- */
    function showArea(code, areas) {
      var box = el('wg-area');
      box.hidden = false;
      return WG.api(ep.area.replace('{id}', encodeURIComponent(code)) + WG.query(period()))
        .then(function (a) {
          var tabs = (areas || []).map(function (x) {
            return '<button type="button" class="btn btn-sm ' + (x.code === code ? 'btn-primary'
              : 'btn-light') + ' wg-area-tab" data-code="' + WG.esc(x.code) + '" data-i18n="level.' +
              x.level + '"></button>';
          }).join(' ');
          var st = a.stats || {};
          var rates = ['disposal_rate', 'on_time_rate', 'response_rate', 'satisfaction_rate']
            .map(function (k) {
              return '<tr><td data-i18n="series.' + k + '"></td><td data-rate="' + k + '">' +
                pct(st[k]) + '</td></tr>';
            }).join('') + '<tr><td data-i18n="series.patrol_rate"></td><td data-rate=' +
            '"patrol_rate">' + pct(st.patrol ? st.patrol.rate : null) + '</td></tr>';
          box.setAttribute('data-code', a.code);
          box.innerHTML = '<div class="wg-panel-title"><span>' + WG.esc(a.name || a.code) +
            '</span> <small>' + WG.esc(a.code) + '</small><button type="button" ' +
            'class="btn-close float-end" id="a-close"></button></div><div>' + tabs + '</div>' +
            '<div class="wg-panel-title" data-i18n="area.people"></div><div id="a-people">' +
            people(a.people) + '</div><div class="wg-panel-title"><span data-i18n=' +
            '"area.open_cases"></span> <span class="badge bg-warning text-dark" id="a-open">' +
            a.open_count + '</span></div><ul class="wg-open">' +
            a.open_cases.slice(0, 10).map(function (c) {
              return '<li data-id="' + WG.esc(c.id) + '">' + WG.esc(c.code) + ' · <span ' +
                'data-i18n="category.' + WG.esc(c.category) + '"></span> · <span data-i18n=' +
                '"status.' + WG.esc(c.status) + '"></span></li>';
            }).join('') + '</ul><div class="wg-panel-title" data-i18n="area.rates"></div>' +
            '<table class="table table-sm"><tbody>' + rates + '</tbody></table>';
          WG.applyLang(box);
          el('a-close').addEventListener('click', function () { box.hidden = true; });
          box.querySelectorAll('.wg-area-tab').forEach(function (b) {
            b.addEventListener('click', function () {
              showArea(b.getAttribute('data-code'), areas).catch(WG.fail);
            });
          });
          box.querySelectorAll('.wg-open li').forEach(function (li) {
            li.addEventListener('click', function () {
              if (WG.showIncident) { WG.showIncident(li.getAttribute('data-id')); }
            });
          });
        });
    }
    WG.showArea = showArea;
    map.on('click', function (ev) {
      var q = { lon: ev.latlng.lng.toFixed(7), lat: ev.latlng.lat.toFixed(7) };
      WG.api(ep.areas_at + WG.query(q)).then(function (data) {
        var areas = data.areas;
        if (!areas.length) { return null; }
        var pick = areas.filter(function (a) { return a.level === 'grid'; })[0] ||
          areas[areas.length - 1];
        return showArea(pick.code, areas);
      }).catch(WG.fail);
    });
    WG.onLang.push(function () {
      drawLive(S.positions);
      if (S.staffing && !el('staffing-table').hidden) {
        el('staffing-table').innerHTML = staffingTable(S.staffing);
      }
    });
  };
})();
