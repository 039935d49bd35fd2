/* /account: the caller's API keys for desktop GIS clients (create, list, revoke). */
(function () {
  'use strict';

  function day(value) { return value ? value.slice(0, 10) : ''; }

  function row(key) {
    var tr = document.createElement('tr');
    tr.setAttribute('data-testid', 'key-row');
    tr.setAttribute('data-key-id', key.id);
    var state = key.revoked_at ? WG.t('revoked') : '';
    tr.innerHTML =
      '<td data-testid="key-row-name">' + WG.esc(key.name) + '</td>' +
      '<td><code>wgk_' + WG.esc(key.prefix) + '_…</code></td>' +
      '<td>' + WG.esc(day(key.created_at)) + '</td>' +
      '<td>' + WG.esc(key.expires_at ? day(key.expires_at) : WG.t('no_expiry')) + '</td>' +
      '<td>' + WG.esc(key.last_used_at ? day(key.last_used_at) : WG.t('never')) + '</td>' +
      '<td data-testid="key-state">' + WG.esc(state) + '</td>';
    if (!key.revoked_at) {
      var btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'btn btn-outline-danger btn-sm';
      btn.textContent = WG.t('revoke_key');
      btn.setAttribute('data-testid', 'key-revoke');
      btn.addEventListener('click', function () {
        WG.api('/account/keys/' + key.id, { method: 'DELETE' }).then(load).catch(fail);
      });
      tr.lastChild.appendChild(btn);
    }
    return tr;
  }

  function load() {
    return WG.api('/account/keys').then(function (data) {
      var body = document.getElementById('a-keys');
      body.innerHTML = '';
      data.keys.forEach(function (k) { body.appendChild(row(k)); });
    });
  }

  function fail(err) {
    var msg = document.getElementById('a-msg');
    msg.textContent = err.message;
    msg.hidden = false;
  }

  function start() {
    WG.applyLang();
    document.getElementById('wg-lang').addEventListener('click', function () {
      WG.toggleLang();
      load();
    });
    var claims = WG.claims() || {};
    document.getElementById('a-user').textContent = claims.name || '';
    document.getElementById('a-new').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var form = new FormData(ev.target);
      var body = { name: form.get('name') };
      if (form.get('expires_days')) { body.expires_days = Number(form.get('expires_days')); }
      document.getElementById('a-msg').hidden = true;
      WG.api('/account/keys', { method: 'POST', body: body }).then(function (made) {
        document.getElementById('a-secret').textContent = made.key;
        document.getElementById('a-created').hidden = false;
        ev.target.reset();
        return load();
      }).catch(fail);
    });
    load().catch(fail).then(function () {
      document.body.setAttribute('data-ready', '1');
    });
  }

  if (!WG.redirecting) { document.addEventListener('DOMContentLoaded', start); }
}());
