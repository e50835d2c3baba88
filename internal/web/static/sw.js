// The screening form's service worker (docs/web.md#screenings-taken-offline).
// Served at /sw.js for the scope /cases/new by internal/web/offline.go, which
// puts NRM_VERSION, NRM_SCOPE, NRM_ASSETS and NRM_STORE before this file.
//
// - The form page is asked for on the network first and kept (one copy, the
//   last one the officer opened); without a connection the kept copy is
//   served, with a form key of its own, so that every screening taken
//   offline has its own key.
// - The form's assets (hashed names, never changing) come from the cache.
// - A form sent while the network fails is kept on the device, encrypted
//   (offline-store.js), and the officer comes back to the form, which lists
//   it as waiting to send; the page sends it when the connection returns.
//   Sent with its own form key, a screening whose send was cut off and
//   retried opens one case.
/* global NRM_VERSION, NRM_SCOPE, NRM_ASSETS, NRM_STORE, NRMOffline */
importScripts(NRM_STORE);

var CACHE = "nrm-screening-" + NRM_VERSION;
var PAGE = NRM_SCOPE;
// How long the form waits for the network before it is kept on the device
// (kept with its key: should it arrive after all, sending it again opens
// no second case).
var SEND_TIMEOUT = 45000;

function isForm(res) {
  return res && res.ok && res.type === "basic" && !res.redirected &&
    (res.headers.get("Content-Type") || "").indexOf("text/html") === 0;
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(NRM_ASSETS).then(function () {
      // The form of the signed-in officer who installed this worker.
      return fetch(PAGE, { credentials: "same-origin", redirect: "manual" }).then(function (res) {
        if (isForm(res)) return cache.put(PAGE, res);
      }).catch(function () {});
    });
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("nrm-screening-") === 0 && n !== CACHE;
    }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

// fromCache serves the kept form, with a new key and marked as the copy.
function fromCache() {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(PAGE, { ignoreSearch: true, ignoreVary: true });
  }).then(function (res) {
    if (!res) return Response.error();
    return res.text().then(function (html) {
      html = html.replace(/(<input type="hidden" name="key" value=")[0-9a-f]{32}(")/, "$1" + NRMOffline.newKey() + "$2")
        .replace('data-served="network"', 'data-served="cache"');
      return new Response(html, { status: 200, headers: res.headers });
    });
  });
}

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () {
      reject(new Error("timeout"));
    }, ms);
    promise.then(function (v) {
      clearTimeout(timer);
      resolve(v);
    }, function (e) {
      clearTimeout(timer);
      reject(e);
    });
  });
}

self.addEventListener("fetch", function (event) {
  var req = event.request;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) return;

  if (req.method === "GET" && url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return cache.match(req).then(function (hit) {
        return hit || fetch(req).then(function (res) {
          if (res.ok) cache.put(req, res.clone());
          return res;
        });
      });
    }));
    return;
  }
  if (req.mode !== "navigate" || url.pathname !== PAGE) return;

  if (req.method === "GET") {
    event.respondWith(fetch(req).then(function (res) {
      if (isForm(res)) {
        var copy = res.clone();
        caches.open(CACHE).then(function (cache) {
          return cache.put(PAGE, copy);
        });
      }
      return res;
    }, fromCache));
    return;
  }
  if (req.method === "POST") {
    var copy = req.clone();
    event.respondWith(withTimeout(fetch(req), SEND_TIMEOUT).catch(function () {
      return copy.text().then(function (body) {
        return NRMOffline.keep(body, Date.now());
      }).then(function () {
        return Response.redirect(PAGE + "?queued=1", 303);
      }, function () {
        return Response.error();
      });
    }));
  }
});
