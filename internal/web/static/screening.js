// The screening form's draft and small helps (progressive enhancement: the
// form works without this file).
//
// - What the officer types is kept in the browser's localStorage as they
//   type, under a key per user (data-draft-key), and put back when the
//   form is opened again, so that a dropped connection or a closed tab
//   loses nothing. The CSRF token and the form's key are never kept.
// - The draft is cleared when the case has opened (the page after the
//   form carries data-draft-clear), when the screening was kept on the
//   device to be sent later (?queued=1: offline.js) and when the user
//   signs out from a page that loads this file (the sign-out form carries
//   data-signout).
// - The screening rule's result (htmx) decides which consent section
//   applies: the adult's consent or the child's path.
// - A second click on the submit button sends nothing more (the server
//   opens one case per form key anyway).
(function () {
  "use strict";
  var PREFIX = "nrm.screening.draft.";
  var SKIP = { csrf: true, key: true };
  var MAX_AGE = 24 * 60 * 60 * 1000; // a draft older than a day is dropped

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage disabled: no draft
    }
  }

  function clearAll() {
    var s = storage();
    if (!s) return;
    for (var i = s.length - 1; i >= 0; i--) {
      var k = s.key(i);
      if (k && k.indexOf(PREFIX) === 0) s.removeItem(k);
    }
  }

  // Sign-out clears every screening draft kept in this browser.
  document.querySelectorAll("form[data-signout]").forEach(function (f) {
    f.addEventListener("submit", clearAll);
  });

  // The page after the form: the draft was sent.
  document.querySelectorAll("[data-draft-clear]").forEach(function (el) {
    var s = storage();
    if (s) s.removeItem(el.getAttribute("data-draft-clear"));
  });

  var form = document.getElementById("screening-form");
  if (!form) return;
  // A form sent back with errors: the summary has the focus, so that a
  // screen reader reads it and Tab goes through its links first.
  var summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
  var key = form.getAttribute("data-draft-key");

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !SKIP[el.name] && el.type !== "hidden" && el.type !== "submit" && el.type !== "button";
    });
  }

  function save() {
    var s = storage();
    if (!s || !key) return;
    var values = {};
    fields().forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        if (!values[el.name]) values[el.name] = [];
        if (el.checked) values[el.name].push(el.value);
      } else {
        values[el.name] = [el.value];
      }
    });
    try {
      s.setItem(key, JSON.stringify({ saved: Date.now(), values: values }));
    } catch (e) {
      // full or refused: the form still works
    }
  }

  function restore() {
    var s = storage();
    if (!s || !key) return false;
    var draft;
    try {
      draft = JSON.parse(s.getItem(key) || "null");
    } catch (e) {
      draft = null;
    }
    if (!draft || !draft.values) return false;
    if (!draft.saved || Date.now() - draft.saved > MAX_AGE) {
      s.removeItem(key);
      return false;
    }
    fields().forEach(function (el) {
      var v = draft.values[el.name];
      if (!v) return;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = v.indexOf(el.value) >= 0;
      } else {
        el.value = v[0];
      }
    });
    var status = document.getElementById("draft-status");
    if (status) {
      status.textContent = status.getAttribute("data-restored");
      status.hidden = false;
    }
    return true;
  }

  // The consent section that applies follows the screening's track.
  function showTrack() {
    var result = document.querySelector("#screening-result [data-track]");
    if (!result) return;
    var track = result.getAttribute("data-track");
    form.querySelectorAll(".track[data-track]").forEach(function (el) {
      el.hidden = el.getAttribute("data-track") !== track;
    });
  }

  var timer = null;
  function saveSoon() {
    clearTimeout(timer);
    timer = setTimeout(save, 300);
  }

  // Back from keeping the screening on the device (offline.js, sw.js): the
  // draft was that screening, now kept encrypted; it must not stay in clear.
  var queued = /[?&]queued=1(&|$)/.test(window.location.search);
  if (queued && key && storage()) storage().removeItem(key);
  var restored = !queued && form.getAttribute("data-restore") === "true" && restore();
  form.addEventListener("input", saveSoon);
  form.addEventListener("change", saveSoon);
  document.body.addEventListener("htmx:afterSwap", showTrack);
  showTrack();

  if (restored) {
    // Ask the server for the result of the restored answers, once htmx
    // has set the form up.
    var refresh = function () {
      var live = form.querySelector(".screening__live");
      if (live && window.htmx) window.htmx.trigger(live, "change");
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", function () {
        setTimeout(refresh, 0);
      });
    } else {
      setTimeout(refresh, 0);
    }
  }

  // One submission per click: a second click while the first is on its
  // way sends nothing (after a while it may, should the first be lost).
  var sending = 0;
  form.addEventListener("submit", function (e) {
    save();
    if (sending && Date.now() - sending < 15000) {
      e.preventDefault();
      return;
    }
    sending = Date.now();
    var button = document.getElementById("screening-submit");
    if (button) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = button.getAttribute("data-sending");
    }
  });
  // Back to the page from the browser's cache: it may be sent again.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) sending = 0;
  });
})();
