/* Planner (/map/plan): grids and micro-grids coloured by households against the bounds, a grid's
   split preview from the split engine, and the validation messages of the current boundaries. */
(function () {
  'use strict';
  var WG = window.WG;

  function el(id) { return document.getElementById(id); }

  /* Tile styles: filled by bound state (grids from z12, micro-grids from z14). */
  var baseStyle = WG.styleFor;
  WG.styleFor = function (layer) {
    if (WG.cfg.page !== 'planner' || (layer !== 'grids' && layer !== 'micro-grids')) {
      return baseStyle(layer);
    }
    var level = layer === 'grids' ? 'grid' : 'micro_grid';
    return function (props) {
      var state = WG.boundState(level, props.households);
      if (level === 'grid' && props.kind === 'dedicated') { state = 'within'; }
      var selected = WG.selected && WG.selected.code === props.code;
      return {
        color: selected ? '#ff6f00' : (level === 'grid' ? '#263238' : '#5d4037'),
        weight: selected ? 3 : (level === 'grid' ? 1.6 : 0.6),
        fill: true, fillColor: WG.BOUND_COLORS[state],
        fillOpacity: level === 'grid' ? 0.25 : 0.3,
        className: 'wg-' + level + ' wg-' + state
      };
    };
  };

  WG.pages.planner = function (map, layers, ctx) {
    if (ctx.role !== 'planner' && ctx.role !== 'admin') {
      WG.message('wrong_role');
      el('wg-panel').hidden = true;
      return Promise.resolve();
    }
    /* grids and micro-grids are drawn by the workbench (plan-workbench.js) as live GeoJSON */
    WG.showTiles(map, layers, ['streets', 'communities']);
    WG.fitBbox(map, ctx.bbox, 16);

    function legends() {
      var b = WG.cfg.bounds;
      var rows = [];
      [['grid', 'level.grid'], ['micro_grid', 'level.micro_grid']].forEach(function (lv) {
        var lo = b[lv[0]][0];
        var hi = b[lv[0]][1];
        rows.push({ color: WG.BOUND_COLORS.under,
                    text: WG.t(lv[1]) + ' < ' + lo + ' (' + WG.t('under') + ')' });
        rows.push({ color: WG.BOUND_COLORS.within,
                    text: WG.t(lv[1]) + ' ' + lo + '–' + hi + ' (' + WG.t('within') + ')' });
        rows.push({ color: WG.BOUND_COLORS.over,
                    text: WG.t(lv[1]) + ' > ' + hi + ' (' + WG.t('over') + ')' });
      });
      rows.push({ color: '#ff6f00', key: 'split_preview', shape: 'line' });
      rows.push({ color: '#d50000', key: 'violations', shape: 'line' });
      WG.legend(map, 'bounds', 'bounds_legend', rows);
    }
    legends();
    WG.onLang.push(legends);

    /* selecting a grid and previewing its split */
    el('p-min').value = WG.cfg.bounds.micro_grid[0];
    el('p-max').value = WG.cfg.bounds.micro_grid[1];
    function select(props) {
      WG.selected = { code: props.code, name: props.name, households: props.households };
      var sel = el('p-selected');
      sel.removeAttribute('data-i18n');
      sel.textContent = WG.t('level.grid') + ' ' + (props.name || '') + ' ' + props.code +
        ' · ' + WG.t('households') + ' ' + props.households;
      el('p-preview').disabled = false;
      layers.grids.redraw();
    }
    WG.selectGrid = select;
    function clearPreview() {
      layers.preview.clearLayers();
      el('p-report').innerHTML = '';
    }
    el('p-clear').addEventListener('click', function () {
      clearPreview();
      WG.selected = null;
      el('p-selected').setAttribute('data-i18n', 'select_grid');
      el('p-selected').textContent = WG.t('select_grid');
      el('p-preview').disabled = true;
      layers.grids.redraw();
    });
    /* why a part is out of bounds or thin: one line per reason, in the page's language */
    function whyText(r) {
      return WG.t('why_' + r.code).replace(/\{(\w+)\}/g, function (m, k) {
        var v = r[k];
        return k === 'fill' ? Math.round(100 * v) + '%' : String(v);
      });
    }
    function whyList(why) {
      if (!why.length) { return ''; }
      return '<div class="wg-panel-title" data-i18n="why"></div><ul data-testid="p-why">' +
        why.map(function (r) {
          return '<li data-testid="p-why-item" data-part="' + r.part + '" data-code="' +
            WG.esc(r.code) + '"><span data-i18n="part"></span> ' + r.part + ': ' +
            '<span class="wg-why" data-why="' + WG.esc(JSON.stringify(r)) + '">' +
            WG.esc(whyText(r)) + '</span></li>';
        }).join('') + '</ul>';
    }
    WG.onLang.push(function () {
      document.querySelectorAll('#p-report .wg-why').forEach(function (el) {
        el.textContent = whyText(JSON.parse(el.getAttribute('data-why')));
      });
    });
    function preview() {
      if (!WG.selected) { return Promise.resolve(); }
      el('p-preview').disabled = true;
      clearPreview();
      var body = { code: WG.selected.code, min_households: +el('p-min').value,
                   max_households: +el('p-max').value };
      return WG.api(WG.cfg.endpoints.preview_split, { method: 'POST', body: body })
        .then(function (fc) {
          WG.lastPreview = fc;
          var gj = L.geoJSON(fc, {
            style: function (f) {
              return { color: '#ff6f00', weight: 2, dashArray: '5 4', fillOpacity: 0.35,
                       fillColor: WG.BOUND_COLORS[f.properties.state], className: 'wg-part' };
            },
            onEachFeature: function (f, lyr) {
              lyr.bindTooltip(String(f.properties.households), {
                permanent: true, direction: 'center', className: 'wg-hh' });
            }
          }).addTo(layers.preview);
          map.fitBounds(gj.getBounds(), { paddingTopLeft: [320, 20], paddingBottomRight: [20, 20],
                                          maxZoom: 16 });
          var r = fc.report;
          var issues = r.violations.concat(r.notes);
          el('p-report').innerHTML = '<table class="table table-sm wg-report"><tbody>' +
            '<tr><th data-i18n="parts"></th><td id="p-parts">' + r.parts + '</td></tr>' +
            '<tr><th data-i18n="households"></th><td>' + r.min + '–' + r.max + ' (' +
            r.households + ')</td></tr>' +
            '<tr><th data-i18n="compactness"></th><td>' + r.mean_polsby_popper + ' / ' +
            r.min_polsby_popper + '</td></tr></tbody></table>' +
            (issues.length ? '<div class="wg-panel-title" data-i18n="violations"></div><ul>' +
              issues.map(function (v) { return '<li>' + WG.esc(v) + '</li>'; }).join('') +
              '</ul>' : '') + whyList(r.why || []);
          WG.applyLang(el('p-report'));
        })
        .catch(WG.fail)
        .then(function () { el('p-preview').disabled = false; });
    }
    el('p-preview').addEventListener('click', preview);
    WG.previewSplit = preview;

    /* validation messages */
    function checks() {
      return WG.api(WG.cfg.endpoints.checks).then(function (data) {
        WG.checks = data;
        var box = el('p-validation');
        var items = data.messages.map(function (m, i) {
          var what = m.problem === 'outside_parent' ? WG.t('outside_parent')
            : WG.t(m.problem) + ' (' + m.households + ' ' + WG.t('households') + ')';
          return '<li><a href="#" data-i="' + i + '" class="wg-issue">' +
            WG.esc(WG.t('level.' + m.level)) + ' ' + WG.esc(m.name || '') + ' ' +
            WG.esc(m.code) + '</a>: ' + WG.esc(what) + '</li>';
        });
        if (data.unassigned_buildings) {
          items.push('<li>' + WG.esc(WG.t('unassigned_buildings')) + ': ' +
            data.unassigned_buildings + '</li>');
        }
        box.innerHTML = items.length ? '<div class="wg-count">' + WG.esc(WG.t('violations')) +
          ': ' + (data.total + (data.unassigned_buildings ? 1 : 0)) + '</div><ul>' +
          items.join('') + '</ul>' : '<div class="wg-ok">' + WG.esc(WG.t('valid_ok')) + '</div>';
        layers.issues.clearLayers();
        data.messages.forEach(function (m) {
          L.rectangle([[m.bbox[1], m.bbox[0]], [m.bbox[3], m.bbox[2]]], {
            color: '#d50000', weight: 1.5, fill: false, dashArray: '2 3', interactive: false
          }).addTo(layers.issues);
        });
        box.querySelectorAll('.wg-issue').forEach(function (a) {
          a.addEventListener('click', function (ev) {
            ev.preventDefault();
            WG.fitBbox(map, data.messages[+a.getAttribute('data-i')].bbox, 18);
          });
        });
      });
    }
    WG.planChecks = checks;
    WG.onLang.push(function () { checks().catch(WG.fail); });
    return checks();
  };
})();
