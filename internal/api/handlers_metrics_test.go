package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/metrics"
)

// TestMetricsRouteProtection: /metrics on the API exists only with a
// registry and a token, and then answers only that token.
func TestMetricsRouteProtection(t *testing.T) {
	const token = "0123456789abcdef-metrics"
	get := func(s *Server, auth string) (int, http.Header, string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := s.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header, string(body)
	}
	log := slog.New(slog.DiscardHandler)
	for name, d := range map[string]Deps{
		"no registry": {Log: log, MetricsToken: token},
		"no token":    {Log: log, Metrics: metrics.New()},
	} {
		s := New(d)
		for _, auth := range []string{"", "Bearer " + token} {
			if st, _, _ := get(s, auth); st != http.StatusNotFound {
				t.Errorf("%s, Authorization %q: %d, want 404", name, auth, st)
			}
		}
	}

	s := New(Deps{Log: log, Metrics: metrics.New(), MetricsToken: token})
	for _, auth := range []string{"", "Bearer", "Bearer wrong-token-of-some-length", "Basic " + token, "Bearer " + token + "x", "Bearer " + token[:len(token)-1]} {
		st, h, _ := get(s, auth)
		if st != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d (WWW-Authenticate %q), want 401 with a Bearer challenge", auth, st, h.Get("WWW-Authenticate"))
		}
	}
	get(s, "")                                  // observed as a 401 of the template /metrics
	get(s, "Bearer "+token)                     // and the 200 below
	st, h, body := get(s, "bearer  "+token+" ") // the scheme is case-insensitive
	if st != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("with the token: %d %s", st, h.Get("Content-Type"))
	}
	for _, want := range []string{
		`nrm_http_request_duration_seconds_count{method="GET",route="/metrics",status="401"} 7`,
		`nrm_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"} 1`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}
