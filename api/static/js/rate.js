/* The resident's rating page: show the case behind the link, post one score and comment. */
(function () {
  'use strict';
  var WG = window.WG;
  function el(id) { return document.getElementById(id); }
  function show(key, kind) {
    var msg = el('r-msg');
    msg.className = 'alert alert-' + kind;
    msg.setAttribute('data-i18n', key);
    msg.setAttribute('data-testid', 'rate-message');
    msg.textContent = WG.t(key);
    msg.hidden = false;
  }
  function plain(path, opts) {  // no token: the link is the credential
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (data) { return { status: r.status, data: data }; });
    });
  }
  WG.startRating = function () {
    WG.applyLang();
    el('wg-lang').addEventListener('click', WG.toggleLang);
    var base = location.pathname.replace(/\/$/, '');
    plain(base + '/case').then(function (res) {
      if (res.status === 410) { show('rate_gone', 'warning'); return; }
      if (res.status !== 200) { show('error', 'danger'); return; }
      var c = res.data;
      el('r-case').innerHTML = '<div><b data-i18n="code"></b> ' + WG.esc(c.code) + '</div>' +
        '<div><b data-i18n="title"></b> ' + WG.esc(c.title) + '</div>' +
        '<div><b data-i18n="category"></b> <span data-i18n="category.' + WG.esc(c.category) +
        '"></span></div>';
      WG.applyLang(el('r-case'));
      el('r-form').hidden = false;
      document.body.setAttribute('data-ready', '1');
    });
    el('r-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var form = new FormData(ev.target);
      plain(base, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ score: Number(form.get('score')),
                                           comment: form.get('comment') || '' }) })
        .then(function (res) {
          el('r-form').hidden = true;
          if (res.status === 200) { show('rate_thanks', 'success'); }
          else if (res.status === 410) { show('rate_gone', 'warning'); }
          else { show('error', 'danger'); }
        });
    });
  };
})();
