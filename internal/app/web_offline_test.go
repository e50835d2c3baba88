package app_test

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

var (
	offlinePublicKeyAttr = regexp.MustCompile(`data-public-key="([^"]+)"`)
	offlineUserAttr      = regexp.MustCompile(`data-user="([^"]+)"`)
	swAssets             = regexp.MustCompile(`var NRM_ASSETS = (\[[^\]]*\]);`)
)

type offlineKeyAnswer struct {
	User string `json:"user"`
	CSRF string `json:"csrf"`
	Key  struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		D   string `json:"d"`
	} `json:"key"`
}

// offlineKeyOf asks for the signed-in user's offline key, as the page does.
func offlineKeyOf(t *testing.T, b *browser) (int, offlineKeyAnswer, http.Header) {
	t.Helper()
	resp, body := b.do(t, "GET", "/cases/new/offline-key", nil, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	var k offlineKeyAnswer
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &k); err != nil {
			t.Fatalf("the offline key is no JSON: %v", err)
		}
	}
	return resp.StatusCode, k, resp.Header
}

// The service worker is served at a stable URL for the screening form's
// scope and lists the form's assets, which are served; the form page
// carries the officer's public key, and /cases/new/offline-key answers the
// matching private key to that officer's session only: the same in every
// session of theirs (a queue survives signing in again), another for
// another officer, none without a session, to another site or role.
func TestOfflineScreeningWorkerAndKeys(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr

	anon := newBrowser(t, base)
	resp, sw := anon.do(t, "GET", "/sw.js", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /sw.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("the service worker's Cache-Control is %q, want no-cache (browsers must see a new release)", cc)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the service worker's CSP %q does not let it import its store script", csp)
	}
	if !strings.Contains(sw, `var NRM_SCOPE = "/cases/new";`) || !strings.Contains(sw, "importScripts(NRM_STORE)") {
		t.Errorf("the service worker lacks its scope or store:\n%.600s", sw)
	}
	m := swAssets.FindStringSubmatch(sw)
	if m == nil {
		t.Fatalf("the service worker lists no assets:\n%.600s", sw)
	}
	var assets []string
	testenv.Must(t, json.Unmarshal([]byte(m[1]), &assets))
	if len(assets) < 5 {
		t.Errorf("the service worker keeps %v, want the CSS, htmx and the three scripts", assets)
	}
	for _, a := range assets {
		if r, _ := anon.do(t, "GET", a, nil, nil); r.StatusCode != http.StatusOK {
			t.Errorf("the service worker keeps %s, which answers %d", a, r.StatusCode)
		}
	}

	if status, _, h := offlineKeyOf(t, anon); status != http.StatusUnauthorized || h.Get("Cache-Control") != "no-store" {
		t.Errorf("the offline key without a session: %d (Cache-Control %q), want 401 and no-store", status, h.Get("Cache-Control"))
	}

	officer := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	page, csrf, _ := formOf(t, officer, "/cases/new")
	if !strings.Contains(page, `src="/static/offline.`) || !strings.Contains(page, `src="/static/offline-store.`) {
		t.Errorf("the screening form does not load its offline scripts")
	}
	pm := offlinePublicKeyAttr.FindStringSubmatch(page)
	um := offlineUserAttr.FindStringSubmatch(page)
	if pm == nil || um == nil {
		t.Fatalf("the screening form carries no public key or user")
	}
	var public struct{ Kty, Crv, X, Y, D string }
	testenv.Must(t, json.Unmarshal([]byte(html.UnescapeString(pm[1])), &public))
	if public.Kty != "EC" || public.Crv != "P-256" || public.D != "" {
		t.Errorf("the page's key: %+v, want a P-256 public key without its private part", public)
	}

	status, key, h := offlineKeyOf(t, officer)
	if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("the officer's offline key: %d (Cache-Control %q)", status, h.Get("Cache-Control"))
	}
	if key.User != um[1] || key.CSRF != csrf {
		t.Errorf("the offline key is for %s with CSRF %q, want the page's user %s and token %q", key.User, key.CSRF, um[1], csrf)
	}
	d, err := base64.RawURLEncoding.DecodeString(key.Key.D)
	testenv.Must(t, err)
	priv, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		t.Fatalf("the private key is no P-256 key: %v", err)
	}
	pub := priv.PublicKey().Bytes()
	if base64.RawURLEncoding.EncodeToString(pub[1:33]) != public.X || base64.RawURLEncoding.EncodeToString(pub[33:]) != public.Y ||
		key.Key.X != public.X || key.Key.Y != public.Y {
		t.Errorf("the private key does not match the page's public key")
	}

	// Another session of the same officer: the same key.
	again := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)
	if _, k2, _ := offlineKeyOf(t, again); k2.Key.D != key.Key.D || k2.CSRF == key.CSRF {
		t.Errorf("a new session of the officer gets another key (or the same CSRF token): the queue would not survive signing in again")
	}
	// Another officer: another key.
	other := signInPages(t, base, "officer@dashoguz-police.example", testenv.DemoPassword)
	if _, k3, _ := offlineKeyOf(t, other); k3.Key.D == "" || k3.Key.D == key.Key.D {
		t.Errorf("another officer gets the same key, or none")
	}
	// Another site, another role.
	if r, _ := officer.do(t, "GET", "/cases/new/offline-key", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("the offline key asked for from another site: %d, want 403", r.StatusCode)
	}
	supervisor := signInPages(t, base, "supervisor@lebap-police.example", testenv.DemoPassword)
	if status, _, _ := offlineKeyOf(t, supervisor); status != http.StatusForbidden {
		t.Errorf("a supervisor's offline key: %d, want 403 (only frontline officers screen)", status)
	}
}
