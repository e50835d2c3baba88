// The whole system (testenv: PostgreSQL, an embedded Temporal server) is
// left out of fuzzing builds (-tags fuzzing, .ci/run), so that fuzzing this
// package's decoders does not build the Temporal server with the fuzzer's
// instrumentation.

//go:build !fuzzing

package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// limitsWorld is a migrated database with a signed-in user and a master key.
type limitsWorld struct {
	st    *store.Store
	keys  *crypto.Keyring
	user  *store.User
	token string
}

func newLimitsWorld(tb testing.TB) *limitsWorld {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(tb))
	testenv.Must(tb, err)
	tb.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(tb, err)
	key := make([]byte, crypto.KeySize)
	rand.Read(key)
	keys, err := crypto.NewKeyring(crypto.MasterKey{Key: key})
	testenv.Must(tb, err)
	a := &store.Agency{Name: "Police " + uuid.NewString()[:8], Type: "law_enforcement", Region: "lebap"}
	testenv.Must(tb, st.CreateAgency(ctx, a))
	u := &store.User{Email: uuid.NewString() + "@example.org", Name: "Officer", Role: "frontline", AgencyID: a.ID, PasswordHash: "x", Active: true}
	testenv.Must(tb, st.CreateUser(ctx, u))
	token, hash, err := auth.NewToken()
	testenv.Must(tb, err)
	now := time.Now()
	testenv.Must(tb, st.CreateSession(ctx, hash, u.ID, now, now.Add(time.Hour)))
	return &limitsWorld{st: st, keys: keys, user: u, token: token}
}

// replica is one API server, as another process would run it.
func (w *limitsWorld) replica(limits api.Limits) *api.Server {
	return api.New(api.Deps{Store: w.st, Sessions: &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour},
		Log: slog.New(slog.DiscardHandler), Limits: limits, Keys: w.keys})
}

type answer struct {
	status     int
	problem    string
	retryAfter string
}

func call(t *testing.T, srv *api.Server, method, path, token string, body any) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = strings.NewReader(string(data))
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.App().Test(req, -1)
	testenv.Must(t, err)
	defer resp.Body.Close()
	var p struct {
		Type string `json:"type"`
	}
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &p)
	return answer{status: resp.StatusCode, problem: p.Type, retryAfter: resp.Header.Get("Retry-After")}
}

// freshWindow waits for the next minute when the current one has less than
// ten seconds left: the limits count in fixed minute windows, and a burst
// that straddled two would be counted half in each.
func freshWindow() {
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 10*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
}

func TestRateLimitsAreSharedByReplicas(t *testing.T) {
	w := newLimitsWorld(t)
	limits := api.Limits{LoginPerMinute: 4, UserPerMinute: 6}
	replicas := []*api.Server{w.replica(limits), w.replica(limits)}
	freshWindow()

	// Per user: requests alternate between the replicas; the total is limited.
	codes := map[int]int{}
	for i := range 10 {
		a := call(t, replicas[i%2], "GET", "/api/v1/me", w.token, nil)
		codes[a.status]++
		if a.status == http.StatusTooManyRequests {
			if a.problem != "urn:nrm:problem:rate-limited" {
				t.Errorf("429 of type %q", a.problem)
			}
			if s, err := strconv.Atoi(a.retryAfter); err != nil || s < 1 || s > 60 {
				t.Errorf("Retry-After = %q, want 1-60 seconds", a.retryAfter)
			}
		}
	}
	if codes[http.StatusOK] != 6 || codes[http.StatusTooManyRequests] != 4 {
		t.Errorf("per-user answers over two replicas %v, want 6 x 200 then 4 x 429", codes)
	}

	// Per client address: sign-in attempts alternate as well.
	codes = map[int]int{}
	var last answer
	for i := range 7 {
		last = call(t, replicas[i%2], "POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.org", "password": "wrong password!"})
		codes[last.status]++
	}
	if codes[http.StatusUnauthorized] != 4 || codes[http.StatusTooManyRequests] != 3 || last.problem != "urn:nrm:problem:rate-limited" || last.retryAfter == "" {
		t.Errorf("sign-in answers over two replicas %v (last %+v), want 4 x 401 then 3 x 429", codes, last)
	}

	// What is stored: keyed hashes, never the address or the user ID.
	var keys []string
	testenv.Must(t, w.st.DB().Select(&keys, `SELECT key FROM rate_limits ORDER BY key`))
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "login:") || !strings.HasPrefix(keys[1], "user:") {
		t.Errorf("rate-limit keys %q, want one login and one user key", keys)
	}
	for _, k := range keys {
		_, digest, _ := strings.Cut(k, ":")
		if len(digest) != 32 || strings.Contains(k, w.user.ID.String()) || strings.Contains(k, "0.0.0.0") {
			t.Errorf("rate-limit key %q is not a 128-bit hash", k)
		}
	}
}

// TestRateLimitsWhenTheCounterFails: sign-in fails closed (503), signed-in
// requests fail open.
func TestRateLimitsWhenTheCounterFails(t *testing.T) {
	w := newLimitsWorld(t)
	srv := w.replica(api.Limits{LoginPerMinute: 1, UserPerMinute: 1})
	_, err := w.st.DB().Exec(`DROP TABLE rate_limits`)
	testenv.Must(t, err)
	a := call(t, srv, "POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.org", "password": "wrong password!"})
	if a.status != http.StatusServiceUnavailable || a.problem != "urn:nrm:problem:unavailable" || a.retryAfter == "" {
		t.Errorf("sign-in without a counter: %+v, want 503 unavailable with Retry-After", a)
	}
	for range 3 {
		if a := call(t, srv, "GET", "/api/v1/me", w.token, nil); a.status != http.StatusOK {
			t.Errorf("signed-in request without a counter: %+v, want 200", a)
		}
	}
}

// baselineNsPerOp is the last baseline result, for the ratio the limited
// benchmark reports.
var baselineNsPerOp float64

// BenchmarkUserLimit measures what the per-user limit (one INSERT ... ON
// CONFLICT DO UPDATE on PostgreSQL per request) adds to a request: a trivial
// route without it ("baseline") and behind it ("limited"), served straight
// through Fiber's handler, without a network; "me" is GET /api/v1/me of the
// real server (session lookup, limit, handler) for proportion. Run all:
//
//	go test -run '^$' -bench UserLimit ./internal/api/
func BenchmarkUserLimit(b *testing.B) {
	w := newLimitsWorld(b)
	deps := api.Deps{Store: w.st, Log: slog.New(slog.DiscardHandler), Keys: w.keys,
		Limits: api.Limits{LoginPerMinute: 10, UserPerMinute: 1 << 30}}
	p := auth.Principal{UserID: w.user.ID, Role: "frontline", AgencyID: w.user.AgencyID}
	serve := func(b *testing.B, limited bool) {
		h := api.LimitBenchApp(deps, p, limited).Handler()
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.SetRequestURI("/bench")
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		b.ResetTimer()
		start := time.Now()
		for b.Loop() {
			ctx.Response.Reset()
			h(&ctx)
			if ctx.Response.StatusCode() != http.StatusOK {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
		nsPerOp := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		if !limited {
			baselineNsPerOp = nsPerOp
		} else if baselineNsPerOp > 0 {
			b.ReportMetric(nsPerOp/baselineNsPerOp, "x_baseline")
		}
	}
	b.Run("baseline", func(b *testing.B) { serve(b, false) })
	b.Run("limited", func(b *testing.B) { serve(b, true) })
	b.Run("me", func(b *testing.B) {
		full := deps
		full.Sessions = &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour}
		h := api.New(full).App().Handler()
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.SetRequestURI("/api/v1/me")
		req.Header.Set("Authorization", "Bearer "+w.token)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		for b.Loop() {
			ctx.Response.Reset()
			h(&ctx)
			if ctx.Response.StatusCode() != http.StatusOK {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}
