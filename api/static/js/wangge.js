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
    WG.applyLang();
  };
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
    WG.applyLang();
    if (WG.redirecting) { return; }
    WG.makePanes(map, ['streets', 'communities', 'grids', 'micro-grids'], 410);
    WG.api('/map/context').then(function (ctx) {
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
          if (!/^\/(map(\/(me|plan))?|admin\/people)$/.test(next)) {
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
