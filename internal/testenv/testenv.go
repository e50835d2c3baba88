// Package testenv starts real dependencies for tests: a fresh PostgreSQL
// database per test (dropped afterwards) and the whole NRM system in-process
// with an embedded Temporal server.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/config"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/store"
)

// DemoPassword is the password of the demo users in tests.
const DemoPassword = "correct horse battery staple"

// MetricsToken is the NRM_METRICS_TOKEN of the systems Config makes: their
// API serves /metrics to it (and 401 to everybody else).
const MetricsToken = "test-metrics-token-0123456789"

// RepoRoot is the module's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// serverURL is the PostgreSQL server the tests use; NRM_TEST_DATABASE_URL overrides it.
func serverURL() string {
	if u := os.Getenv("NRM_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Database creates an empty database for the test and drops it at cleanup.
func Database(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	name := "nrm_test_" + hex.EncodeToString(b)
	u := withDatabase(serverURL(), name)
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, u); err != nil {
		tb.Fatalf("create test database (is PostgreSQL running on 127.0.0.1:5432?): %v", err)
	}
	tb.Cleanup(func() {
		if err := store.DropDatabase(context.Background(), u); err != nil {
			tb.Logf("drop %s: %v", name, err)
		}
	})
	return u
}

func withDatabase(serverURL, name string) string {
	// Replace the path of the URL with the database name.
	var scheme, rest string
	for i := 0; i+3 <= len(serverURL); i++ {
		if serverURL[i:i+3] == "://" {
			scheme, rest = serverURL[:i+3], serverURL[i+3:]
			break
		}
	}
	host, query := rest, ""
	for i, ch := range rest {
		if ch == '?' {
			host, query = rest[:i], rest[i:]
			break
		}
	}
	for i, ch := range host {
		if ch == '/' {
			host = host[:i]
			break
		}
	}
	return scheme + host + "/" + name + query
}

// Config returns a configuration for an in-process system on free ports.
func Config(tb testing.TB, databaseURL, dataDir string) *config.Config {
	tb.Helper()
	cfg, _, err := config.Load("test", []string{
		"--database-url", databaseURL,
		"--addr", "127.0.0.1:0",
		"--temporal-addr", "127.0.0.1:0",
		"--data-dir", dataDir,
		"--sop", filepath.Join(RepoRoot(), "sop"),
		"--task-queue", "nrm-test",
		"--log-level", "warn",
		// Tests sign in many users from one address within a minute.
		"--login-rate", "10000",
		"--user-rate", "100000",
	}, io.Discard)
	if err != nil {
		tb.Fatalf("config: %v", err)
	}
	cfg.MetricsToken = MetricsToken
	return cfg
}

// Logger writes the system's warnings and errors into the test log.
func Logger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewJSONHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Start runs the whole system as `nrm dev` does, with the demo data, and
// stops it at cleanup.
func Start(tb testing.TB, cfg *config.Config) *app.System {
	tb.Helper()
	return StartWith(tb, cfg, nil)
}

// FastSOP is the SOP whose deadlines are seconds, for tests that wait for them.
func FastSOP() string {
	return filepath.Join(RepoRoot(), "internal", "sop", "testdata", "fast.yaml")
}

// StartWith is Start with settings of the embedded Temporal server overridden.
func StartWith(tb testing.TB, cfg *config.Config, temporalDynamicConfig map[string]any) *app.System {
	tb.Helper()
	ctx := context.Background()
	parts := app.Parts{EmbeddedTemporal: true, Migrate: true, Worker: true, API: true, TemporalDynamicConfig: temporalDynamicConfig}
	sys, err := app.Start(ctx, cfg, Logger(tb), parts)
	// The embedded Temporal picks free ports and binds them a moment later;
	// with tests (and browsers) opening ports beside it, another process can
	// take one in between. Starting again picks new ports.
	for attempt := 1; err != nil && strings.Contains(err.Error(), "address already in use") && attempt < 3; attempt++ {
		tb.Logf("start system: a port was taken meanwhile; starting again (%v)", err)
		sys, err = app.Start(ctx, cfg, Logger(tb), parts)
	}
	if err != nil {
		tb.Fatalf("start system: %v", err)
	}
	tb.Cleanup(sys.Stop)
	if _, err := demo.Seed(ctx, sys.Store, DemoPassword); err != nil {
		tb.Fatalf("demo data: %v", err)
	}
	// Ready as `nrm dev` is before it answers /readyz 200: its worker polls.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := sys.WaitReady(wctx); err != nil {
		tb.Fatalf("system not ready: %v", err)
	}
	return sys
}

// Client speaks to the API as a browser-less client does.
type Client struct {
	Base  string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client of the system's API.
func NewClient(sys *app.System) *Client {
	return &Client{Base: "http://" + sys.APIAddr, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Login signs in as a demo user and keeps the token.
func (c *Client) Login(tb testing.TB, email string) *Client {
	tb.Helper()
	return c.LoginWith(tb, email, DemoPassword)
}

// LoginWith signs in with a password and keeps the token.
func (c *Client) LoginWith(tb testing.TB, email, password string) *Client {
	tb.Helper()
	out := &Client{Base: c.Base, HTTP: c.HTTP}
	var resp struct {
		Token string `json:"token"`
	}
	status := out.Do(tb, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &resp)
	if status != http.StatusOK || resp.Token == "" {
		tb.Fatalf("login %s: status %d", email, status)
	}
	out.Token = resp.Token
	return out
}

// Do sends body as JSON (or raw when it is []byte) and decodes the answer into out.
func (c *Client) Do(tb testing.TB, method, path string, body, out any) int {
	tb.Helper()
	resp := c.Raw(tb, method, path, body, nil)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read: %v", method, path, err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// Raw sends a request and returns the response unread.
func (c *Client) Raw(tb testing.TB, method, path string, body any, header http.Header) *http.Response {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("encode: %v", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.Base+path, r)
	if err != nil {
		tb.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// Screening is a valid case-opening body (docs/api.md#opening-a-case) with indicators of
// the Turkmenistan SOP; tests change what they need.
func Screening() map[string]any {
	return map[string]any{
		"person": map[string]any{
			"given_name": "Aýna", "family_name": "Berdiýewa", "birth_date": "2001-05-14",
			"sex": "female", "citizenship": "TM", "languages": []string{"tk", "ru"},
			"phone": "+99365000000", "document_number": "I-AŞ 123456",
		},
		"encounter": map[string]any{
			"occurred_at": time.Now().Add(-2 * time.Hour).Format(time.RFC3339), "region": "lebap",
			"place": "Turkmenabat railway station", "context": "border_check",
		},
		"indicators": []string{"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay",
			"documents_withheld", "debt_bondage", "restricted_movement"},
		"exploitation":    []string{"labour"},
		"urgent_needs":    []string{"shelter", "medical"},
		"consent":         map[string]bool{"referral": true, "data_sharing": true},
		"officer_concern": nil,
		"narrative":       "Met at the station; says her passport is held by the employer in Istanbul.",
	}
}

// Must fails the test on error.
func Must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("timed out after %s waiting for %s", timeout, fmt.Sprint(what))
}

// DummyIdentity is a stand-in identity for tests that write cases straight
// into the store: opaque bytes and a destroyed-looking key, never real data.
func DummyIdentity() store.NewIdentity {
	b := []byte{0}
	id := "test-key"
	return store.NewIdentity{
		Person: &store.SealedPerson{GivenName: b, FamilyName: b, BirthDate: b, AgeEstimate: b, Languages: b, Phone: b,
			DocumentNumber: b, Place: b, Narrative: b, OfficerConcern: b},
		Key: store.CaseKey{KeyID: &id, Wrapped: b, CreatedAt: time.Now()},
	}
}
