/* Grid worker app (/map/me): the assigned area, its micro-grids and buildings, open incidents,
   my tasks, reports with photos, patrols, who is responsible here and my history. Installable
   and offline-first: a service worker caches the shell, the area and its tiles, and every write
   goes through the IndexedDB queue (wg-queue.js). Made for a phone screen. */
(function () {
  'use strict';
  var WG = window.WG;
  var OPEN = ['reported', 'accepted', 'dispatched', 'in_progress'];
  var GAP_MS = 60 * 1000;       // patrol points further apart are not joined
  var POINTS_PER_BATCH = 10;    // patrol points per queued upload
  var FLUSH_MS = 10000;
  var MAX_PHOTOS = 5;
  var MAX_SIDE = 1600;
  var PATROL_KEY = 'wangge_patrol';

  function url(name, id) { return WG.cfg.endpoints[name].replace('{id}', id); }
  function el(id) { return document.getElementById(id); }
  function has(key) { return ((WG.cfg.labels || {})[WG.lang] || {})[key] !== undefined; }

  /* A problem document in the page's language: its title by type, its detail if known. */
  WG.problemText = function (problem) {
    if (!problem) { return WG.t('error'); }
    var title = problem.title || '';
    var text = has('problem.' + title) ? WG.t('problem.' + title) : (title || WG.t('error'));
    var detail = problem.detail || '';
    if (detail && has('problem_detail.' + detail)) {
      text += '：' + WG.t('problem_detail.' + detail);
    } else if (detail) {
      text += ' (' + detail + ')';
    }
    return text;
  };
  WG.failProblem = function (err) {
    if (WG.redirecting) { return; }
    WG.toast(err && err.body ? WG.problemText(err.body) : WG.t('error') + ': ' +
             (err && err.message ? err.message : err), 'error');
  };

  /* ---- geometry helpers ------------------------------------------------------------------ */
  function metres(a, b) {
    var R = 6371008.8;
    var rad = Math.PI / 180;
    var dlat = (b[1] - a[1]) * rad;
    var dlon = (b[0] - a[0]) * rad;
    var h = Math.sin(dlat / 2) * Math.sin(dlat / 2) + Math.cos(a[1] * rad) *
      Math.cos(b[1] * rad) * Math.sin(dlon / 2) * Math.sin(dlon / 2);
    return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function bearing(a, b) {
    var rad = Math.PI / 180;
    var y = Math.sin((b[0] - a[0]) * rad) * Math.cos(b[1] * rad);
    var x = Math.cos(a[1] * rad) * Math.sin(b[1] * rad) -
      Math.sin(a[1] * rad) * Math.cos(b[1] * rad) * Math.cos((b[0] - a[0]) * rad);
    return (Math.atan2(y, x) / rad + 360) % 360;
  }
  function compass(deg) {
    return ['N', 'NE', 'E', 'SE', 'S', 'SW', 'W', 'NW'][Math.round(deg / 45) % 8];
  }
  function distanceText(m) {
    return m >= 1000 ? (m / 1000).toFixed(1) + ' ' + WG.t('km') :
      Math.round(m) + ' ' + WG.t('metres');
  }
  function inRing(pt, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (((yi > pt[1]) !== (yj > pt[1])) &&
          (pt[0] < (xj - xi) * (pt[1] - yi) / (yj - yi) + xi)) { inside = !inside; }
    }
    return inside;
  }
  function inGeometry(pt, g) {
    var polys = g.type === 'Polygon' ? [g.coordinates] : (g.coordinates || []);
    return polys.some(function (poly) {
      return inRing(pt, poly[0]) && !poly.slice(1).some(function (hole) {
        return inRing(pt, hole);
      });
    });
  }
  /* Web Mercator tiles z14-18 covering a bbox (capped). */
  function tileUrls(bbox, layer) {
    var urls = [];
    for (var z = 14; z <= 18; z++) {
      var n = Math.pow(2, z);
      var tx = function (lon) { return Math.floor((lon + 180) / 360 * n); };
      var ty = function (lat) {
        var r = lat * Math.PI / 180;
        return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n);
      };
      for (var x = tx(bbox[0]); x <= tx(bbox[2]); x++) {
        for (var y = ty(bbox[3]); y <= ty(bbox[1]); y++) {
          urls.push('/tiles/' + layer + '/' + z + '/' + x + '/' + y + '.pbf');
        }
      }
    }
    return urls.slice(0, 2000);
  }

  /* ---- photos: checked and resized on the device ----------------------------------------- */
  function preparePhoto(file) {
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      var limit = WG.cfg.max_photo_bytes || 1572864;
      var taken = new Date(file.lastModified || Date.now()).toISOString();
      if (scale === 1 && file.size <= limit &&
          (file.type === 'image/jpeg' || file.type === 'image/png')) {
        return { blob: file, type: file.type, taken: taken };  // the server strips its EXIF
      }
      var canvas = document.createElement('canvas');
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext('2d').drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          if (!blob) { reject(new Error(WG.t('not_an_image'))); return; }
          if (blob.size > limit) { reject(new Error(WG.t('photo_too_large'))); return; }
          resolve({ blob: blob, type: 'image/jpeg', taken: taken });
        }, 'image/jpeg', 0.85);
      });
    }, function () { throw new Error(WG.t('not_an_image')); });
  }
  WG.preparePhotos = function (files) {
    files = Array.prototype.slice.call(files || []);
    if (files.length > MAX_PHOTOS) { return Promise.reject(new Error(WG.t('too_many_photos'))); }
    return Promise.all(files.map(preparePhoto));
  };
  function queuePhotos(photos, ref, incidentId, purpose, label) {
    return photos.reduce(function (chain, p) {
      return chain.then(function () {
        var q = '?purpose=' + purpose + '&taken_at=' + encodeURIComponent(p.taken);
        return WG.queue.add({
          kind: 'photo', method: 'POST', ref: ref || null,
          path: (ref ? '/incidents/{ref}/photos' : url('photos', incidentId)) + q,
          body: p.blob, contentType: p.type, label: label
        });
      });
    }, Promise.resolve());
  }

  WG.pages.worker = function (map, layers, ctx) {
    document.body.classList.add('wg-phone');
    if (ctx.role !== 'worker') {
      WG.message('wrong_role');
      return Promise.resolve();
    }
    if (!ctx.assigned || !ctx.bbox) {
      WG.message('no_assignment');
      el('wg-actions').hidden = true;
      el('w-sync').hidden = true;
      return Promise.resolve();
    }
    var loaded = WG.loaded;
    var bbox = ctx.bbox.join(',');
    var Q = WG.queue;
    var handlers = {};  // kind -> fn(item, answer) when the server accepted an item

    document.querySelectorAll('[data-close]').forEach(function (b) {
      b.addEventListener('click', function () { el(b.getAttribute('data-close')).hidden = true; });
    });
    function sheet(id) {
      ['w-tasks', 'w-queue', 'w-responsible', 'w-history'].forEach(function (s) {
        el(s).hidden = s !== id;
      });
    }

    /* ---- the installable app: service worker and the area's tiles ------------------------ */
    WG.swState = 'none';
    function controlled() {
      var sw = navigator.serviceWorker;
      if (sw.controller) { return Promise.resolve(); }
      return new Promise(function (resolve) {
        sw.addEventListener('controllerchange', function () { resolve(); }, { once: true });
      });
    }
    /* Reads made before the service worker took control are read again through it, so the
       area is in its cache for the next offline start. */
    function warm() {
      var paths = Object.keys(WG.readPaths || {});
      var assets = performance.getEntriesByType('resource').map(function (e) {
        var u = new URL(e.name);
        return u.origin === location.origin && u.pathname.indexOf('/static/') === 0 ?
          u.pathname : null;
      }).filter(Boolean);  // the font slices and images the first load used
      return Promise.all(paths.map(function (p) {
        return fetch(p, { headers: Object.assign({ Accept: 'application/json' },
                                                 WG.authHeaders()) })
          .catch(function () { return null; });
      }).concat(assets.map(function (a) {
        return fetch(a).catch(function () { return null; });
      })));
    }
    function installApp() {
      if (!('serviceWorker' in navigator)) { return; }
      navigator.serviceWorker.register('/map/me/sw.js', { scope: '/map/me' }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return controlled().then(function () { return reg; });
      }).then(function (reg) {
        if (!navigator.onLine || !reg.active) { WG.swState = 'ready'; return; }
        return warm().then(function () {
          WG.swState = 'ready';
          var channel = new MessageChannel();
          channel.port1.onmessage = function (ev) { WG.tileCache = ev.data; };
          reg.active.postMessage({ type: 'cache-tiles', token: WG.token(),
                                   urls: tileUrls(ctx.bbox, 'all') }, [channel.port2]);
        });
      }).catch(function (err) { WG.swState = 'failed: ' + err; });
    }

    /* ---- the assigned area ----------------------------------------------------------------- */
    var outline = L.geoJSON(ctx.outline, {
      interactive: false,
      style: { color: '#d81b60', weight: 3, fill: false }
    }).addTo(map);
    loaded.outline = ctx.outline.features.map(function (f) { return f.properties.code; });
    map.fitBounds(outline.getBounds(), { padding: [8, 8] });
    map.setMaxBounds(outline.getBounds().pad(1.5));

    function legends() {
      WG.legend(map, 'worker', 'households', [
        { color: '#d81b60', key: 'worker_title', shape: 'line' },
        { color: WG.BOUND_COLORS.under, key: 'under' },
        { color: WG.BOUND_COLORS.within, key: 'within' },
        { color: WG.BOUND_COLORS.over, key: 'over' },
        { color: '#78909c', key: 'buildings' },
        { color: WG.STATUS_COLORS.reported, key: 'open_incidents', shape: 'dot' }
      ]);
    }
    legends();
    WG.onLang.push(legends);

    /* ---- who is responsible here ----------------------------------------------------------- */
    function people(list) {
      if (!list || !list.length) { return '<span class="wg-sub">' + WG.esc(WG.t('nobody')) +
        '</span>'; }
      return list.map(function (p) {
        var role = has('role.' + p.role) ? ' · ' + WG.t('role.' + p.role) : '';
        var phone = p.phone ? ' <a href="tel:' + WG.esc(p.phone) + '" class="wg-phone-no">' +
          WG.esc(p.phone) + '</a>' : '';
        return '<div class="wg-person">' + WG.esc(p.name) + WG.esc(role) + phone + '</div>';
      }).join('');
    }
    WG.showResponsible = function (query) {
      return WG.api(url('responsible') + WG.query(query)).then(function (r) {
        WG.lastResponsible = r;
        el('w-responsible-body').innerHTML =
          '<div><b>' + WG.esc(r.micro_grid.name || r.micro_grid.code) + '</b> <span class=' +
          '"wg-sub">' + WG.esc(r.micro_grid.code) + ' · ' + WG.esc(WG.t('households')) + ' ' +
          WG.esc(r.micro_grid.households) + '</span></div>' +
          '<div class="wg-sub" data-i18n="micro_grid_leader">' + WG.esc(WG.t('micro_grid_leader')) +
          '</div>' + people(r.micro_grid_leaders) +
          '<div class="wg-sub" data-i18n="grid_leader">' + WG.esc(WG.t('grid_leader')) +
          '</div>' + people(r.grid_leaders) +
          '<div class="wg-sub" data-i18n="grid_workers">' + WG.esc(WG.t('grid_workers')) +
          '</div>' + people(r.grid_workers);
        sheet('w-responsible');
      }).catch(WG.failProblem);
    };

    /* ---- micro-grids, buildings, open incidents (the server confines them to my areas) ---- */
    var microGridShapes = [];
    var microGrids = WG.items('micro-grids', { bbox: bbox, limit: 1000 }).then(function (fc) {
      loaded.micro_grids = fc.features.map(function (f) { return f.properties.code; });
      microGridShapes = fc.features;
      L.geoJSON(fc, {
        style: function (f) {
          var c = WG.BOUND_COLORS[WG.boundState('micro_grid', f.properties.households)];
          return { color: '#6d4c41', weight: 1, fillColor: c, fillOpacity: 0.18,
                   className: 'wg-mg' };
        },
        onEachFeature: function (f, lyr) {
          lyr.bindTooltip(String(f.properties.households), {
            permanent: true, direction: 'center', className: 'wg-hh' });
          lyr.on('click', function () {
            if (picking) { return; }
            WG.showResponsible({ micro_grid: f.properties.code });
          });
        }
      }).addTo(layers.micro_grids);
    });
    var buildings = WG.items('buildings', { bbox: bbox, limit: 10000 }).then(function (fc) {
      loaded.buildings = fc.features.length;
      L.geoJSON(fc, {
        style: { color: '#546e7a', weight: 0.5, fillColor: '#78909c', fillOpacity: 0.6,
                 className: 'wg-bldg' },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 3, className: 'wg-bldg' });
        },
        onEachFeature: function (f, lyr) {
          lyr.on('click', function (ev) {
            if (picking) { return; }
            L.DomEvent.stopPropagation(ev);
            WG.showResponsible({ building: f.id });
          });
        }
      }).addTo(layers.buildings);
    });
    function addIncident(p, lat, lon, queued) {
      var m = L.circleMarker([lat, lon], {
        radius: 7, color: p.overdue ? '#d50000' : '#fff', weight: p.overdue ? 3 : 1.5,
        fillColor: queued ? '#9e9e9e' : (WG.STATUS_COLORS[p.status] || '#333'),
        fillOpacity: 0.95, className: queued ? 'wg-queued-report' : 'wg-open-incident'
      });
      m.bindPopup('<b>' + WG.esc(p.title) + '</b><br>' + WG.esc(p.code || WG.t('pending')) +
        '<br>' + WG.esc(queued ? WG.t('queued') : WG.t('status.' + p.status)));
      m.addTo(layers.incidents);
      return m;
    }
    var incidents = WG.items('incidents', { bbox: bbox, limit: 10000 }).then(function (fc) {
      var open = fc.features.filter(function (f) {
        return OPEN.indexOf(f.properties.status) >= 0;
      });
      loaded.incidents = open.map(function (f) { return f.id; });
      open.forEach(function (f) {
        addIncident(f.properties, f.geometry.coordinates[1], f.geometry.coordinates[0]);
      });
    });

    /* ---- sync state ------------------------------------------------------------------------ */
    function syncView(c) {
      WG.queueCounts = c;
      el('w-queue-count').textContent = String(c.queued);
      el('w-sync').setAttribute('data-state', c.state);
      el('w-sync-state').textContent = WG.t('sync_' + c.state) +
        (c.failed ? ' · ' + WG.t('failed') + ' ' + c.failed : '');
      el('w-last-sync').textContent = WG.t('last_sync') + ' ' + (c.lastSync ?
        new Date(c.lastSync).toLocaleTimeString(WG.lang) : WG.t('never_synced'));
      if (c.state === 'auth' && !el('w-relogin')) {
        var b = document.createElement('a');
        b.id = 'w-relogin';
        b.className = 'btn btn-sm btn-warning';
        b.setAttribute('data-testid', 'relogin');
        b.href = '/login?reason=expired&next=/map/me';
        b.textContent = WG.t('login_again');
        el('w-sync').appendChild(b);
      }
      if (!el('w-queue').hidden) { queueView(); }
    }
    Q.onChange(syncView);
    WG.onLang.push(function () { Q.counts().then(syncView); });
    Q.onResult = function (item, answer) {
      if (handlers[item.kind]) { handlers[item.kind](item, answer); }
    };

    function queueView() {
      return Q.all().then(function (items) {
        var list = el('w-queue-list');
        if (!items.length) {
          list.innerHTML = '<li class="wg-sub">' + WG.esc(WG.t('queue_empty')) + '</li>';
          return;
        }
        list.innerHTML = items.map(function (i) {
          var state = i.state === 'failed' ? '<div class="wg-failed" data-testid="queue-error">' +
            WG.esc(WG.problemText(i.error)) + '</div>' : '';
          var actions = i.state === 'failed' ? '<div class="wg-row">' +
            (i.kind === 'report' ? '<button type="button" class="btn btn-sm btn-primary" ' +
             'data-edit="' + i.seq + '" data-testid="queue-edit">' + WG.esc(WG.t('edit')) +
             '</button>' : '') + '<button type="button" class="btn btn-sm btn-outline-danger" ' +
            'data-drop="' + i.seq + '" data-testid="queue-drop">' + WG.esc(WG.t('drop')) +
            '</button></div>' : '';
          return '<li data-testid="queue-item" data-state="' + i.state + '" data-kind="' +
            i.kind + '"><b>' + WG.esc(WG.t('kind.' + i.kind)) + '</b> ' +
            WG.esc(i.label || '') + ' <span class="wg-sub">' +
            WG.esc(new Date(i.queuedAt).toLocaleTimeString(WG.lang)) + '</span>' + state +
            actions + '</li>';
        }).join('');
        list.querySelectorAll('[data-drop]').forEach(function (b) {
          b.addEventListener('click', function () {
            if (window.confirm(WG.t('confirm_drop'))) {
              Q.drop(Number(b.getAttribute('data-drop'))).then(queueView);
            }
          });
        });
        list.querySelectorAll('[data-edit]').forEach(function (b) {
          b.addEventListener('click', function () {
            var seq = Number(b.getAttribute('data-edit'));
            var item = items.filter(function (i) { return i.seq === seq; })[0];
            openForm(L.latLng(item.body.lat, item.body.lon), item);
          });
        });
      });
    }
    el('w-queue-open').addEventListener('click', function () {
      sheet('w-queue');
      queueView();
    });

    /* ---- report here: tap the map or use the device's location ----------------------------- */
    var form = el('w-form');
    var pick = null;
    var picking = false;
    var editing = null;  // a failed queue item being edited
    function formMessage(text) {
      el('w-form-msg').textContent = text || '';
      el('w-form-msg').hidden = !text;
    }
    function openForm(latlng, item) {
      if (pick) { map.removeLayer(pick); }
      pick = L.marker(latlng).addTo(map);
      editing = item || null;
      formMessage('');
      form.hidden = false;
      if (item) {
        form.elements.category.value = item.body.category;
        form.elements.title.value = item.body.title;
        form.elements.description.value = item.body.description || '';
      }
      form.elements.photos.disabled = !!item;
      form.elements.title.focus();
    }
    el('w-report').addEventListener('click', function () {
      picking = true;
      map.getContainer().classList.add('wg-picking');
      WG.toast(WG.t('report_tap'));
    });
    map.on('click', function (ev) {
      if (!picking) { return; }
      picking = false;
      map.getContainer().classList.remove('wg-picking');
      openForm(ev.latlng);
    });
    function locate(timeout) {
      return new Promise(function (resolve, reject) {
        if (!navigator.geolocation) { reject(new Error(WG.t('no_location'))); return; }
        navigator.geolocation.getCurrentPosition(resolve, function () {
          reject(new Error(WG.t('no_location')));
        }, { enableHighAccuracy: true, timeout: timeout || 10000, maximumAge: 0 });
      });
    }
    el('w-locate').addEventListener('click', function () {
      locate().then(function (pos) {
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.panTo(ll);
        openForm(ll);
      }).catch(WG.fail);
    });
    function closeForm() {
      form.hidden = true;
      form.reset();
      el('w-form-photos').innerHTML = '';
      editing = null;
      if (pick) { map.removeLayer(pick); pick = null; }
    }
    el('w-cancel').addEventListener('click', closeForm);
    form.elements.photos.addEventListener('change', function () {
      formMessage('');
      el('w-form-photos').innerHTML = '';
      if (form.elements.photos.files.length > MAX_PHOTOS) {
        formMessage(WG.t('too_many_photos'));
      }
    });
    var queuedMarkers = {};
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!pick) { return; }
      if (!form.elements.title.value.trim()) { formMessage(WG.t('title_required')); return; }
      var ll = pick.getLatLng();
      var body = {
        lon: Math.round(ll.lng * 1e7) / 1e7, lat: Math.round(ll.lat * 1e7) / 1e7,
        category: form.elements.category.value, title: form.elements.title.value.trim(),
        description: form.elements.description.value, source: 'worker',
        reported_at: new Date().toISOString()
      };
      var submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      var done;
      if (editing) {
        body.reported_at = editing.body.reported_at;
        done = Q.edit(editing.seq, body).then(queueView);
      } else {
        done = WG.preparePhotos(form.elements.photos.files).then(function (photos) {
          var local = Q.localId('r');
          return Q.add({ kind: 'report', path: url('incidents'), body: body, local: local,
                         label: body.title }).then(function () {
            queuedMarkers[local] = addIncident(body, body.lat, body.lon, true);
            return queuePhotos(photos, local, null, 'report', body.title);
          });
        });
      }
      done.then(function () {
        closeForm();
        WG.toast(WG.t('queued'), 'ok');
      }).catch(function (err) { formMessage(err.message || String(err)); })
        .then(function () { submit.disabled = false; });
    });
    handlers.report = function (item, answer) {
      WG.lastReport = answer;
      if (queuedMarkers[item.local]) { layers.incidents.removeLayer(queuedMarkers[item.local]); }
      addIncident(answer, answer.lat, answer.lon);
      WG.toast(WG.t('reported_ok') + ': ' + answer.code, 'ok');
    };
    handlers.photo = function (item, answer) { WG.lastPhoto = answer; };

    /* ---- patrol: device-timestamped points, queued in batches, gaps not joined -------------- */
    var patrol = null;
    var track = L.polyline([], { color: '#2e7d32', weight: 3, className: 'wg-track' })
      .addTo(layers.patrol);
    function savePatrol() {
      if (patrol) { localStorage.setItem(PATROL_KEY, JSON.stringify(patrol)); }
      else { localStorage.removeItem(PATROL_KEY); }
    }
    function segments(points) {
      var segs = [];
      points.forEach(function (p, i) {
        if (!i || Date.parse(p.t) - Date.parse(points[i - 1].t) > GAP_MS) { segs.push([]); }
        segs[segs.length - 1].push(p);
      });
      return segs;
    }
    function patrolStats(points) {
      var segs = segments(points);
      var dist = 0;
      segs.forEach(function (s) {
        for (var i = 1; i < s.length; i++) {
          dist += metres([s[i - 1].lon, s[i - 1].lat], [s[i].lon, s[i].lat]);
        }
      });
      var grids = {};
      points.forEach(function (p) {
        microGridShapes.forEach(function (f) {
          if (!grids[f.properties.code] && inGeometry([p.lon, p.lat], f.geometry)) {
            grids[f.properties.code] = true;
          }
        });
      });
      return { points: points.length, distance_m: dist, segments: segs.length,
               gaps: Math.max(0, segs.length - 1), micro_grids: Object.keys(grids).sort() };
    }
    function drawPatrol() {
      var pts = patrol ? patrol.points : [];
      track.setLatLngs(segments(pts).map(function (s) {
        return s.map(function (p) { return [p.lat, p.lon]; });
      }));
      var s = patrolStats(pts);
      WG.patrolStats = s;
      el('w-patrol-status').textContent = patrol ? WG.t('patrol_on') + ' · ' + s.points + ' ' +
        WG.t('patrol_points') + ' · ' + WG.t('patrol_distance') + ' ' +
        distanceText(s.distance_m) + ' · ' + WG.t('patrol_grids') + ' ' +
        s.micro_grids.length + (s.gaps ? ' · ' + WG.t('patrol_gaps') + ' ' + s.gaps : '') : '';
      el('w-patrol-start').hidden = !!patrol;
      el('w-patrol-stop').hidden = !patrol;
    }
    function flush() {
      if (!patrol || !patrol.buffer.length) { return Promise.resolve(); }
      var points = patrol.buffer.splice(0);
      savePatrol();
      return Q.add({ kind: 'patrol_points', path: '/patrols/{ref}/points', ref: patrol.local,
                     body: { points: points }, label: points.length + '' });
    }
    function onPosition(pos) {
      if (!patrol) { return; }
      var pt = { t: new Date(pos.timestamp || Date.now()).toISOString(),
                 lon: Math.round(pos.coords.longitude * 1e7) / 1e7,
                 lat: Math.round(pos.coords.latitude * 1e7) / 1e7,
                 accuracy: pos.coords.accuracy };
      patrol.buffer.push(pt);
      patrol.points.push(pt);
      savePatrol();
      drawPatrol();
      if (patrol.buffer.length >= POINTS_PER_BATCH) { flush(); }
    }
    var watchId = null;
    var flushTimer = null;
    function follow() {
      if (navigator.geolocation && watchId === null) {
        watchId = navigator.geolocation.watchPosition(onPosition, function () {
          WG.toast(WG.t('no_location'), 'error');
        }, { enableHighAccuracy: true, maximumAge: 0 });
      }
      clearInterval(flushTimer);
      flushTimer = setInterval(flush, FLUSH_MS);
    }
    el('w-patrol-start').addEventListener('click', function () {
      var local = Q.localId('p');
      patrol = { local: local, startedAt: new Date().toISOString(), buffer: [], points: [] };
      WG.patrol = patrol;
      savePatrol();
      Q.add({ kind: 'patrol_start', path: url('patrols'), local: local,
              body: { started_at: patrol.startedAt } }).then(function () {
        follow();
        drawPatrol();
      }).catch(WG.fail);
    });
    el('w-patrol-stop').addEventListener('click', function () {
      var p = patrol;
      if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
      clearInterval(flushTimer);
      flush().then(function () {
        return Q.add({ kind: 'patrol_end', path: '/patrols/{ref}/end', ref: p.local,
                       body: { ended_at: new Date().toISOString() },
                       label: p.points.length + '' });
      }).then(function () {
        patrol = null;
        WG.patrol = null;
        WG.stoppedPatrol = p;
        savePatrol();
        drawPatrol();
      }).catch(WG.fail);
    });
    handlers.patrol_end = function (item, answer) { WG.lastPatrol = answer; };
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'hidden') { flush(); }
    });
    try { patrol = JSON.parse(localStorage.getItem(PATROL_KEY) || 'null'); } catch (e) {
      patrol = null;
    }
    WG.patrol = patrol;
    if (patrol) { follow(); }
    WG.onLang.push(drawPatrol);

    /* ---- my tasks ---------------------------------------------------------------------------- */
    WG.tasks = [];
    var here = null;
    function pendingSteps() {
      return Q.all().then(function (items) {
        var steps = {};
        items.forEach(function (i) {
          if (i.kind === 'transition') { steps[i.incident] = i.body.action; }
        });
        return steps;
      });
    }
    function effectiveStatus(task, steps) {
      var step = steps[task.id];
      return step === 'start' ? 'in_progress' : (step === 'resolve' ? 'resolved' : task.status);
    }
    function renderTasks() {
      return pendingSteps().then(function (steps) {
        var list = el('w-task-list');
        var tasks = WG.tasks;
        el('w-task-count').textContent = tasks.length ? String(tasks.length) : '';
        if (!tasks.length) {
          list.innerHTML = '<li class="wg-sub">' + WG.esc(WG.t('no_tasks')) + '</li>';
          return;
        }
        list.innerHTML = tasks.map(function (t) {
          var status = effectiveStatus(t, steps);
          return '<li data-testid="task-item" data-id="' + t.id + '" data-status="' + status +
            '" class="' + (t.overdue ? 'wg-overdue' : '') + '"><b>' + WG.esc(t.title) +
            '</b> <span class="wg-sub">' + WG.esc(t.code) + '</span><div class="wg-sub">' +
            WG.esc(WG.t('status.' + status)) + (steps[t.id] ? ' (' + WG.esc(WG.t('pending')) +
            ')' : '') + ' · ' + WG.esc(WG.t('due')) + ' ' +
            WG.esc(new Date(t.due_at).toLocaleString(WG.lang)) +
            (t.overdue ? ' · ' + WG.esc(WG.t('overdue')) : '') + '</div></li>';
        }).join('');
        list.querySelectorAll('[data-testid=task-item]').forEach(function (li) {
          li.addEventListener('click', function () { openTask(Number(li.getAttribute('data-id'))); });
        });
      });
    }
    WG.loadTasks = function () {
      return WG.api(url('tasks')).then(function (r) {
        WG.tasks = r.items;
        WG.tasksLoadedAt = Date.now();
        return renderTasks();
      });
    };
    var taskMarker = null;
    function openTask(id) {
      var task = WG.tasks.filter(function (t) { return t.id === id; })[0];
      if (!task) { return Promise.resolve(); }
      var box = el('w-task-detail');
      box.hidden = false;
      box.setAttribute('data-id', String(id));
      if (taskMarker) { map.removeLayer(taskMarker); }
      taskMarker = L.marker([task.lat, task.lon]).addTo(map);
      map.panTo([task.lat, task.lon]);
      var detail = WG.api(url('incident', id)).catch(function () { return task; });
      var position = locate(3000).then(function (pos) {
        here = [pos.coords.longitude, pos.coords.latitude];
        return here;
      }, function () { return here; });
      return Promise.all([detail, position, pendingSteps()]).then(function (all) {
        var d = all[0];
        var me = all[1];
        var status = effectiveStatus(task, all[2]);
        var nav = '';
        if (me) {
          var deg = bearing(me, [task.lon, task.lat]);
          nav = '<div data-testid="task-nav">' + WG.esc(WG.t('distance')) + ' ' +
            WG.esc(distanceText(metres(me, [task.lon, task.lat]))) + ' · ' +
            WG.esc(WG.t('bearing')) + ' ' + WG.esc(WG.t('dir.' + compass(deg))) + ' ' +
            Math.round(deg) + '°</div>';
        }
        var history = (d.events || []).map(function (e) {
          return '<tr><td>' + WG.esc(new Date(e.at).toLocaleString(WG.lang)) + '</td><td>' +
            WG.esc(WG.t('action.' + e.action) !== 'action.' + e.action ?
                   WG.t('action.' + e.action) : e.action) + '</td><td>' + WG.esc(e.actor) +
            '</td><td>' + WG.esc(e.note || '') + '</td></tr>';
        }).join('');
        var actions = '';
        if (status === 'dispatched') {
          actions = '<button type="button" class="btn btn-sm btn-primary" ' +
            'data-testid="task-start">' + WG.esc(WG.t('task_start')) + '</button>';
        } else if (status === 'in_progress') {
          actions = '<textarea id="w-resolve-note" class="form-control form-control-sm" rows="2" ' +
            'placeholder="' + WG.esc(WG.t('resolve_note')) + '"></textarea>' +
            '<input id="w-resolve-photos" type="file" accept="image/jpeg,image/png" multiple ' +
            'capture="environment" class="form-control form-control-sm" ' +
            'data-testid="resolve-photo-input">' +
            '<button type="button" class="btn btn-sm btn-success" data-testid="task-resolve">' +
            WG.esc(WG.t('task_resolve')) + '</button>';
        }
        box.innerHTML = '<div><b>' + WG.esc(d.title) + '</b> <span class="wg-sub">' +
          WG.esc(d.code) + '</span></div><div class="wg-sub">' +
          WG.esc(WG.t('category.' + d.category)) + ' · ' + WG.esc(WG.t('status.' + status)) +
          ' · ' + WG.esc(WG.t('due')) + ' ' + WG.esc(new Date(d.due_at).toLocaleString(WG.lang)) +
          '</div><div>' + WG.esc(d.description || '') + '</div>' + nav +
          '<table class="wg-history">' + history + '</table>' +
          '<div class="wg-row">' + actions + '</div>';
        var start = box.querySelector('[data-testid=task-start]');
        if (start) {
          start.addEventListener('click', function () {
            queueStep(task, 'start', '', []).then(function () { openTask(id); });
          });
        }
        var resolve = box.querySelector('[data-testid=task-resolve]');
        if (resolve) {
          resolve.addEventListener('click', function () {
            WG.preparePhotos(el('w-resolve-photos').files).then(function (photos) {
              return queueStep(task, 'resolve', el('w-resolve-note').value, photos);
            }).then(function () { openTask(id); }).catch(WG.fail);
          });
        }
      });
    }
    function queueStep(task, action, note, photos) {
      return Q.add({ kind: 'transition', path: url('transition', task.id), incident: task.id,
                     body: { action: action, note: note }, label: task.code + ' ' +
                     WG.t('action.' + action) }).then(function () {
        return queuePhotos(photos, null, task.id, 'resolution', task.code);
      }).then(renderTasks);
    }
    handlers.transition = function () { WG.loadTasks().catch(function () { return null; }); };
    el('w-tasks-open').addEventListener('click', function () {
      sheet('w-tasks');
      el('w-task-detail').hidden = true;
      WG.loadTasks().catch(WG.failProblem);
    });
    WG.onLang.push(function () { renderTasks(); });

    /* the live feed: a new dispatch appears in my tasks without a reload */
    var feedTimer = null;
    window.addEventListener('offline', function () {
      if (WG.feed) { WG.feed.close(); WG.feed = null; }
    });
    window.addEventListener('online', function () { listen(); });
    function listen() {
      if (!window.EventSource || WG.feed || !navigator.onLine) { return; }
      var src = new EventSource(url('feed') + '?access_token=' + encodeURIComponent(WG.token()));
      WG.feed = src;
      src.addEventListener('incident', function (ev) {
        var data = JSON.parse(ev.data);
        if (['dispatch', 'start', 'resolve', 'send_back', 'verify', 'close', 'reject']
          .indexOf(data.action) < 0) { return; }
        clearTimeout(feedTimer);
        feedTimer = setTimeout(function () {
          WG.loadTasks().then(function () {
            if (data.action === 'dispatch') { WG.toast(WG.t('new_task') + ': ' + data.title, 'live'); }
          }).catch(function () { return null; });
        }, 100);
      });
      src.onerror = function () {
        if (src.readyState === EventSource.CLOSED && WG.feed === src) {
          WG.feed = null;
          setTimeout(listen, 5000);
        }
      };
    }

    /* ---- my history (30 days) ---------------------------------------------------------------- */
    el('w-history-open').addEventListener('click', function () {
      WG.api(url('history')).then(function (h) {
        WG.lastHistory = h;
        el('w-history-body').innerHTML =
          '<div class="wg-panel-title">' + WG.esc(WG.t('my_reports')) + '</div><ul class=' +
          '"wg-list">' + h.reports.map(function (r) {
            return '<li data-testid="history-report">' + WG.esc(r.title) + ' <span class=' +
              '"wg-sub">' + WG.esc(r.code) + ' · ' + WG.esc(WG.t('status.' + r.status)) +
              '</span></li>';
          }).join('') + '</ul><div class="wg-panel-title">' + WG.esc(WG.t('my_patrols')) +
          '</div><ul class="wg-list">' + h.patrols.map(function (p) {
            return '<li data-testid="history-patrol">' +
              WG.esc(new Date(p.started_at).toLocaleString(WG.lang)) + ' · ' + p.points + ' ' +
              WG.esc(WG.t('patrol_points')) + '</li>';
          }).join('') + '</ul>';
        sheet('w-history');
      }).catch(WG.failProblem);
    });

    /* queued reports from before a reload are drawn grey until they are sent */
    var queued = Q.all().then(function (items) {
      items.forEach(function (i) {
        if (i.kind === 'report') {
          queuedMarkers[i.local] = addIncident(i.body, i.body.lat, i.body.lon, true);
        }
      });
    });
    drawPatrol();
    var tasks = WG.loadTasks().catch(function () { return null; });
    return Promise.all([microGrids, buildings, incidents, queued, tasks]).then(function () {
      drawPatrol();
      listen();
      installApp();
      Q.start().catch(WG.fail);  // the first pass runs in the background
    });
  };
})();
