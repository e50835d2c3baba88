package app_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so that tests see them.
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	testenv.Must(t, err)
	return &browser{base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(t *testing.T, method, path string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	testenv.Must(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	testenv.Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, string(data)
}

var (
	htmlLang   = regexp.MustCompile(`<html lang="([a-z]+)">`)
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	assetLinks = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)
)

// The sign-in page in the three languages, chosen by ?lang= (then kept),
// by Accept-Language, or the default.
func TestSignInPageLanguages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	for lang, text := range map[string]string{"tk": "Ulgama girmek", "ru": "Вход", "en": "Sign in"} {
		b := newBrowser(t, base)
		resp, page := b.do(t, "GET", "/login?lang="+lang, nil, nil)
		if resp.StatusCode != http.StatusOK || htmlLang.FindStringSubmatch(page) == nil || htmlLang.FindStringSubmatch(page)[1] != lang ||
			!strings.Contains(page, text) {
			t.Errorf("/login?lang=%s: %d, lang %v, want %q in the page", lang, resp.StatusCode, htmlLang.FindStringSubmatch(page), text)
		}
		// The choice is kept for the next page.
		if _, again := b.do(t, "GET", "/login", nil, nil); !strings.Contains(again, `<html lang="`+lang+`">`) {
			t.Errorf("lang %s not kept in the cookie", lang)
		}
	}
	b := newBrowser(t, base)
	if _, page := b.do(t, "GET", "/login", nil, http.Header{"Accept-Language": {"ru-RU,ru;q=0.9,en;q=0.5"}}); !strings.Contains(page, `<html lang="ru">`) {
		t.Errorf("Accept-Language ru-RU did not choose Russian")
	}
	if _, page := b.do(t, "GET", "/login", nil, http.Header{"Accept-Language": {"de-DE"}}); !strings.Contains(page, `<html lang="tk">`) {
		t.Errorf("an unknown language did not fall back to the default (tk)")
	}
}

// Pages allow only this site's files (no inline script or style), assets
// are served under content-hashed names for a year, and a page's HTML, CSS
// and JS stay under 150 KB compressed for slow mobile links.
func TestPagesAreStrictAndLight(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	b := newBrowser(t, "http://"+sys.APIAddr)
	resp, page := b.do(t, "GET", "/login?lang=tk", nil, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, "<style") || strings.Contains(page, " style=") {
		t.Errorf("the page has inline script or style")
	}
	total := gzipSize(t, page)
	links := assetLinks.FindAllStringSubmatch(page, -1)
	if len(links) < 2 {
		t.Fatalf("the page links %d assets, want the stylesheet and htmx", len(links))
	}
	for _, l := range links {
		if !regexp.MustCompile(`\.[0-9a-f]{8}\.(css|js)$`).MatchString(l[1]) {
			t.Errorf("asset %s has no content hash in its name", l[1])
		}
		resp, body := b.do(t, "GET", l[1], nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || len(body) == 0 {
			t.Errorf("%s: %d, Cache-Control %q", l[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		total += gzipSize(t, body)
	}
	if total > 150*1024 {
		t.Errorf("the sign-in page weighs %d bytes compressed, want under 150 KB", total)
	}
	t.Logf("sign-in page: %d bytes of HTML, CSS and JS compressed", total)
	if resp, _ := b.do(t, "GET", "/static/app.00000000.css", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown asset: %d, want 404", resp.StatusCode)
	}
}

func gzipSize(t *testing.T, s string) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write([]byte(s))
	testenv.Must(t, err)
	testenv.Must(t, w.Close())
	return buf.Len()
}

// Signing in and out through the pages: the same session, throttling and
// CSRF rules as the API; a page asked for before signing in is shown after.
func TestSignInThroughThePages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)

	b := newBrowser(t, base)
	resp, _ := b.do(t, "GET", "/?lang=en", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2F%3Flang%3Den" {
		t.Fatalf("the worklist without a session: %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A wrong password: the message in the page's language, the e-mail kept.
	resp, page := b.do(t, "POST", "/login?lang=ru", url.Values{"email": {"officer@lebap-police.example"}, "password": {"wrong password"}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Неверный адрес электронной почты или пароль") ||
		!strings.Contains(page, `value="officer@lebap-police.example"`) || !strings.Contains(page, `href="#email"`) {
		t.Errorf("wrong password: %d, want 401 with the Russian message, the e-mail kept and the error summary linking to the field", resp.StatusCode)
	}
	if resp, page := b.do(t, "POST", "/login", url.Values{"email": {""}, "password": {""}}, nil); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "Введите адрес электронной почты и пароль") {
		t.Errorf("empty form: %d, want 422 with the message", resp.StatusCode)
	}
	// Another site's form cannot sign the browser in.
	if resp, _ := b.do(t, "POST", "/login", url.Values{"email": {"officer@lebap-police.example"}, "password": {testenv.DemoPassword}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", resp.StatusCode)
	}
	// Signed in, back to the page asked for, never off the site.
	resp, _ = b.do(t, "POST", "/login", url.Values{"email": {"officer@lebap-police.example"}, "password": {testenv.DemoPassword}, "next": {"//evil.example/x"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in with a foreign next: %d to %q, want /", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.do(t, "GET", "/?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, opened.Number) || !strings.Contains(page, "/cases/"+opened.ID) ||
		!strings.Contains(page, "Lebap police officer") || !strings.Contains(page, "1 open case") {
		t.Errorf("worklist: %d, want the officer's case %s", resp.StatusCode, opened.Number)
	}
	// The case page: the identity for the owner, its reading audited like
	// the API's, the deadlines labelled from the case's SOP.
	audits := func() int {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'case.identity.read'`, opened.ID))
		return n
	}
	before := audits()
	resp, page = b.do(t, "GET", "/cases/"+opened.ID+"?lang=en", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, opened.Number) || !strings.Contains(page, "Aýna Berdiýewa") ||
		!strings.Contains(page, "Deadlines") || !strings.Contains(page, "Identification") || !strings.Contains(page, "days left") {
		t.Errorf("case page: %d, want the number, the person, the stage and the deadlines with time left", resp.StatusCode)
	}
	if n := audits(); n != before+1 {
		t.Errorf("case page: %d identity reads audited, want %d", n, before+1)
	}
	if _, tkPage := b.do(t, "GET", "/cases/"+opened.ID+"?lang=tk", nil, nil); !strings.Contains(tkPage, "Möhletler") || !strings.Contains(tkPage, "gün galdy") {
		t.Errorf("the Turkmen case page lacks its deadlines in Turkmen")
	}
	// Another agency's officer does not see it: not on the worklist, and
	// the case page is the 404 page, as the API answers 404.
	other := newBrowser(t, base)
	other.do(t, "POST", "/login", url.Values{"email": {"officer@dashoguz-police.example"}, "password": {testenv.DemoPassword}}, nil)
	if _, page := other.do(t, "GET", "/?lang=en", nil, nil); strings.Contains(page, opened.Number) || !strings.Contains(page, "0 open cases") {
		t.Errorf("another agency's worklist shows the case")
	}
	for _, path := range []string{"/cases/" + opened.ID, "/cases/00000000-0000-0000-0000-000000000000", "/cases/not-a-case"} {
		if resp, page := other.do(t, "GET", path+"?lang=en", nil, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "Page not found") ||
			strings.Contains(page, opened.Number) || strings.Contains(page, "Aýna") {
			t.Errorf("%s for another agency: %d, want the 404 page and nothing of the case", path, resp.StatusCode)
		}
	}
	if n := audits(); n != before+2 {
		t.Errorf("a refused case page was audited as a read: %d reads", n)
	}
	// Sign-out needs the session's CSRF token.
	if resp, _ := b.do(t, "POST", "/logout", url.Values{"csrf": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the CSRF token: %d, want 403", resp.StatusCode)
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page has no CSRF field")
	}
	if resp, _ := b.do(t, "POST", "/logout", url.Values{"csrf": {m[1]}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d, want 303", resp.StatusCode)
	}
	if resp, _ := b.do(t, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out the worklist answers %d, want a redirect to sign in", resp.StatusCode)
	}
}

// Unknown pages are an HTML 404 in the user's language; unknown API paths
// keep the API's problem answer.
func TestUnknownPages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	b := newBrowser(t, "http://"+sys.APIAddr)
	if resp, page := b.do(t, "GET", "/no/such/page?lang=tk", nil, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "Sahypa tapylmady") {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	if resp, body := b.do(t, "GET", "/api/v1/no-such-thing", nil, nil); resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(resp.Header.Get("Content-Type"), "problem+json") || strings.Contains(body, "<html") {
		t.Errorf("unknown API path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
