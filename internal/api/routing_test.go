// The whole system (testenv: PostgreSQL, an embedded Temporal server) is
// left out of fuzzing builds (-tags fuzzing, .ci/run), so that fuzzing this
// package's decoders does not build the Temporal server with the fuzzer's
// instrumentation.

//go:build !fuzzing

package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// securityHeaders are the headers every answer carries (withSecurityHeaders).
var securityHeaders = []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy", "Cache-Control"}

func send(t *testing.T, srv *api.Server, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.App().Test(req, -1)
	testenv.Must(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}

// TestHeadAnswersLikeGet: every GET route answers HEAD with the GET's
// status and headers and no body — also when the GET is refused (401).
func TestHeadAnswersLikeGet(t *testing.T) {
	w := newLimitsWorld(t)
	srv := w.replica(api.Limits{})
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/healthz", "", http.StatusOK},
		{"/api/openapi.yaml", "", http.StatusOK},
		{"/api/v1/me", w.token, http.StatusOK},
		{"/api/v1/me", "", http.StatusUnauthorized},
		{"/api/v1/cases?limit=0", w.token, http.StatusUnprocessableEntity},
	} {
		get, body := send(t, srv, "GET", c.path, c.token)
		head, none := send(t, srv, "HEAD", c.path, c.token)
		if get.StatusCode != c.status || head.StatusCode != c.status {
			t.Errorf("%s: GET %d, HEAD %d, want %d", c.path, get.StatusCode, head.StatusCode, c.status)
		}
		if len(body) == 0 || len(none) != 0 {
			t.Errorf("%s: GET body %d bytes, HEAD body %d bytes; want a body, then none", c.path, len(body), len(none))
		}
		for _, h := range append([]string{"Content-Type", "Content-Length", "X-Request-Id"}, securityHeaders...) {
			if head.Header.Get(h) == "" || (h != "X-Request-Id" && head.Header.Get(h) != get.Header.Get(h)) {
				t.Errorf("%s: HEAD %s = %q, GET %q", c.path, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
	}
	// On the wire: the headers and nothing after them (net/http reads no
	// body of a HEAD answer, so look at the bytes).
	conn := dialServer(t, srv)
	fmt.Fprintf(conn, "HEAD /healthz HTTP/1.1\r\nHost: nrm\r\nConnection: close\r\n\r\n")
	raw, _ := io.ReadAll(conn)
	head, rest, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200") || !strings.Contains(head, "Content-Length: 15") || rest != "" {
		t.Errorf("HEAD /healthz on the wire: %q, want 200 with GET's Content-Length and no body", raw)
	}

	// Every GET route of the table is served for HEAD, as GET answers it
	// (here without a session: 401 except on the public routes), never 405.
	for _, r := range srv.Routes() {
		if r.Method != "GET" {
			continue
		}
		path := strings.NewReplacer(":id", uuid.NewString()).Replace(r.Path)
		get, _ := send(t, srv, "GET", path, "")
		head, _ := send(t, srv, "HEAD", path, "")
		if head.StatusCode != get.StatusCode || head.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s → %d, GET → %d", r.Path, head.StatusCode, get.StatusCode)
		}
	}
}

// TestOptionsListsTheMethods: OPTIONS on a route's path is 204 with the
// methods it serves in Allow, without a session.
func TestOptionsListsTheMethods(t *testing.T) {
	w := newLimitsWorld(t)
	srv := w.replica(api.Limits{})
	for path, want := range map[string]string{
		"/healthz":                             "GET, HEAD, OPTIONS",
		"/api/v1/cases":                        "POST, GET, HEAD, OPTIONS",
		"/api/v1/cases/" + uuid.NewString():    "GET, HEAD, PATCH, OPTIONS",
		"/api/v1/agencies/" + uuid.NewString(): "PATCH, OPTIONS",
	} {
		resp, body := send(t, srv, "OPTIONS", path, "")
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != want || len(body) != 0 {
			t.Errorf("OPTIONS %s → %d Allow %q %q, want 204 Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"), body, want)
		}
	}
	// A method the path does not serve is still 405, naming the methods.
	resp, _ := send(t, srv, "DELETE", "/healthz", "")
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") {
		t.Errorf("DELETE /healthz → %d Allow %q, want 405 naming GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestRoutingIsStrict: a trailing slash or another case is another path,
// not served (404 problem+json), never the route's answer.
func TestRoutingIsStrict(t *testing.T) {
	w := newLimitsWorld(t)
	srv := w.replica(api.Limits{})
	if resp, _ := send(t, srv, "GET", "/api/v1/me", w.token); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me → %d", resp.StatusCode)
	}
	for _, path := range []string{"/api/v1/me/", "/API/V1/ME", "/api/v1/Me", "/healthz/", "/HEALTHZ", "/api/v1/cases/", "/API/V1/CASES"} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := send(t, srv, method, path, w.token)
			if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("%s %s → %d %q %s, want 404 problem+json", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	}
}

// TestQueryParametersAreChecked: a list's limit, stage or status that is
// out of range or not a known code is a 422 naming the parameter.
func TestQueryParametersAreChecked(t *testing.T) {
	w := newLimitsWorld(t)
	srv := w.replica(api.Limits{})
	ctx := context.Background()
	provider := &store.User{Email: uuid.NewString() + "@example.org", Name: "Caseworker", Role: string(auth.Provider), AgencyID: w.user.AgencyID, PasswordHash: "x", Active: true}
	testenv.Must(t, w.st.CreateUser(ctx, provider))
	token, hash, err := auth.NewToken()
	testenv.Must(t, err)
	testenv.Must(t, w.st.CreateSession(ctx, hash, provider.ID, time.Now(), time.Now().Add(time.Hour)))

	for _, c := range []struct {
		path, token string
		fields      []string
	}{
		{"/api/v1/cases?limit=0", w.token, []string{"limit"}},
		{"/api/v1/cases?limit=501", w.token, []string{"limit"}},
		{"/api/v1/cases?limit=ten", w.token, []string{"limit"}},
		{"/api/v1/cases?limit=1.5", w.token, []string{"limit"}},
		{"/api/v1/cases?stage=nowhere", w.token, []string{"stage"}},
		{"/api/v1/cases?stage=Recovery&limit=-1", w.token, []string{"stage", "limit"}},
		{"/api/v1/referrals?status=lost", token, []string{"status"}},
		{"/api/v1/referrals?limit=100000", token, []string{"limit"}},
		{"/api/v1/referrals?status=declined&limit=x", token, []string{"status", "limit"}},
		{"/api/v1/notifications?limit=201", w.token, []string{"limit"}},
		{"/api/v1/notifications?unread=yes", w.token, []string{"unread"}},
	} {
		resp, body := send(t, srv, "GET", c.path, c.token)
		var p api.Problem
		json.Unmarshal(body, &p)
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
			if e.Rule == "" || e.Message == "" {
				t.Errorf("%s: error without rule or message: %+v", c.path, e)
			}
		}
		slices.Sort(fields)
		want := slices.Sorted(slices.Values(c.fields))
		if resp.StatusCode != http.StatusUnprocessableEntity || p.Type != "urn:nrm:problem:validation" || !slices.Equal(fields, want) {
			t.Errorf("GET %s → %d %s, want 422 naming %v", c.path, resp.StatusCode, body, want)
		}
	}
	// Valid values pass (the empty inbox needs no service behind it).
	if resp, body := send(t, srv, "GET", "/api/v1/notifications?limit=200&unread=true", w.token); resp.StatusCode != http.StatusOK {
		t.Errorf("valid notification query → %d %s", resp.StatusCode, body)
	}
}

// TestTooLargeCarriesRequestIDAndSecurityHeaders: fasthttp refuses a body
// over the limit before any middleware runs; the answer is still a
// problem with the request's ID and the security headers.
func TestTooLargeCarriesRequestIDAndSecurityHeaders(t *testing.T) {
	srv := api.New(api.Deps{Log: slog.New(slog.DiscardHandler), BodyLimit: 1 << 10})
	conn := dialServer(t, srv)
	// Headers alone, declaring a body over the limit: the server answers
	// on the declared length without reading a body.
	fmt.Fprintf(conn, "POST /api/v1/cases HTTP/1.1\r\nHost: nrm\r\nContent-Type: application/json\r\nX-Request-ID: client-id-0001\r\nContent-Length: %d\r\n\r\n", 2<<10)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	testenv.Must(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p api.Problem
	if err := json.Unmarshal(data, &p); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || p.Status != 413 ||
		p.Type != "urn:nrm:problem:too-large" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("oversized body → %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	id := resp.Header.Get("X-Request-ID")
	if _, err := uuid.Parse(id); err != nil || p.RequestID != id {
		t.Errorf("X-Request-ID %q, problem request_id %q: want the same server UUID", id, p.RequestID)
	}
	if got := resp.Header.Get("X-Client-Request-ID"); got != "client-id-0001" {
		t.Errorf("X-Client-Request-ID = %q, want the client's ID echoed", got)
	}
	for _, h := range securityHeaders {
		if resp.Header.Get(h) == "" {
			t.Errorf("413 lacks %s", h)
		}
	}
}

// dialServer serves srv on a loopback port and returns a connection to it,
// for tests that must see the bytes on the wire.
func dialServer(t *testing.T, srv *api.Server) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	go srv.App().Listener(ln)
	t.Cleanup(func() { srv.App().Shutdown() })
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	testenv.Must(t, err)
	t.Cleanup(func() { conn.Close() })
	testenv.Must(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	return conn
}
