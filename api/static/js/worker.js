/* Grid worker (/map/me): the assigned area, its micro-grids and buildings, open incidents,
   "report here" and patrols with the device's location. Made for a phone screen. */
(function () {
  'use strict';
  var WG = window.WG;
  var OPEN = ['reported', 'accepted', 'dispatched', 'in_progress'];

  function url(name, id) { return WG.cfg.endpoints[name].replace('{id}', id); }
  function el(id) { return document.getElementById(id); }
  function newKey() {
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12);
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
      return Promise.resolve();
    }
    var loaded = WG.loaded;
    var bbox = ctx.bbox.join(',');

    /* the assigned area */
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

    /* micro-grids with their households, buildings, open incidents (all by the area's bbox;
       the server confines every answer to the worker's areas) */
    var microGrids = WG.items('micro-grids', { bbox: bbox, limit: 1000 }).then(function (fc) {
      loaded.micro_grids = fc.features.map(function (f) { return f.properties.code; });
      L.geoJSON(fc, {
        style: function (f) {
          var c = WG.BOUND_COLORS[WG.boundState('micro_grid', f.properties.households)];
          return { color: '#6d4c41', weight: 1, fillColor: c, fillOpacity: 0.18,
                   className: 'wg-mg' };
        },
        onEachFeature: function (f, lyr) {
          lyr.bindTooltip(String(f.properties.households), {
            permanent: true, direction: 'center', className: 'wg-hh' });
          lyr.bindPopup('<b>' + WG.esc(f.properties.name || f.properties.code) + '</b><br>' +
            WG.esc(f.properties.code) + '<br><span data-i18n="households">' +
            WG.esc(WG.t('households')) + '</span>: ' + WG.esc(f.properties.households));
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
          var p = f.properties;
          lyr.bindPopup(WG.esc(p.address || p.code || '') + '<br>' +
            WG.esc(WG.t('households')) + ': ' + WG.esc(p.households));
        }
      }).addTo(layers.buildings);
    });
    function addIncident(p, lat, lon) {
      var m = L.circleMarker([lat, lon], {
        radius: 7, color: p.overdue ? '#d50000' : '#fff', weight: p.overdue ? 3 : 1.5,
        fillColor: WG.STATUS_COLORS[p.status] || '#333', fillOpacity: 0.95,
        className: 'wg-open-incident'
      });
      m.bindPopup('<b>' + WG.esc(p.title) + '</b><br>' + WG.esc(p.code) + '<br>' +
        WG.esc(WG.t('status.' + p.status)));
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

    /* report here: tap the map or use the device's location */
    var form = el('w-form');
    var pick = null;
    var picking = false;
    function place(latlng) {
      if (pick) { map.removeLayer(pick); }
      pick = L.marker(latlng).addTo(map);
      form.hidden = false;
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
      place(ev.latlng);
    });
    function locate() {
      return new Promise(function (resolve, reject) {
        if (!navigator.geolocation) { reject(new Error(WG.t('no_location'))); return; }
        navigator.geolocation.getCurrentPosition(resolve, function () {
          reject(new Error(WG.t('no_location')));
        }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
    el('w-locate').addEventListener('click', function () {
      locate().then(function (pos) {
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        map.panTo(ll);
        place(ll);
      }).catch(WG.fail);
    });
    el('w-cancel').addEventListener('click', function () {
      form.hidden = true;
      if (pick) { map.removeLayer(pick); pick = null; }
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!pick) { return; }
      var ll = pick.getLatLng();
      var body = {
        lon: Math.round(ll.lng * 1e7) / 1e7, lat: Math.round(ll.lat * 1e7) / 1e7,
        category: form.elements.category.value, title: form.elements.title.value,
        description: form.elements.description.value, source: 'worker'
      };
      form.querySelector('button[type=submit]').disabled = true;
      WG.api(url('incidents'), { method: 'POST', body: body,
                                 headers: { 'Idempotency-Key': newKey() } })
        .then(function (created) {
          WG.lastReport = created;
          addIncident(created, ll.lat, ll.lng);
          form.hidden = true;
          form.reset();
          map.removeLayer(pick);
          pick = null;
          WG.toast(WG.t('reported_ok') + ': ' + created.code, 'ok');
        })
        .catch(WG.fail)
        .then(function () { form.querySelector('button[type=submit]').disabled = false; });
    });

    /* patrol: GPS points while on patrol, uploaded in batches */
    var patrol = null;
    var button = el('w-patrol');
    var track = L.polyline([], { color: '#2e7d32', weight: 3 }).addTo(layers.patrol);
    function status() {
      el('w-patrol-status').textContent = patrol ? WG.t('patrol_on') + ' · ' + patrol.sent +
        ' ' + WG.t('patrol_points') : '';
      button.setAttribute('data-i18n', patrol ? 'patrol_stop' : 'patrol_start');
      button.textContent = WG.t(button.getAttribute('data-i18n'));
      button.className = 'btn ' + (patrol ? 'btn-danger' : 'btn-success');
    }
    function flush() {
      if (!patrol || !patrol.buffer.length) { return Promise.resolve(); }
      var points = patrol.buffer.splice(0);
      var p = patrol;
      return WG.api(url('patrol_points', p.id), { method: 'POST', body: { points: points } })
        .then(function () { p.sent += points.length; status(); })
        .catch(function (err) { p.buffer = points.concat(p.buffer); throw err; });
    }
    function onPosition(pos) {
      if (!patrol) { return; }
      var pt = { t: new Date(pos.timestamp || Date.now()).toISOString(),
                 lon: pos.coords.longitude, lat: pos.coords.latitude,
                 accuracy: pos.coords.accuracy };
      patrol.buffer.push(pt);
      track.addLatLng([pt.lat, pt.lon]);
      if (patrol.buffer.length >= 10) { flush().catch(WG.fail); }
    }
    button.addEventListener('click', function () {
      button.disabled = true;
      var done = function () { button.disabled = false; status(); };
      if (!patrol) {
        WG.api(url('patrols'), { method: 'POST', body: {} }).then(function (p) {
          patrol = { id: p.id, buffer: [], sent: 0 };
          WG.patrol = patrol;
          track.setLatLngs([]);
          if (navigator.geolocation) {
            patrol.watch = navigator.geolocation.watchPosition(onPosition, function () {
              WG.toast(WG.t('no_location'), 'error');
            }, { enableHighAccuracy: true, maximumAge: 5000 });
          }
          patrol.timer = setInterval(function () { flush().catch(WG.fail); }, 15000);
        }).catch(WG.fail).then(done);
      } else {
        var p = patrol;
        if (p.watch !== undefined) { navigator.geolocation.clearWatch(p.watch); }
        clearInterval(p.timer);
        flush().then(function () {
          return WG.api(url('patrol_end', p.id), { method: 'POST', body: {} });
        }).then(function () {
          patrol = null;
          WG.lastPatrol = p;
        }).catch(WG.fail).then(done);
      }
    });
    WG.onLang.push(status);
    status();

    return Promise.all([microGrids, buildings, incidents]);
  };
})();
