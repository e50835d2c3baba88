package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestStrictRoutingBesideThePages: with the web UI mounted on the same app,
// a trailing slash or another case is not another name of an API route
// (404), HEAD answers wherever GET does, OPTIONS lists a route's methods —
// and the pages and their assets are still served.
func TestStrictRoutingBesideThePages(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	bearer := http.Header{"Authorization": {"Bearer " + officer.Token}}
	b := newBrowser(t, "http://"+sys.APIAddr)

	if resp, _ := b.do(t, "GET", "/api/v1/cases", nil, bearer); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/cases: %d", resp.StatusCode)
	}
	for _, path := range []string{"/api/v1/cases/", "/API/V1/CASES", "/Api/v1/cases", "/api/v1/Cases", "/healthz/", "/HEALTHZ", "/api/v1/me/"} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := b.do(t, method, path, nil, bearer)
			if resp.StatusCode != http.StatusNotFound || strings.Contains(body, `"cases"`) {
				t.Errorf("%s %s: %d, want 404", method, path, resp.StatusCode)
			}
		}
	}
	// A case variant under /api/ is an unknown API path: problem+json.
	if resp, _ := b.do(t, "GET", "/api/v1/CASES", nil, bearer); !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("GET /api/v1/CASES: Content-Type %q, want a problem", resp.Header.Get("Content-Type"))
	}

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/api/openapi.yaml": 200, "/api/v1/me": 401} {
		get, _ := b.do(t, "GET", path, nil, nil)
		head, body := b.do(t, "HEAD", path, nil, nil)
		if get.StatusCode != want || head.StatusCode != want || body != "" || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("%s: GET %d, HEAD %d %q %q, want %d with GET's Content-Type", path, get.StatusCode, head.StatusCode,
				head.Header.Get("Content-Type"), body, want)
		}
	}
	if resp, _ := b.do(t, "HEAD", "/api/v1/cases", nil, bearer); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /api/v1/cases with a session: %d", resp.StatusCode)
	}
	if resp, _ := b.do(t, "OPTIONS", "/healthz", nil, nil); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS /healthz: %d Allow %q, want 204 GET, HEAD, OPTIONS", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// The pages: the sign-in page and its assets (GET and HEAD), the
	// worklist sends the visitor to sign in.
	resp, page := b.do(t, "GET", "/login", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /login: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := b.do(t, "HEAD", "/login", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD /login: %d", resp.StatusCode)
	}
	links := assetLinks.FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatalf("the sign-in page links no asset")
	}
	for _, l := range links {
		for _, method := range []string{"GET", "HEAD"} {
			if resp, _ := b.do(t, method, l[1], nil, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: %d", method, l[1], resp.StatusCode)
			}
		}
	}
	if resp, _ := b.do(t, "GET", "/", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("GET /: %d Location %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.do(t, "GET", "/LOGIN", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /LOGIN: %d, want 404", resp.StatusCode)
	}
}
