// Screenings taken offline, on the screening form (docs/web.md#screenings-taken-offline).
// Progressive enhancement: without this file, or in a browser without
// service workers, WebCrypto or IndexedDB, the form works as before.
//
// - Registers the service worker (sw.js), which keeps a copy of this form
//   and keeps a form sent without a connection on the device, encrypted.
// - Lists what waits on this device for the officer: when it was taken and
//   the region, never a name (anyone near the screen may see it).
// - Sends it on page load and when the connection returns ("online"), each
//   with its own form key, so that a retried send opens one case; asks
//   the server for the officer's private key to decrypt it (never stored).
// - Erases what waited longer than data-max-hours, and says so; the whole
//   queue goes at sign-out (here, and by the server's Clear-Site-Data).
(function () {
  "use strict";
  var root = document.getElementById("offline");
  var form = document.getElementById("screening-form");
  var store = window.NRMOffline;
  if (!root || !form || !store) return;
  if (!("serviceWorker" in navigator) || !window.crypto || !window.crypto.subtle || !window.indexedDB) return;

  var user = root.getAttribute("data-user");
  var publicKey;
  try {
    publicKey = JSON.parse(root.getAttribute("data-public-key"));
  } catch (e) {
    return;
  }
  var scope = root.getAttribute("data-scope");
  var maxAge = Number(root.getAttribute("data-max-hours")) * 3600 * 1000;
  var lang = root.getAttribute("data-lang");
  var zone = root.getAttribute("data-zone");
  var status = document.getElementById("offline-status");
  var section = document.getElementById("offline-queue");
  var list = document.getElementById("offline-queue-list");
  var count = document.getElementById("offline-queue-count");
  var sendButton = document.getElementById("offline-send");

  function msg(name) {
    return root.getAttribute("data-msg-" + name) || "";
  }

  // The status region holds one message per kind, newest last.
  var notes = {};
  function note(kind, content) {
    if (notes[kind]) {
      notes[kind].remove();
      delete notes[kind];
    }
    if (!content) return;
    var p = document.createElement("p");
    p.className = "notice offline__note";
    p.setAttribute("data-note", kind);
    if (typeof content === "string") p.textContent = content;
    else p.appendChild(content);
    status.appendChild(p);
    notes[kind] = p;
  }

  // when writes a time as the other pages do (02.01.2006 15:04, or
  // 2 Jan 2006 15:04 in English), in the SOP calendar's zone.
  function when(ms) {
    var opts = { year: "numeric", month: lang === "en" ? "short" : "2-digit", day: lang === "en" ? "numeric" : "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    var parts = {};
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat("en-US", opts);
    } catch (e) {
      delete opts.timeZone;
      fmt = new Intl.DateTimeFormat("en-US", opts);
    }
    fmt.formatToParts(new Date(ms)).forEach(function (p) {
      parts[p.type] = p.value;
    });
    var date = lang === "en" ? parts.day + " " + parts.month + " " + parts.year : parts.day + "." + parts.month + "." + parts.year;
    return date + " " + parts.hour + ":" + parts.minute;
  }

  var records = [];
  var inFlight = {};

  function mine() {
    return records.filter(function (r) {
      return r.user === user;
    }).sort(function (a, b) {
      return a.takenAt - b.takenAt;
    });
  }

  function render() {
    var rs = mine();
    section.hidden = rs.length === 0;
    count.textContent = msg("count").replace("{n}", rs.length);
    list.textContent = "";
    rs.forEach(function (r, i) {
      var li = document.createElement("li");
      li.className = "offline-queue__item";
      var what = document.createElement("span");
      what.id = "offline-item-" + i;
      what.textContent = msg("item").replace("{when}", when(r.takenAt)).replace("{region}", r.region || "–");
      var state = document.createElement("strong");
      var rejected = r.status === "rejected";
      state.className = "tag " + (rejected ? "tag--red" : "tag--blue");
      state.textContent = rejected ? msg("rejected") : inFlight[r.id] ? msg("sending") : msg("waiting");
      li.appendChild(what);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(state);
      if (rejected) {
        var open = document.createElement("button");
        open.type = "button";
        open.className = "button button--secondary offline-queue__open";
        open.textContent = msg("open");
        open.setAttribute("aria-describedby", what.id);
        open.addEventListener("click", function () {
          openInForm(r);
        });
        li.appendChild(open);
      }
      list.appendChild(li);
    });
    sendButton.hidden = !rs.some(function (r) {
      return r.status !== "rejected";
    });
  }

  // refresh reads the queue, erasing what waited too long.
  function refresh() {
    return store.all().then(function (all) {
      var now = Date.now();
      var old = all.filter(function (r) {
        return now - r.takenAt > maxAge;
      });
      return Promise.all(old.map(function (r) {
        return store.remove(r.id);
      })).then(function () {
        var n = old.filter(function (r) {
          return r.user === user;
        }).length;
        if (n) note("expired", msg("expired").replace("{n}", n));
        records = all.filter(function (r) {
          return old.indexOf(r) < 0;
        });
        render();
      });
    });
  }

  // session asks the server for the officer's private key and the CSRF
  // token; null when the officer must sign in again or the server is
  // unreachable (the note says which).
  var session = null;
  function getSession() {
    if (session) return Promise.resolve(session);
    return fetch(root.getAttribute("data-key-url"), { credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json" } }).then(function (res) {
      if (res.status === 401) {
        signInNote();
        return null;
      }
      if (!res.ok) {
        note("retry", msg("retry"));
        return null;
      }
      return res.json().then(function (j) {
        if (j.user !== user) { // the form of another officer: they must sign in
          signInNote();
          return null;
        }
        return store.importPrivate(j.key).then(function (key) {
          session = { csrf: j.csrf, key: key };
          note("signin", null);
          return session;
        });
      });
    }, function () {
      note("retry", msg("retry"));
      return null;
    });
  }

  function signInNote() {
    var span = document.createElement("span");
    span.textContent = msg("signin") + " ";
    var a = document.createElement("a");
    a.href = "/login?next=" + encodeURIComponent(scope);
    a.textContent = msg("signin-link");
    span.appendChild(a);
    note("signin", span);
  }

  // sendOne sends one screening as the form would, with its own key;
  // answers whether to go on with the next.
  function sendOne(r, s, opened, unreadable) {
    return store.unseal(s.key, r).then(function (body) {
      var params = new URLSearchParams(body);
      params.set("csrf", s.csrf);
      params.set("key", r.id);
      inFlight[r.id] = true;
      render();
      return fetch(form.getAttribute("action"), { method: "POST", body: params, credentials: "same-origin" }).then(function (res) {
        var path = new URL(res.url).pathname;
        var m = /^\/cases\/([^/]+)\/opened$/.exec(path);
        if (res.ok && m) {
          return res.text().then(function (html) {
            var number = new DOMParser().parseFromString(html, "text/html").querySelector(".case-number");
            opened.push({ id: m[1], number: number ? number.textContent.trim() : m[1] });
            return store.remove(r.id);
          }).then(function () {
            return true;
          });
        }
        if (path === "/login") { // the session ended meanwhile
          session = null;
          signInNote();
          return false;
        }
        if (res.status === 422 || res.status === 409) { // the answers need correcting
          r.status = "rejected";
          return store.put(r).then(function () {
            return true;
          });
        }
        note("retry", msg("retry"));
        return false;
      }, function () {
        note("retry", msg("retry"));
        return false;
      });
    }, function () {
      // Not encrypted for this key (the server's key changed): nobody can
      // read it any more.
      unreadable.n++;
      return store.remove(r.id).then(function () {
        return true;
      });
    }).then(function (next) {
      delete inFlight[r.id];
      return next;
    });
  }

  var sending = false;
  function sendAll() {
    if (sending) return Promise.resolve();
    var waiting = mine().filter(function (r) {
      return r.status !== "rejected";
    });
    if (!waiting.length) return Promise.resolve();
    sending = true;
    var opened = [];
    var unreadable = { n: 0 };
    return getSession().then(function (s) {
      if (!s) return;
      note("retry", null);
      return waiting.reduce(function (chain, r) {
        return chain.then(function (next) {
          return next && sendOne(r, s, opened, unreadable);
        });
      }, Promise.resolve(true));
    }).then(function () {
      if (opened.length) {
        var span = document.createElement("span");
        span.textContent = msg("sent").replace("{n}", opened.length) + " ";
        opened.forEach(function (o, i) {
          var a = document.createElement("a");
          a.href = "/cases/" + o.id;
          a.className = "offline__case";
          a.textContent = o.number;
          if (i > 0) span.appendChild(document.createTextNode(", "));
          span.appendChild(a);
        });
        note("sent", span);
      }
      if (unreadable.n) note("unreadable", msg("unreadable").replace("{n}", unreadable.n));
    }).catch(function () {
      note("retry", msg("retry"));
    }).then(function () {
      sending = false;
      return refresh();
    });
  }

  // openInForm puts a screening the server did not accept back in the
  // form, to be corrected and sent as any other.
  function openInForm(r) {
    getSession().then(function (s) {
      if (!s) return;
      return store.unseal(s.key, r).then(function (body) {
        var params = new URLSearchParams(body);
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || el.type === "hidden" || el.type === "submit" || el.type === "button") return;
          var values = params.getAll(el.name);
          if (el.type === "checkbox" || el.type === "radio") el.checked = values.indexOf(el.value) >= 0;
          else el.value = values.length ? values[0] : "";
        });
        return store.remove(r.id);
      }).then(function () {
        note("opened", msg("opened"));
        form.querySelectorAll(".screening__live").forEach(function (live) {
          if (window.htmx) window.htmx.trigger(live, "change");
        });
        form.dispatchEvent(new Event("change")); // the draft, as if typed
        var first = document.getElementById("given_name");
        if (first) first.focus();
        return refresh();
      });
    });
  }

  // The screening rule's result cannot be asked for without a connection:
  // the result panel says so, and both consent paths stay open (the adult's
  // answers are asked; for a child the server leaves them aside).
  function withoutResult() {
    var result = document.getElementById("screening-result");
    if (result) {
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = msg("result");
      result.textContent = "";
      result.appendChild(p);
    }
    form.querySelectorAll(".track[data-track]").forEach(function (el) {
      el.hidden = false;
    });
  }
  document.body.addEventListener("htmx:sendError", function (e) {
    if (e.target && e.target.closest && e.target.closest("#screening-form")) withoutResult();
  });

  // Sign-out erases the queue and the kept form (the server's
  // Clear-Site-Data does too, whatever page signs out).
  document.querySelectorAll("form[data-signout]").forEach(function (f) {
    f.addEventListener("submit", function () {
      store.erase();
      if (window.caches) {
        caches.keys().then(function (names) {
          names.forEach(function (n) {
            if (n.indexOf("nrm-screening-") === 0) caches.delete(n);
          });
        });
      }
    });
  });

  // The kept copy of the form was made when it was last opened online: the
  // encounter's date and time it proposes are now's, in the SOP calendar's
  // zone (unless a draft was put back).
  function proposeNow() {
    var restored = document.getElementById("draft-status");
    if (restored && !restored.hidden) return;
    var parts = {};
    var opts = { year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat("en-US", opts);
    } catch (e) {
      delete opts.timeZone;
      fmt = new Intl.DateTimeFormat("en-US", opts);
    }
    fmt.formatToParts(new Date()).forEach(function (p) {
      parts[p.type] = p.value;
    });
    var set = { occurred_day: parts.day, occurred_month: parts.month, occurred_year: parts.year, occurred_time: parts.hour + ":" + parts.minute };
    Object.keys(set).forEach(function (name) {
      var el = form.elements.namedItem(name);
      if (el) el.value = set[name];
    });
  }

  if (root.getAttribute("data-served") === "cache") {
    document.getElementById("offline-cached").hidden = false;
    withoutResult();
    proposeNow();
  }
  if (/[?&]queued=1(&|$)/.test(location.search)) {
    note("queued", msg("queued"));
    history.replaceState(null, "", location.pathname);
  }
  sendButton.addEventListener("click", function () {
    sendAll();
  });
  window.addEventListener("online", function () {
    sendAll();
  });

  navigator.serviceWorker.register("/sw.js", { scope: scope }).catch(function () {});
  store.setCurrent(user, publicKey).then(refresh).then(function () {
    if (navigator.onLine) return sendAll();
  }).catch(function () {});
})();
