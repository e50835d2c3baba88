// Screenings taken offline: the device's queue (IndexedDB) and its
// encryption, shared by the screening page (offline.js) and the service
// worker (sw.js). See docs/web.md#screenings-taken-offline.
//
// A queued screening is the form as sent (application/x-www-form-urlencoded),
// encrypted for the officer who took it: ECDH P-256 between a one-time key
// and the officer's public key (given by the form page), HKDF-SHA-256, then
// AES-256-GCM, bound to the officer and the form's key. The one-time private
// key is dropped at once, so the device cannot decrypt what it keeps: the
// officer's private key comes from the server, to a signed-in session of
// that officer, when the queue is sent. In clear beside it: the form's key,
// the officer's ID, when it was taken and the region (what the page lists).
(function (g) {
  "use strict";
  var DB = "nrm-offline";
  var QUEUE = "queue";
  var META = "meta";
  var INFO = "nrm-offline-screening-v1";
  var EC = { name: "ECDH", namedCurve: "P-256" };
  var text = new TextEncoder();

  var opening = null;
  function open() {
    if (opening) return opening;
    opening = new Promise(function (resolve, reject) {
      var req = g.indexedDB.open(DB, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains(QUEUE)) db.createObjectStore(QUEUE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: "name" });
      };
      req.onsuccess = function () {
        var db = req.result;
        // Another page deleting the database (sign-out) closes this one.
        db.onversionchange = function () {
          db.close();
          opening = null;
        };
        resolve(db);
      };
      req.onerror = function () {
        opening = null;
        reject(req.error);
      };
    });
    return opening;
  }

  // run runs fn(store) in a transaction and answers what its last request gave.
  function run(name, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var req = fn(tx.objectStore(name));
        tx.oncomplete = function () {
          resolve(req ? req.result : undefined);
        };
        tx.onerror = tx.onabort = function () {
          reject(tx.error);
        };
      });
    });
  }

  function aad(user, id) {
    return text.encode(INFO + "|" + user + "|" + id);
  }

  // keyFor derives the AES-GCM key of one screening from an ECDH secret.
  function keyFor(bits, ephemeral, usage) {
    return g.crypto.subtle.importKey("raw", bits, "HKDF", false, ["deriveKey"]).then(function (hkdf) {
      return g.crypto.subtle.deriveKey({ name: "HKDF", hash: "SHA-256", salt: ephemeral, info: text.encode(INFO) },
        hkdf, { name: "AES-GCM", length: 256 }, false, [usage]);
    });
  }

  // seal encrypts body for the officer whose public key (JWK) is given.
  function seal(publicJwk, user, id, body) {
    var subtle = g.crypto.subtle;
    var recipient, pair, ephemeral;
    return subtle.importKey("jwk", publicJwk, EC, false, []).then(function (k) {
      recipient = k;
      return subtle.generateKey(EC, false, ["deriveBits"]);
    }).then(function (p) {
      pair = p;
      return subtle.exportKey("raw", pair.publicKey);
    }).then(function (raw) {
      ephemeral = new Uint8Array(raw);
      return subtle.deriveBits({ name: "ECDH", public: recipient }, pair.privateKey, 256);
    }).then(function (bits) {
      return keyFor(bits, ephemeral, "encrypt");
    }).then(function (key) {
      var iv = g.crypto.getRandomValues(new Uint8Array(12));
      return subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: aad(user, id) }, key, text.encode(body)).then(function (data) {
        return { ephemeral: ephemeral, iv: iv, data: data };
      });
    });
  }

  // unseal decrypts a queued screening with the officer's private key
  // (a CryptoKey, non-extractable, from importPrivate).
  function unseal(privateKey, rec) {
    var subtle = g.crypto.subtle;
    return subtle.importKey("raw", rec.sealed.ephemeral, EC, true, []).then(function (eph) {
      return subtle.deriveBits({ name: "ECDH", public: eph }, privateKey, 256);
    }).then(function (bits) {
      return keyFor(bits, rec.sealed.ephemeral, "decrypt");
    }).then(function (key) {
      return subtle.decrypt({ name: "AES-GCM", iv: rec.sealed.iv, additionalData: aad(rec.user, rec.id) }, key, rec.sealed.data);
    }).then(function (plain) {
      return new TextDecoder().decode(plain);
    });
  }

  function importPrivate(jwk) {
    return g.crypto.subtle.importKey("jwk", jwk, EC, false, ["deriveBits"]);
  }

  // newKey makes a form key as the server does: 16 random bytes in hex.
  function newKey() {
    var b = g.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(b, function (x) {
      return (x < 16 ? "0" : "") + x.toString(16);
    }).join("");
  }

  // keep queues the form body (a string) sent by the officer whose ID and
  // public key the form page stored as "current".
  function keep(body, takenAt) {
    return run(META, "readonly", function (s) {
      return s.get("current");
    }).then(function (current) {
      if (!current || !current.user || !current.publicKey) throw new Error("no officer's key on this device");
      var params = new URLSearchParams(body);
      var id = params.get("key");
      if (!/^[0-9a-f]{32}$/.test(id || "")) {
        id = newKey();
        params.set("key", id);
      }
      params.delete("csrf"); // the session's token is added when sent
      return seal(current.publicKey, current.user, id, params.toString()).then(function (sealed) {
        var rec = { id: id, user: current.user, takenAt: takenAt || Date.now(), region: params.get("region") || "",
          status: "waiting", sealed: sealed };
        return run(QUEUE, "readwrite", function (s) {
          return s.put(rec);
        }).then(function () {
          return rec;
        });
      });
    });
  }

  g.NRMOffline = {
    seal: seal,
    unseal: unseal,
    importPrivate: importPrivate,
    newKey: newKey,
    keep: keep,
    all: function () {
      return run(QUEUE, "readonly", function (s) {
        return s.getAll();
      });
    },
    put: function (rec) {
      return run(QUEUE, "readwrite", function (s) {
        return s.put(rec);
      });
    },
    remove: function (id) {
      return run(QUEUE, "readwrite", function (s) {
        return s.delete(id);
      });
    },
    setCurrent: function (user, publicKey) {
      return run(META, "readwrite", function (s) {
        return s.put({ name: "current", user: user, publicKey: publicKey });
      });
    },
    // erase deletes the whole database (sign-out).
    erase: function () {
      return new Promise(function (resolve) {
        var wait = opening ? opening.then(function (db) {
          db.close();
        }, function () {}) : Promise.resolve();
        opening = null;
        wait.then(function () {
          var req = g.indexedDB.deleteDatabase(DB);
          req.onsuccess = req.onerror = req.onblocked = function () {
            resolve();
          };
        });
      });
    }
  };
})(self);
