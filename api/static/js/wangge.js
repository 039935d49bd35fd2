/* Wangge map pages: token handling, API calls, labels, legends and the shared tile styles. */
(function () {
  'use strict';
  var CFG = window.WG_CONFIG || {};
  var TOKEN = 'wangge_token';
  var LANG = 'wangge_lang';
  var WG = window.WG = { cfg: CFG, pages: {}, onLang: [], loaded: {} };

  /* ---- labels --------------------------------------------------------------------------- */
  WG.lang = localStorage.getItem(LANG) || CFG.lang || 'zh-CN';
  WG.t = function (key) {
    var own = (CFG.labels || {})[WG.lang] || {};
    var en = (CFG.labels || {}).en || {};
    return own[key] !== undefined ? own[key] : (en[key] !== undefined ? en[key] : key);
  };
  WG.applyLang = function (root) {
    (root || document).querySelectorAll('[data-i18n]').forEach(function (el) {
      el.textContent = WG.t(el.getAttribute('data-i18n'));
    });
    document.documentElement.lang = WG.lang;
    if (!root) { WG.onLang.forEach(function (fn) { fn(); }); }
  };
  WG.toggleLang = function () {
    WG.lang = WG.lang === 'en' ? 'zh-CN' : 'en';
    localStorage.setItem(LANG, WG.lang);
    WG.loadFonts(WG.lang).then(function () { WG.applyLang(); });
  };

  /* ---- fonts ---------------------------------------------------------------------------- */
  /* Noto Sans SC comes in unicode-range chunks, and a browser fetches a chunk only when text
     that needs it is laid out. Text that appears later (the login alert, a toast, a message)
     would first be drawn in a fallback font: empty boxes on a machine with no CJK font, and
     Chromium keeps those boxes even after the chunk arrives when the text was laid out while
     hidden. So no label text is set before the chunks of all the page's labels in the current
     language are in (WG.fontsReady, at most FONT_WAIT_MS): the pages fill their labels and
     build their panels only then, and a language switch loads the other language's chunks
     before it applies. */
  var FONT = '16px "Noto Sans SC"';
  var FONT_WAIT_MS = 5000;
  WG.labelText = function (lang) {
    var own = (CFG.labels || {})[lang] || {};
    var seen = {};
    Object.keys(own).forEach(function (k) {
      String(own[k]).split('').forEach(function (ch) { seen[ch] = true; });
    });
    return Object.keys(seen).join('');
  };
  WG.loadFontsFor = function (text) {
    if (!document.fonts || !document.fonts.load) { return Promise.resolve(); }
    var load = document.fonts.load(FONT, text || 'a').catch(function () {});
    var limit = new Promise(function (resolve) { setTimeout(resolve, FONT_WAIT_MS); });
    return Promise.race([load, limit]);
  };
  WG.loadFonts = function (lang) { return WG.loadFontsFor(WG.labelText(lang)); };
  WG.fontsReady = WG.loadFonts(WG.lang);
  WG.esc = function (value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/[&<>"']/g, function (c) {
        return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
      });
  };

  /* ---- token ---------------------------------------------------------------------------- */
  WG.token = function () { return localStorage.getItem(TOKEN); };
  WG.claims = function () {
    var tok = WG.token();
    if (!tok) { return null; }
    try {
      var part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part));
    } catch (e) { return null; }
  };
  WG.expired = function () {
    var c = WG.claims();
    return !c || !c.exp || c.exp * 1000 <= Date.now();
  };
  WG.setToken = function (tok) {
    localStorage.setItem(TOKEN, tok);
    document.cookie = TOKEN + '=' + tok + '; path=/; SameSite=Strict';
  };
  WG.clearToken = function () {
    localStorage.removeItem(TOKEN);
    document.cookie = TOKEN + '=; path=/; max-age=0; SameSite=Strict';
  };
  WG.toLogin = function (reason) {
    if (WG.redirecting === 'done') { return; }
    WG.redirecting = 'done';
    WG.clearToken();
    location.replace('/login?reason=' + encodeURIComponent(reason || 'required') +
                     '&next=' + encodeURIComponent(location.pathname));
  };
  // A page opened without a live token goes to the login before the map asks for anything.
  if (CFG.page && CFG.page !== 'login' && WG.expired()) {
    WG.redirecting = true;
    WG.toLogin(WG.token() ? 'expired' : 'required');
  }

  /* ---- API ------------------------------------------------------------------------------ */
  WG.authHeaders = function () { return { Authorization: 'Bearer ' + WG.token() }; };
  WG.readPaths = {};  // GET paths read so far (the worker app caches them for offline use)
  WG.api = function (path, opts) {
    opts = opts || {};
    if (!opts.method || opts.method === 'GET') { WG.readPaths[path] = true; }
    var headers = Object.assign({ Accept: 'application/json' }, opts.headers || {},
                                WG.authHeaders());
    var body = opts.body;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof FormData)) {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    return fetch(path, { method: opts.method || 'GET', headers: headers, body: body })
      .then(function (r) {
        if (r.status === 401) {
          WG.toLogin('expired');
          throw new Error(WG.t('session_expired'));
        }
        var ct = r.headers.get('content-type') || '';
        var parsed = ct.indexOf('json') >= 0 ? r.json() : r.text();
        return parsed.then(function (data) {
          if (!r.ok) {
            var err = new Error((data && (data.detail || data.title)) || r.statusText);
            err.status = r.status;
            err.body = data;
            throw err;
          }
          return data;
        });
      });
  };
  WG.query = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== '') {
        parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
      }
    });
    return parts.length ? '?' + parts.join('&') : '';
  };
  /* Every feature of an OGC API items request, following the next links. */
  WG.items = function (collection, params, maxPages) {
    var features = [];
    var pages = 0;
    function get(url) {
      return WG.api(url, { headers: { Accept: 'application/geo+json' } }).then(function (fc) {
        features = features.concat(fc.features || []);
        pages += 1;
        var next = (fc.links || []).filter(function (l) { return l.rel === 'next'; })[0];
        if (next && pages < (maxPages || 20)) {
          var u = new URL(next.href, location.href);
          return get(u.pathname + u.search);
        }
        return { type: 'FeatureCollection', features: features };
      });
    }
    return get('/collections/' + collection + '/items' + WG.query(params));
  };

  /* ---- messages ------------------------------------------------------------------------- */
  WG.toast = function (text, kind) {
    var el = document.getElementById('wg-toast');
    if (!el) { return; }
    el.textContent = text;
    el.className = 'wg-toast wg-toast-' + (kind || 'info');
    el.hidden = false;
    clearTimeout(WG._toastTimer);
    WG._toastTimer = setTimeout(function () { el.hidden = true; }, 4000);
  };
  WG.message = function (key) {
    var el = document.getElementById('wg-message');
    el.setAttribute('data-i18n', key);
    el.textContent = WG.t(key);
    el.hidden = false;
  };
  WG.fail = function (err) {
    if (WG.redirecting) { return; }
    WG.toast(WG.t('error') + ': ' + (err && err.message ? err.message : err), 'error');
  };

  /* ---- legends -------------------------------------------------------------------------- */
  /* A legend control; items are [{color, key|text, shape}] (shape: box, line, dot). */
  WG.legend = function (map, id, titleKey, items, position) {
    var existing = WG.loaded['legend:' + id];
    if (existing) { map.removeControl(existing); }
    var ctl = L.control({ position: position || 'bottomright' });
    ctl.onAdd = function () {
      var div = L.DomUtil.create('div', 'wg-legend');
      div.id = 'legend-' + id;
      var html = '<div class="wg-legend-title" data-i18n="' + titleKey + '">' +
        WG.esc(WG.t(titleKey)) + '</div>';
      items.forEach(function (it) {
        var label = it.key ? '<span data-i18n="' + it.key + '">' + WG.esc(WG.t(it.key)) +
          '</span>' : '<span>' + WG.esc(it.text) + '</span>';
        html += '<div class="wg-legend-row"><i class="wg-sw wg-sw-' + (it.shape || 'box') +
          '" style="--c:' + it.color + '"></i>' + label + '</div>';
      });
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    ctl.addTo(map);
    WG.loaded['legend:' + id] = ctl;
    return ctl;
  };

  /* ---- colours -------------------------------------------------------------------------- */
  WG.STATUS_COLORS = {
    reported: '#e6194b', accepted: '#f58231', rejected: '#9e9e9e', dispatched: '#ffb300',
    in_progress: '#4363d8', resolved: '#3cb44b', verified: '#2e7d32', closed: '#607d8b'
  };
  WG.LEVEL_STYLES = {
    streets: { color: '#6a1b9a', weight: 3, fill: false },
    communities: { color: '#1565c0', weight: 2, fill: false },
    grids: { color: '#00897b', weight: 1.2, fill: false },
    'micro-grids': { color: '#8d6e63', weight: 0.6, dashArray: '3 3', fill: false }
  };
  WG.BOUND_COLORS = { under: '#42a5f5', within: '#66bb6a', over: '#ef5350' };
  WG.boundState = function (level, households) {
    var b = (CFG.bounds || {})[level];
    if (!b || households === undefined || households === null) { return 'within'; }
    return households < b[0] ? 'under' : (households > b[1] ? 'over' : 'within');
  };

  /* ---- vector tiles --------------------------------------------------------------------- */
  WG.styleFor = function (layer) {
    var style = WG.LEVEL_STYLES[layer] || { color: '#555', weight: 1 };
    return function () { return style; };
  };
  /* Options for one of our tile layers: bearer token, SVG features, a style for any layer name. */
  WG.tileOptions = function (layer) {
    var styleFn = function (props, z) { return WG.styleFor(layer)(props, z); };
    var opts = {
      rendererFactory: L.svg.tile,
      interactive: CFG.page === 'planner' && layer === 'grids',
      pane: 'wg-' + layer,
      maxNativeZoom: 18,
      maxZoom: 22,
      getFeatureId: function (f) { return f.properties.code || f.id; },
      vectorTileLayerStyles: new Proxy({}, { get: function () { return styleFn; } }),
      fetchOptions: { headers: WG.authHeaders() }
    };
    if (WG.redirecting) { opts.minZoom = 99; }
    return opts;
  };
  WG.makePanes = function (map, names, base) {
    names.forEach(function (name, i) {
      var pane = map.createPane('wg-' + name);
      pane.style.zIndex = String((base || 400) + i);
    });
  };

  /* ---- offline basemap ------------------------------------------------------------------ */
  /* The `basemap` tile layer (an imported OSM extract, or the demo district's own roads and
     buildings) under our layers, with place labels from /basemap/labels; used by every map page
     unless WANGGE_BASEMAP_URL names a raster basemap instead. */
  var ROAD_WIDTH = { motorway: 3, trunk: 3, primary: 2.5, secondary: 2, tertiary: 1.6 };
  var ROAD_COLOR = { motorway: '#e892a2', trunk: '#f9b29c', primary: '#fcd6a4',
                     secondary: '#f7fabf' };
  WG.basemapStyle = function (p, z) {
    var grow = Math.max(0.6, (z - 11) / 3);
    switch (p.kind) {
      case 'landuse':
        return { fill: true, fillColor: '#ebe7df', fillOpacity: 1, stroke: false };
      case 'park':
        return { fill: true, fillColor: '#cdebb0', fillOpacity: 1, stroke: false };
      case 'water':
        return { fill: true, fillColor: '#aad3df', fillOpacity: 1, color: '#aad3df',
                 weight: 1.5 * grow };
      case 'building':
        return { fill: true, fillColor: '#d9d0c9', fillOpacity: 1, color: '#c4b6ab',
                 weight: 0.5 };
      case 'railway':
        return { color: '#9a9a9a', weight: 1.2 * grow, dashArray: '4 3' };
      case 'road':
        return { color: ROAD_COLOR[p['class']] || '#ffffff',
                 weight: (ROAD_WIDTH[p['class']] || 1.2) * grow, opacity: 1 };
      default:
        return [];  // places are labels (WG.basemapLabels), not dots
    }
  };
  WG.basemapLabels = function (map) {
    var group = L.layerGroup([], { pane: 'wg-basemap-labels' }).addTo(map);
    var seq = 0;
    function refresh() {
      var b = map.getBounds();
      var z = Math.round(map.getZoom());
      var mine = ++seq;
      if (z < 8) { group.clearLayers(); return; }
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v, i) {
        var lim = i % 2 ? 85 : 180;
        return Math.max(-lim, Math.min(lim, v)).toFixed(6);
      }).join(',');
      WG.api('/basemap/labels' + WG.query({ bbox: bbox, zoom: z })).then(function (fc) {
        var text = fc.features.map(function (f) { return f.properties.name; }).join('');
        return WG.loadFontsFor(text).then(function () { return fc; });
      }).then(function (fc) {
        if (mine !== seq) { return; }
        group.clearLayers();
        fc.features.forEach(function (f) {
          var c = f.geometry.coordinates;
          L.marker([c[1], c[0]], {
            pane: 'wg-basemap-labels', interactive: false, keyboard: false,
            icon: L.divIcon({ className: 'wg-place wg-place-' + f.properties['class'],
                              html: '<span>' + WG.esc(f.properties.name) + '</span>',
                              iconSize: null })
          }).addTo(group);
        });
      }).catch(function () { /* labels are decoration: a failed fetch leaves none */ });
    }
    map.on('moveend', refresh);
    refresh();
    return group;
  };
  WG.addBasemap = function (map) {
    if (CFG.basemap) { return null; }  // a raster basemap (WANGGE_BASEMAP_URL) is on the map
    map.createPane('wg-basemap').style.zIndex = '150';
    map.createPane('wg-basemap-labels').style.zIndex = '390';
    map.getContainer().classList.add('wg-has-basemap');
    var layer = L.vectorGrid.protobuf('/tiles/basemap/{z}/{x}/{y}.pbf', {
      rendererFactory: L.svg.tile,
      interactive: false,
      pane: 'wg-basemap',
      minZoom: 8,
      maxNativeZoom: 18,
      maxZoom: 22,
      vectorTileLayerStyles: { basemap: WG.basemapStyle },
      fetchOptions: { headers: WG.authHeaders() }
    }).addTo(map);
    WG.basemap = { tiles: layer, labels: WG.basemapLabels(map) };
    return WG.basemap;
  };

  /* ---- page chrome ---------------------------------------------------------------------- */
  WG.chrome = function (ctx) {
    var user = document.getElementById('wg-user');
    if (user && ctx) { user.textContent = ctx.username + ' · ' + ctx.role; }
    var lang = document.getElementById('wg-lang');
    if (lang) { lang.addEventListener('click', WG.toggleLang); }
    var out = document.getElementById('wg-logout');
    if (out) {
      out.addEventListener('click', function () {
        WG.clearToken();
        location.assign('/login?next=' + encodeURIComponent(location.pathname));
      });
    }
  };
  WG.fitBbox = function (map, bbox, maxZoom) {
    if (!bbox) { return; }
    map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]],
                  { maxZoom: maxZoom || 18, padding: [10, 10] });
  };

  /* Called by the folium map script: the map and the page's named layers exist now. */
  WG.start = function (map, layers) {
    WG.map = map;
    WG.layers = layers;
    if (WG.redirecting) { return; }
    WG.makePanes(map, ['streets', 'communities', 'grids', 'micro-grids'], 410);
    WG.addBasemap(map);
    Promise.all([WG.api('/map/context'), WG.fontsReady]).then(function (got) {
      var ctx = got[0];
      WG.applyLang();
      WG.ctx = ctx;
      WG.chrome(ctx);
      return WG.pages[CFG.page](map, layers, ctx);
    }).then(function () {
      WG.ready = true;
      document.body.setAttribute('data-ready', '1');
    }).catch(WG.fail);
  };

  /* Adds the named tile layers to the map (they start hidden, so nothing loads before). */
  WG.showTiles = function (map, layers, names) {
    names.forEach(function (name) { if (layers[name]) { map.addLayer(layers[name]); } });
  };

  /* ---- login page ----------------------------------------------------------------------- */
  WG.startLogin = function () {
    WG.fontsReady.then(WG.showLogin);
  };
  WG.showLogin = function () {
    WG.applyLang();
    var params = new URLSearchParams(location.search);
    var reason = params.get('reason');
    var msg = document.getElementById('wg-login-msg');
    if (reason) {
      msg.setAttribute('data-i18n', reason === 'expired' ? 'session_expired' : 'login_required');
      msg.textContent = WG.t(msg.getAttribute('data-i18n'));
      msg.hidden = false;
    }
    document.getElementById('wg-lang').addEventListener('click', WG.toggleLang);
    document.getElementById('wg-login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var form = new FormData(ev.target);
      var body = new URLSearchParams();
      body.set('username', form.get('username'));
      body.set('password', form.get('password'));
      fetch('/auth/token', { method: 'POST', body: body }).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) { throw new Error('login_failed'); }
          WG.setToken(data.access_token);
          var next = params.get('next') || '';
          if (!/^\/(map(\/(me|plan))?|stats(\/report)?|admin\/people|account)$/.test(next)) {
            next = { worker: '/map/me', planner: '/map/plan' }[data.role] || '/map';
          }
          location.assign(next);
        });
      }).catch(function () {
        msg.setAttribute('data-i18n', 'login_failed');
        msg.textContent = WG.t('login_failed');
        msg.hidden = false;
      });
    });
  };
})();
