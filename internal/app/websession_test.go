package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
)

const sessionCookie = "__Host-nrm_session"

// webClient is a browser-like caller: the session cookie, and the CSRF token
// it was given, sent only when a test says so.
type webClient struct {
	base   string
	http   *http.Client
	cookie *http.Cookie
	csrf   string
}

type webAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a webAnswer) problemType(t *testing.T) string {
	t.Helper()
	var p problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("not a problem: %d %s", a.status, a.body)
	}
	return p.Type
}

func (w *webClient) do(t *testing.T, method, path string, body any, header http.Header) webAnswer {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		testenv.Must(t, err)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, w.base+path, r)
	testenv.Must(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if w.cookie != nil {
		req.AddCookie(&http.Cookie{Name: w.cookie.Name, Value: w.cookie.Value})
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := w.http.Do(req)
	testenv.Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return webAnswer{status: resp.StatusCode, header: resp.Header, body: data}
}

func (w *webClient) withCSRF(extra ...string) http.Header {
	h := http.Header{"X-Csrf-Token": {w.csrf}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

// webLogin signs in for a cookie session and checks the cookie's attributes.
func webLogin(t *testing.T, sys *app.System, email string) *webClient {
	t.Helper()
	w := &webClient{base: "http://" + sys.APIAddr, http: &http.Client{Timeout: 30 * time.Second}}
	a := w.do(t, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": testenv.DemoPassword, "cookie": true}, nil)
	if a.status != http.StatusOK {
		t.Fatalf("cookie login: %d %s", a.status, a.body)
	}
	var out struct {
		Token     *string   `json:"token"`
		CSRFToken string    `json:"csrf_token"`
		ExpiresAt time.Time `json:"expires_at"`
		User      struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	testenv.Must(t, json.Unmarshal(a.body, &out))
	if out.Token != nil || out.CSRFToken == "" || out.User.Email != email {
		t.Fatalf("cookie login answers %s: want a CSRF token, the user and no session token", a.body)
	}
	raws := a.header.Values("Set-Cookie")
	resp := http.Response{Header: a.header}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			w.cookie = c
		}
	}
	if w.cookie == nil || len(raws) != 1 {
		t.Fatalf("cookie login sets %q, want one %s cookie", raws, sessionCookie)
	}
	c, raw := w.cookie, raws[0]
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" ||
		strings.Contains(strings.ToLower(raw), "domain=") {
		t.Errorf("session cookie %q: want Secure, HttpOnly, SameSite=Strict, Path=/, no Domain", raw)
	}
	if life := time.Until(out.ExpiresAt); c.MaxAge <= 0 || abs(time.Duration(c.MaxAge)*time.Second-life) > time.Minute {
		t.Errorf("session cookie Max-Age %d, want the session's lifetime %s", c.MaxAge, life)
	}
	if len(c.Value) < 40 || bytes.Contains(a.body, []byte(c.Value)) || c.Value == out.CSRFToken {
		t.Errorf("the answer reveals the session token, or the cookie holds no token")
	}
	w.csrf = out.CSRFToken
	return w
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestWebSessionCookieAndCSRF(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	const email = "officer@lebap-police.example"
	web := webLogin(t, sys, email)
	bearer := testenv.NewClient(sys).Login(t, email)

	countCases := func() int {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM cases`))
		return n
	}
	listed := func() int {
		var out struct {
			Cases []caseBody `json:"cases"`
		}
		mustStatus(t, "list cases", bearer.Do(t, "GET", "/api/v1/cases", nil, &out), http.StatusOK)
		return len(out.Cases)
	}

	// Reads need the cookie only; /me answers the CSRF token again.
	if a := web.do(t, "GET", "/api/v1/cases", nil, nil); a.status != http.StatusOK {
		t.Fatalf("GET with the cookie: %d %s", a.status, a.body)
	}
	a := web.do(t, "GET", "/api/v1/me", nil, nil)
	var me struct {
		Email     string `json:"email"`
		CSRFToken string `json:"csrf_token"`
	}
	testenv.Must(t, json.Unmarshal(a.body, &me))
	if a.status != http.StatusOK || me.Email != email || me.CSRFToken != web.csrf {
		t.Errorf("GET /me with the cookie: %d %s, want the user and the login's CSRF token", a.status, a.body)
	}
	var bearerMe map[string]any
	mustStatus(t, "bearer me", bearer.Do(t, "GET", "/api/v1/me", nil, &bearerMe), http.StatusOK)
	if _, ok := bearerMe["csrf_token"]; ok {
		t.Errorf("GET /me with a bearer token answers a CSRF token: %v", bearerMe)
	}

	// Unsafe requests with the cookie but without the session's CSRF token,
	// or from another site, are refused and change nothing.
	other := webLogin(t, sys, email) // another session of the same user
	host := strings.TrimPrefix(web.base, "http://")
	refused := map[string]http.Header{
		"no CSRF header":               nil,
		"empty CSRF header":            {"X-Csrf-Token": {""}},
		"wrong CSRF token":             {"X-Csrf-Token": {strings.Repeat("A", len(web.csrf))}},
		"another session's CSRF token": {"X-Csrf-Token": {other.csrf}},
		"CSRF token in the query only": nil,
		"cross-site Origin":            web.withCSRF("Origin", "https://evil.example"),
		"Origin null":                  web.withCSRF("Origin", "null"),
		"Sec-Fetch-Site cross-site":    web.withCSRF("Sec-Fetch-Site", "cross-site"),
		"Sec-Fetch-Site same-site":     web.withCSRF("Sec-Fetch-Site", "same-site", "Origin", "http://"+host),
		"Origin of another port":       web.withCSRF("Origin", "http://127.0.0.1:1"),
		"cross-site, Origin this host": web.withCSRF("Sec-Fetch-Site", "cross-site", "Origin", "http://"+host),
	}
	for name, h := range refused {
		path := "/api/v1/cases"
		if name == "CSRF token in the query only" {
			path += "?csrf_token=" + web.csrf
		}
		a := web.do(t, "POST", path, testenv.Screening(), h)
		if a.status != http.StatusForbidden || a.problemType(t) != "urn:nrm:problem:csrf" ||
			!strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s, want 403 problem csrf", name, a.status, a.body)
		}
	}
	if n, l := countCases(), listed(); n != 0 || l != 0 {
		t.Fatalf("refused requests opened cases: %d in the database, %d listed", n, l)
	}

	// The right token, from the same origin or without browser headers: 201.
	for name, h := range map[string]http.Header{
		"CSRF token":                  web.withCSRF(),
		"CSRF token, same origin":     web.withCSRF("Sec-Fetch-Site", "same-origin", "Origin", "http://"+host),
		"CSRF token, Origin only":     web.withCSRF("Origin", "http://"+host),
		"CSRF token, other's session": other.withCSRF(),
	} {
		c := web
		if strings.Contains(name, "other") {
			c = other
		}
		if a := c.do(t, "POST", "/api/v1/cases", testenv.Screening(), h); a.status != http.StatusCreated {
			t.Errorf("%s: %d %s, want 201", name, a.status, a.body)
		}
	}
	// Bearer requests need no CSRF token, even with a stray cookie or a
	// foreign Origin (no browser attaches a bearer token by itself).
	if st := bearer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), nil); st != http.StatusCreated {
		t.Errorf("bearer POST without CSRF header: %d, want 201", st)
	}
	resp := bearer.Raw(t, "POST", "/api/v1/cases", testenv.Screening(),
		http.Header{"Cookie": {sessionCookie + "=" + web.cookie.Value}, "Origin": {"https://evil.example"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("bearer POST with a cookie and a foreign Origin: %d, want 201", resp.StatusCode)
	}
	if n, l := countCases(), listed(); n != 6 || l != 6 {
		t.Errorf("%d cases in the database, %d listed; want 6", n, l)
	}

	// A cookie login from another site is refused and sets no cookie.
	a = web.do(t, "POST", "/api/v1/auth/login", map[string]any{"email": email, "password": testenv.DemoPassword, "cookie": true},
		http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if a.status != http.StatusForbidden || a.header.Get("Set-Cookie") != "" {
		t.Errorf("cross-site cookie login: %d, Set-Cookie %q; want 403 and no cookie", a.status, a.header.Get("Set-Cookie"))
	}

	// Logout needs the CSRF token too, then clears the cookie and ends the session.
	if a := web.do(t, "POST", "/api/v1/auth/logout", nil, nil); a.status != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d, want 403", a.status)
	}
	if a := web.do(t, "GET", "/api/v1/me", nil, nil); a.status != http.StatusOK {
		t.Fatalf("a refused logout ended the session: %d", a.status)
	}
	a = web.do(t, "POST", "/api/v1/auth/logout", nil, web.withCSRF())
	if a.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", a.status, a.body)
	}
	cleared := false
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		cleared = cleared || (c.Name == sessionCookie && c.MaxAge < 0 && c.Value == "" && c.Secure && c.Path == "/")
	}
	if !cleared || !strings.Contains(a.header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout sets %q, want the session cookie cleared with Max-Age=0", a.header.Values("Set-Cookie"))
	}
	for _, r := range []struct {
		method, path string
		body         any
	}{{"GET", "/api/v1/me", nil}, {"GET", "/api/v1/cases", nil}, {"POST", "/api/v1/cases", testenv.Screening()}} {
		if a := web.do(t, r.method, r.path, r.body, web.withCSRF()); a.status != http.StatusUnauthorized {
			t.Errorf("%s %s with the cookie after logout: %d, want 401", r.method, r.path, a.status)
		}
	}
	// The other session lives on; the bearer session too.
	if a := other.do(t, "GET", "/api/v1/me", nil, nil); a.status != http.StatusOK {
		t.Errorf("logout ended another session: %d", a.status)
	}
	mustStatus(t, "bearer after the cookie logout", bearer.Do(t, "GET", "/api/v1/me", nil, nil), http.StatusOK)
}
