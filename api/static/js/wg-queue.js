/* The worker app's write queue: every write goes into IndexedDB first and is sent when the
   network allows.

   Protocol (the sync bench replays it): items are sent one at a time, oldest first (by their
   sequence number). Each item carries its own Idempotency-Key, created when it is queued and
   reused on every retry, so an answer lost on the way back never becomes a second write (the
   server replays the first answer). An item may depend on an earlier one (a photo on its
   report, patrol points on their patrol): its path holds '{ref}', replaced by the server id the
   earlier item got; it waits while that id is unknown. Outcomes:
     2xx                    -> the item is removed; its server id is remembered for dependants;
     401                    -> the queue pauses until a new login (nothing is dropped);
     network error, 5xx,
     408, 429               -> the queue stops and retries later (backoff), same key;
     any other 4xx          -> the item is marked failed with the server's problem document and
                               set aside; the worker edits it (a new key: a new request) or
                               drops it. Later items go on unless they depend on it.
   Items survive reloads, closed pages and sleeping phones (they live in IndexedDB); only an
   answer from the server or the worker's own drop removes one. */
(function () {
  'use strict';
  var WG = window.WG = window.WG || {};
  var DB_NAME = 'wangge-worker';
  var RETRY_MS = [1000, 2000, 5000, 10000, 20000];
  var dbPromise = null;

  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var d = req.result;
          d.createObjectStore('queue', { keyPath: 'seq', autoIncrement: true });
          d.createObjectStore('refs', { keyPath: 'local' });
          d.createObjectStore('meta', { keyPath: 'name' });
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function tx(stores, mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(stores, mode);
        var out;
        t.oncomplete = function () { resolve(out); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
        out = fn(t);
        if (out && typeof out.then === 'function') {
          // a function returning a promise sets the result when it settles (same tick only)
          out.then(function (v) { out = v; });
        }
      });
    });
  }

  function request(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 14);
  }

  var Q = WG.queue = {
    state: 'idle',         // idle | syncing | offline | auth | retry
    listeners: [],
    lastSync: null,
    newKey: newKey,
    localId: function (prefix) { return (prefix || 'l') + '-' + newKey(); }
  };

  function emit() {
    Q.counts().then(function (c) {
      Q.listeners.forEach(function (fn) { fn(c); });
    });
  }
  Q.onChange = function (fn) { Q.listeners.push(fn); };

  /* Queue a write: {kind, method, path, body, contentType, ref, local, label}. */
  Q.add = function (item) {
    item = Object.assign({ method: 'POST', state: 'queued', key: newKey(),
                           queuedAt: new Date().toISOString(), attempts: 0 }, item);
    return tx(['queue'], 'readwrite', function (t) {
      return request(t.objectStore('queue').add(item));
    }).then(function () {
      emit();
      Q.kick();
      return item;
    });
  };

  Q.all = function () {
    return tx(['queue'], 'readonly', function (t) {
      return request(t.objectStore('queue').getAll());
    }).then(function (items) { return items || []; });
  };

  Q.failed = 0;  // items set aside as failed (recounted by every pass, edit and drop)
  Q.counts = function () {
    return tx(['queue'], 'readonly', function (t) {
      return request(t.objectStore('queue').count());  // no read of the items themselves
    }).then(function (n) {
      return { queued: n, failed: Q.failed, state: Q.state, lastSync: Q.lastSync };
    });
  };
  function recountFailed() {
    return Q.all().then(function (items) {
      Q.failed = items.filter(function (i) { return i.state === 'failed'; }).length;
    });
  }

  Q.refs = function () {
    return tx(['refs'], 'readonly', function (t) {
      return request(t.objectStore('refs').getAll());
    }).then(function (rows) {
      var out = {};
      (rows || []).forEach(function (r) { out[r.local] = r.id; });
      return out;
    });
  };

  function finish(item, answer) {
    return tx(['queue', 'refs', 'meta'], 'readwrite', function (t) {
      t.objectStore('queue').delete(item.seq);
      if (item.local && answer && answer.id !== undefined) {
        t.objectStore('refs').put({ local: item.local, id: answer.id, at: Date.now() });
      }
      Q.lastSync = new Date().toISOString();
      t.objectStore('meta').put({ name: 'lastSync', value: Q.lastSync });
    });
  }

  function fail(item, problem) {
    item.state = 'failed';
    item.error = problem;
    Q.failed += 1;
    return tx(['queue'], 'readwrite', function (t) { t.objectStore('queue').put(item); });
  }

  /* Replace a failed item's body (a new request, so a new key) and queue it again. */
  Q.edit = function (seq, body) {
    return tx(['queue'], 'readwrite', function (t) {
      var store = t.objectStore('queue');
      return request(store.get(seq)).then(function (item) {
        item.body = body;
        item.key = newKey();
        item.state = 'queued';
        delete item.error;
        store.put(item);
      });
    }).then(recountFailed).then(function () { emit(); Q.kick(); });
  };

  /* Drop an item and every queued item that depends on it. */
  Q.drop = function (seq) {
    return Q.all().then(function (items) {
      var gone = items.filter(function (i) { return i.seq === seq; });
      var locals = gone.map(function (i) { return i.local; }).filter(Boolean);
      items.forEach(function (i) {
        if (i.ref && locals.indexOf(i.ref) >= 0) { gone.push(i); }
      });
      return tx(['queue'], 'readwrite', function (t) {
        gone.forEach(function (i) { t.objectStore('queue').delete(i.seq); });
      });
    }).then(recountFailed).then(emit);
  };

  Q.onResult = null;  // fn(item, answer) after an item is accepted by the server

  function send(item, refs) {
    var path = item.path;
    if (item.ref) { path = path.replace('{ref}', refs[item.ref]); }
    var headers = { 'Idempotency-Key': item.key, Accept: 'application/json' };
    var token = WG.token && WG.token();
    if (token) { headers.Authorization = 'Bearer ' + token; }
    var body = item.body;
    if (body !== undefined && body !== null && !(body instanceof Blob)) {
      body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    } else if (body instanceof Blob) {
      headers['Content-Type'] = item.contentType || body.type || 'application/octet-stream';
    }
    return fetch(path, { method: item.method, headers: headers, body: body });
  }

  var running = false;
  var timer = null;
  var backoff = 0;
  var progress = false;  // the last pass got an answer for at least one item

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(Q.kick, ms);
  }

  function setState(s) {
    if (Q.state !== s) { Q.state = s; emit(); }
  }

  /* One pass over the queue, oldest first. */
  function pass() {
    return Promise.all([Q.all(), Q.refs()]).then(function (both) {
      var items = both[0].sort(function (a, b) { return a.seq - b.seq; });
      var refs = both[1];
      Q.failed = items.filter(function (it) { return it.state === 'failed'; }).length;
      var blocked = {};  // locals of failed or waiting items: their dependants wait
      var i = 0;
      progress = false;
      function next() {
        if (i >= items.length) { return 'done'; }
        var item = items[i++];
        if (item.state === 'failed' || (item.ref && refs[item.ref] === undefined)) {
          if (item.local) { blocked[item.local] = true; }
          return next();
        }
        if (item.ref && blocked[item.ref]) { return next(); }
        if (!navigator.onLine) { return 'offline'; }
        return send(item, refs).then(function (r) {
          if (r.status === 401) { return 'auth'; }
          if (r.status >= 500 || r.status === 408 || r.status === 429) { return 'retry'; }
          var ct = r.headers.get('content-type') || '';
          var parsed = ct.indexOf('json') >= 0 ? r.json() : Promise.resolve(null);
          return parsed.then(function (answer) {
            progress = true;
            if (r.ok) {
              if (item.local && answer && answer.id !== undefined) {
                refs[item.local] = answer.id;
              }
              return finish(item, answer).then(function () {
                emit();
                if (Q.onResult) { Q.onResult(item, answer); }
                return next();
              });
            }
            var problem = answer || { title: r.statusText, status: r.status };
            problem.status = problem.status || r.status;
            if (item.local) { blocked[item.local] = true; }
            return fail(item, problem).then(function () { emit(); return next(); });
          });
        }, function () { return navigator.onLine ? 'retry' : 'offline'; });
      }
      return next();
    });
  }

  /* Start a pass unless one runs (one tab at a time holds the lock). */
  Q.kick = function () {
    if (running) { return Promise.resolve(); }
    running = true;
    setState('syncing');
    var run = function () { return pass(); };
    var go = navigator.locks ? navigator.locks.request('wangge-queue', run) : run();
    return go.then(function (outcome) {
      running = false;
      if (outcome === 'done') {
        backoff = 0;
        setState('idle');
      } else if (outcome === 'auth') {
        setState('auth');
      } else if (outcome === 'offline') {
        setState('offline');
      } else {
        if (progress) { backoff = 0; }  // a lost answer among many: retry soon
        setState('retry');
        schedule(RETRY_MS[Math.min(backoff++, RETRY_MS.length - 1)]);
      }
    }, function (err) {
      running = false;
      setState('retry');
      schedule(5000);
      if (window.console) { console.warn('queue', err); }
    });
  };

  Q.start = function () {
    return tx(['meta'], 'readonly', function (t) {
      return request(t.objectStore('meta').get('lastSync'));
    }).then(function (row) {
      Q.lastSync = row ? row.value : null;
      window.addEventListener('online', function () { backoff = 0; Q.kick(); });
      window.addEventListener('offline', function () { setState('offline'); });
      setInterval(function () { if (Q.state !== 'auth') { Q.kick(); } }, 10000);
      emit();
      return Q.kick();
    });
  };
})();
