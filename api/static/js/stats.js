/* Statistics page (/stats) and printable month report (/stats/report): GET /stats as a table,
   GET /stats/series as charts (Apache ECharts, SVG renderer), links to the report files. */
(function () {
  'use strict';
  var WG = window.WG;
  var ROLES = ['admin', 'commander', 'planner'];
  var RATES = ['disposal_rate', 'on_time_rate', 'response_rate', 'satisfaction_rate',
               'patrol_rate'];
  var COLORS = ['#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#d62728', '#17becf', '#8c564b'];
  var FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", ' +
    'sans-serif';
  var el = function (id) { return document.getElementById(id); };
  var state = { report: null, series: null, charts: {}, done: 0 };

  /* ---- values ------------------------------------------------------------------------- */
  function cellValue(row, key) {
    if (key === 'satisfaction_mean') { return row.satisfaction.mean; }
    if (key.indexOf('patrol_') === 0) {
      return row.patrol[key.slice(7)];
    }
    return row[key];
  }
  function isRate(key) { return /_rate$/.test(key); }
  function fmt(key, v) {
    if (v === null || v === undefined) { return '–'; }
    if (key === 'name' || key === 'code') { return String(v); }
    if (isRate(key)) { return (v * 100).toFixed(2) + '%'; }
    return String(v);
  }
  function utcDate(d) { return d.toISOString().slice(0, 10); }
  function iso(dateStr) { return dateStr ? dateStr + 'T00:00:00Z' : ''; }

  /* ---- errors (problem documents, in the page's language) ---------------------------- */
  function showError(err) {
    var box = el('s-error');
    var key = err && err.body && err.body.i18n;
    box.setAttribute('data-status', err && err.status ? err.status : '');
    if (key) { box.setAttribute('data-i18n', key); box.textContent = WG.t(key); } else {
      box.removeAttribute('data-i18n');
      box.textContent = WG.t('error') + ': ' + (err && err.message ? err.message : err);
    }
    box.hidden = false;
  }
  function clearError() { el('s-error').hidden = true; el('s-error').textContent = ''; }

  /* ---- table -------------------------------------------------------------------------- */
  function tableHtml(report, columns) {
    var head = '<tr>' + columns.map(function (c) {
      return '<th data-col="' + c + '" data-i18n="col.' + c + '">' + WG.esc(WG.t('col.' + c)) +
        '</th>';
    }).join('') + '</tr>';
    function row(r, total) {
      return '<tr' + (total ? ' class="wg-total" data-total="1"' : ' data-code="' +
        WG.esc(r.code) + '"') + '>' + columns.map(function (c) {
        var v = total && c === 'name' ? WG.t('stats.total') : cellValue(r, c);
        var num = c !== 'name' && c !== 'code';
        return '<td data-col="' + c + '"' + (num ? ' class="num" data-value="' +
          (v === null || v === undefined ? '' : WG.esc(v)) + '"' : '') + '>' +
          WG.esc(fmt(c, v)) + '</td>';
      }).join('') + '</tr>';
    }
    var body = report.areas.map(function (r) { return row(r, false); }).join('') +
      row(report.total, true);
    return { head: head, body: body };
  }
  function renderTable(table, report) {
    var html = tableHtml(report, WG.cfg.columns);
    table.querySelector('thead').innerHTML = html.head;
    table.querySelector('tbody').innerHTML = html.body;
  }

  /* ---- charts ------------------------------------------------------------------------- */
  function chart(id) {
    var node = el(id);
    if (!state.charts[id]) { state.charts[id] = echarts.init(node, null, { renderer: 'svg' }); }
    return state.charts[id];
  }
  function label(s, bucket) {
    var d = String(s.start).slice(0, 10);
    return bucket === 'month' ? d.slice(0, 7) : d;
  }
  function renderCharts(series, bucket, animate) {
    var x = series.map(function (s) { return label(s, bucket); });
    chart('chart-counts').setOption({
      animation: !!animate, color: COLORS, textStyle: { fontFamily: FONT }, tooltip: { trigger: 'axis' },
      legend: { top: 0 }, grid: { left: 40, right: 10, top: 30, bottom: 24 },
      xAxis: { type: 'category', data: x }, yAxis: { type: 'value', minInterval: 1 },
      series: ['reports', 'closures'].map(function (k) {
        return { name: WG.t('series.' + k), type: 'bar',
                 data: series.map(function (s) { return s[k]; }) };
      })
    }, true);
    chart('chart-rates').setOption({
      animation: !!animate, color: COLORS.slice(2), textStyle: { fontFamily: FONT }, tooltip: { trigger: 'axis' },
      legend: { top: 0 }, grid: { left: 40, right: 10, top: 50, bottom: 24 },
      xAxis: { type: 'category', data: x },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: RATES.map(function (k) {
        return { name: WG.t('series.' + k), type: 'line', connectNulls: false,
                 data: series.map(function (s) {
                   return s[k] === null ? null : Math.round(s[k] * 10000) / 100;
                 }) };
      })
    }, true);
    document.querySelectorAll('[data-testid="stats-chart"]').forEach(function (n) {
      n.setAttribute('data-points', String(series.length));
    });
  }
  window.addEventListener('resize', function () {
    Object.keys(state.charts).forEach(function (k) { state.charts[k].resize(); });
  });

  /* ---- the /stats page ---------------------------------------------------------------- */
  function readForm() {
    var cats = Array.prototype.slice.call(
      document.querySelectorAll('input[name=category]:checked')).map(function (i) {
        return i.value;
      });
    return { level: el('s-level').value, start: iso(el('s-start').value),
             end: iso(el('s-end').value), area: el('s-area').value.trim(),
             bucket: el('s-bucket').value, categories: cats };
  }
  function queryString(f, extra) {
    var params = new URLSearchParams();
    ['level', 'start', 'end', 'area'].forEach(function (k) { if (f[k]) { params.set(k, f[k]); } });
    f.categories.forEach(function (c) { params.append('category', c); });
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    return '?' + params.toString();
  }
  function setLinks(f) {
    var ep = WG.cfg.endpoints;
    var lang = WG.lang;
    el('export-csv').href = ep.export + queryString(f, { what: 'table', format: 'csv', lang: lang });
    el('export-xlsx').href = ep.export + queryString(f, { what: 'table', format: 'xlsx',
                                                          lang: lang });
    el('export-cases-csv').href = ep.export + queryString(f, { what: 'cases', format: 'csv',
                                                               lang: lang });
    el('export-cases-xlsx').href = ep.export + queryString(f, { what: 'cases', format: 'xlsx',
                                                                lang: lang });
    setMonthLinks();
  }
  function clearLinks() {
    ['export-csv', 'export-xlsx', 'export-cases-csv', 'export-cases-xlsx'].forEach(function (id) {
      el(id).removeAttribute('href');
    });
  }
  function setMonthLinks() {
    var month = el('s-month').value;
    var area = el('s-area').value.trim();
    var q = '?month=' + encodeURIComponent(month) + (area ? '&area=' + encodeURIComponent(area)
                                                          : '');
    if (!month) { return; }
    el('export-month').href = WG.cfg.endpoints.month_report + q + '&lang=' + WG.lang;
    el('print-month').href = WG.cfg.endpoints.report_page + q;
  }
  function load() {
    var f = readForm();
    var table = el('stats-table');
    table.setAttribute('data-loading', '1');
    clearError();
    var q = queryString(f);
    return Promise.all([
      WG.api(WG.cfg.endpoints.stats + q),
      WG.api(WG.cfg.endpoints.series + queryString(f, { bucket: f.bucket }))
    ]).then(function (res) {
      state.report = res[0];
      state.series = res[1];
      state.form = f;
      renderTable(table, res[0]);
      renderCharts(res[1].series, f.bucket, false);
      setLinks(f);
      table.setAttribute('data-query', q);
      table.removeAttribute('data-loading');
      table.setAttribute('data-loaded', String(Date.now()));
      table.setAttribute('data-done', String(++state.done));
    }).catch(function (err) {
      clearLinks();
      table.removeAttribute('data-loading');
      table.setAttribute('data-failed', String(Date.now()));
      table.setAttribute('data-done', String(++state.done));
      showError(err);
    });
  }
  function prefill() {
    var p = new URLSearchParams(location.search);
    var now = new Date();
    var end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    var start = new Date(end.getTime() - 30 * 86400000);
    el('s-start').value = (p.get('start') || utcDate(start)).slice(0, 10);
    el('s-end').value = (p.get('end') || utcDate(end)).slice(0, 10);
    el('s-level').value = p.get('level') || 'street';
    el('s-bucket').value = p.get('bucket') || 'day';
    el('s-area').value = p.get('area') || '';
    p.getAll('category').forEach(function (c) {
      var box = document.querySelector('input[name=category][value="' + CSS.escape(c) + '"]');
      if (box) { box.checked = true; }
    });
    el('s-month').value = p.get('month') || utcDate(now).slice(0, 7);
  }
  function startStatsPage() {
    prefill();
    el('s-form').addEventListener('submit', function (ev) { ev.preventDefault(); load(); });
    el('s-month').addEventListener('change', setMonthLinks);
    WG.onLang.push(function () {
      if (state.report) { renderTable(el('stats-table'), state.report); }
      if (state.series) { renderCharts(state.series.series, state.form.bucket, false); }
      if (state.form) { setLinks(state.form); }
      var box = el('s-error');
      if (!box.hidden && box.getAttribute('data-i18n')) {
        box.textContent = WG.t(box.getAttribute('data-i18n'));
      }
    });
    return load();
  }

  /* ---- the printable month report ----------------------------------------------------- */
  function startReport() {
    var p = new URLSearchParams(location.search);
    var month = p.get('month') || utcDate(new Date()).slice(0, 7);
    var area = p.get('area') || '';
    el('r-month').textContent = month;
    el('r-generated').textContent = new Date().toISOString().slice(0, 16).replace('T', ' ');
    el('r-print').addEventListener('click', function () { window.print(); });
    var m = /^(\d{4})-(\d{2})$/.exec(month);
    if (!m) { showError({ body: { i18n: 'err.bad_month' }, status: 400 }); return null; }
    var start = new Date(Date.UTC(+m[1], +m[2] - 1, 1));
    var end = new Date(Date.UTC(+m[1], +m[2], 1));
    el('r-period').textContent = utcDate(start) + ' – ' + utcDate(end);
    var base = { start: start.toISOString(), end: end.toISOString(), area: area };
    var levels = WG.cfg.levels.slice(area ? WG.cfg.levels.indexOf(
      { 9: 'street', 12: 'community', 15: 'grid', 18: 'micro_grid' }[area.length]) + 1 : 0);
    var calls = levels.map(function (lv) {
      return WG.api(WG.cfg.endpoints.stats + WG.query(Object.assign({ level: lv }, base)));
    });
    calls.push(WG.api(WG.cfg.endpoints.series + WG.query(Object.assign({ bucket: 'day' },
                                                                         base))));
    function render(res) {
      var series = res[res.length - 1].series;
      var html = '';
      var first = res[0];
      var totalCols = WG.cfg.columns.filter(function (c) { return c !== 'code'; });
      html += '<h2 data-i18n="stats.total">' + WG.esc(WG.t('stats.total')) + '</h2>' +
        '<table class="table table-sm wg-stats-table" data-level="total"><thead></thead>' +
        '<tbody></tbody></table>';
      levels.forEach(function (lv) {
        html += '<h2 data-i18n="level.' + lv + '">' + WG.esc(WG.t('level.' + lv)) + '</h2>' +
          '<table class="table table-sm table-striped wg-stats-table" data-testid="stats-table"' +
          ' data-level="' + lv + '"><thead></thead><tbody></tbody></table>';
      });
      el('r-tables').innerHTML = html;
      var totalTable = document.querySelector('table[data-level="total"]');
      var t = tableHtml({ areas: [], total: first.total }, totalCols);
      totalTable.querySelector('thead').innerHTML = t.head;
      totalTable.querySelector('tbody').innerHTML = t.body;
      levels.forEach(function (lv, i) {
        var tbl = document.querySelector('table[data-level="' + lv + '"]');
        var h = tableHtml(res[i], WG.cfg.columns);
        tbl.querySelector('thead').innerHTML = h.head;
        tbl.querySelector('tbody').innerHTML = h.body;
      });
      renderCharts(series, 'day', false);
    }
    return Promise.all(calls).then(function (res) {
      state.res = res;
      render(res);
      WG.onLang.push(function () { render(state.res); });
    }).catch(showError);
  }

  WG.startStats = function () {
    WG.applyLang();
    if (WG.redirecting) { return; }
    WG.api('/map/context').then(function (ctx) {
      WG.ctx = ctx;
      WG.chrome(ctx);
      if (ROLES.indexOf(ctx.role) < 0) { WG.message('wrong_role'); return null; }
      return WG.cfg.page === 'report' ? startReport() : startStatsPage();
    }).then(function () {
      document.body.setAttribute('data-ready', '1');
    }).catch(WG.fail);
  };
})();
