/* Service worker of the grid worker app (/map/me): the app opens and works offline.

   - The app shell (the page, the login page, every script, style, font and icon it loads) is
     cached at install; static files are served from the cache first.
   - Reads of the worker's data (map context, micro-grids, buildings, incidents, tasks, history)
     go to the network first and fall back to the last cached answer when offline.
   - The vector tiles (z14-18) covering the worker's area are cached on the page's request
     ('cache-tiles') and revalidated with their ETags (If-None-Match): an unchanged tile is a 304
     and keeps its cached copy, a boundary edit changes the ETag and replaces it.
   - Writes are never handled here: the page queues them in IndexedDB (wg-queue.js).
   Nothing is cached for another origin; the feed (server-sent events) passes through. */
'use strict';

var VERSION = 'wangge-worker-v1';
var SHELL = 'shell-' + VERSION;
var DATA = 'data-' + VERSION;
var TILES = 'tiles-' + VERSION;
var SHELL_URLS = ['/map/me', '/login', '/map/me/manifest.webmanifest', '/favicon.ico'];
var DATA_PATHS = [/^\/map\/context$/, /^\/map\/me\/(tasks|history|responsible)$/,
                  /^\/collections\/[^/]+\/items/, /^\/incidents(\/\d+(\/photos(\/\d+)?)?)?$/,
                  /^\/incidents\/categories$/, /^\/patrols\/\d+$/];

function assetsOf(html) {
  var urls = [];
  var re = /(?:src|href)="(\/static\/[^"]+)"/g;
  var m;
  while ((m = re.exec(html))) { urls.push(m[1]); }
  return urls;
}

function fontsOf(css) {
  var urls = [];
  var re = /url\(["']?([^"')]+)["']?\)/g;
  var m;
  while ((m = re.exec(css))) { urls.push(m[1]); }
  return urls;
}

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return Promise.all(SHELL_URLS.map(function (u) {
      return fetch(u, { cache: 'no-store' }).then(function (r) {
        if (!r.ok) { throw new Error(u + ' ' + r.status); }
        var copy = r.clone();
        return cache.put(u, r).then(function () {
          return /\/(map\/me|login)$/.test(u) ? copy.text().then(assetsOf) : [];
        });
      });
    })).then(function (lists) {
      var assets = [];
      lists.concat([['/static/icons/worker-192.png', '/static/icons/worker-512.png']])
        .forEach(function (l) {
          l.forEach(function (a) { if (assets.indexOf(a) < 0) { assets.push(a); } });
        });  // addAll refuses duplicates
      return cache.addAll(assets).then(function () {
        // the fonts and images the cached stylesheets refer to
        var css = assets.filter(function (a) { return /\.css$/.test(a); });
        return Promise.all(css.map(function (href) {
          return cache.match(href).then(function (r) { return r.text(); }).then(function (t) {
            var base = new URL(href, self.location.origin);
            return Promise.all(fontsOf(t).filter(function (u) {
              return !/^data:/.test(u) && /\.(woff2|png|svg|gif)(\?|#|$)/.test(u) &&
                !/noto-sans-sc-\d+-400/.test(u);  // font slices: cached as the page uses them
            }).map(function (u) {
              var abs = new URL(u, base);
              return cache.add(abs.pathname).catch(function () { return null; });
            }));
          });
        }));
      });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return [SHELL, DATA, TILES].indexOf(k) < 0;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function offlineProblem() {
  return new Response(JSON.stringify({ type: 'about:blank', title: 'Offline', status: 503,
                                       detail: 'offline and not cached' }),
                      { status: 503, headers: { 'Content-Type': 'application/problem+json' } });
}

function cacheFirst(request) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (r) {
        if (r.ok) { cache.put(request, r.clone()); }
        return r;
      });
    });
  });
}

function networkFirst(request, cacheName, key) {
  return fetch(request).then(function (r) {
    if (r.ok) {
      var copy = r.clone();
      caches.open(cacheName).then(function (cache) { cache.put(key || request, copy); });
    }
    return r;
  }).catch(function () {
    return caches.open(cacheName).then(function (cache) {
      return cache.match(key || request);
    }).then(function (hit) { return hit || offlineProblem(); });
  });
}

/* A cached tile, revalidated with its ETag when the network answers. */
function tile(request) {
  return caches.open(TILES).then(function (cache) {
    return cache.match(request.url).then(function (hit) {
      var headers = new Headers(request.headers);
      if (hit && hit.headers.get('ETag')) { headers.set('If-None-Match', hit.headers.get('ETag')); }
      return fetch(request.url, { headers: headers }).then(function (r) {
        if (r.status === 304 && hit) { return hit; }
        if (r.ok) { cache.put(request.url, r.clone()); }
        return r;
      }).catch(function () { return hit || offlineProblem(); });
    });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) { return; }
  var path = url.pathname;
  if (path === '/incidents/feed') { return; }
  if (request.mode === 'navigate' || path === '/map/me' || path === '/login') {
    event.respondWith(networkFirst(request, SHELL, path));
  } else if (path.indexOf('/static/') === 0 || path === '/favicon.ico') {
    event.respondWith(cacheFirst(request));
  } else if (path.indexOf('/tiles/') === 0) {
    event.respondWith(tile(request));
  } else if (DATA_PATHS.some(function (re) { return re.test(path); })) {
    event.respondWith(networkFirst(request, DATA));
  }
});

/* The page asks for its area's tiles ({urls, token}); answers how many are cached, how many
   were unchanged (304) and how many failed. */
self.addEventListener('message', function (event) {
  var msg = event.data || {};
  var port = event.ports && event.ports[0];
  if (msg.type === 'cache-tiles') {
    caches.open(TILES).then(function (cache) {
      var stats = { cached: 0, unchanged: 0, failed: 0, empty: 0 };
      var queue = msg.urls.slice();
      function next() {
        var u = queue.shift();
        if (!u) { return Promise.resolve(); }
        return cache.match(u).then(function (hit) {
          var headers = { Authorization: 'Bearer ' + msg.token };
          if (hit && hit.headers.get('ETag')) { headers['If-None-Match'] = hit.headers.get('ETag'); }
          return fetch(u, { headers: headers }).then(function (r) {
            if (r.status === 304) { stats.unchanged += 1; return null; }
            if (!r.ok) { stats.failed += 1; return null; }
            if (r.status === 204) { stats.empty += 1; }
            stats.cached += 1;
            return cache.put(u, r);
          });
        }).catch(function () { stats.failed += 1; }).then(next);
      }
      return Promise.all([next(), next(), next(), next()]).then(function () {
        if (port) { port.postMessage(stats); }
      });
    });
  } else if (msg.type === 'clear-data') {
    Promise.all([caches.delete(DATA), caches.delete(TILES)]).then(function () {
      if (port) { port.postMessage({ cleared: true }); }
    });
  }
});
