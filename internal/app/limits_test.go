package app_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/config"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// clientFrom is a client of the API whose connections come from addr, a
// loopback address (all of 127.0.0.0/8 is local on Linux): the server sees
// another client address, as it would another machine's.
func clientFrom(sys *app.System, addr string) *testenv.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	return &testenv.Client{Base: "http://" + sys.APIAddr,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}}
}

func TestRateLimitsAndSignInThrottle(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.LoginRate, cfg.UserRate = 5, 20
	sys := testenv.Start(t, cfg)
	// The limits count in fixed minute windows (in PostgreSQL): start the
	// bursts below well inside one.
	if left := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)); left < 15*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example") // 1 of 5 sign-ins this minute
	var p problem
	codes := map[int]int{}
	for i := 0; i < 6; i++ {
		codes[anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "supervisor@lebap-police.example", "password": "wrong password!"}, &p)]++
	}
	if codes[http.StatusUnauthorized] != 4 || codes[http.StatusTooManyRequests] != 2 || p.Type != "urn:nrm:problem:rate-limited" {
		t.Errorf("sign-in answers %v (last %s), want 4 x 401 then 429", codes, p.Type)
	}
	codes = map[int]int{}
	for i := 0; i < 25; i++ {
		codes[officer.Do(t, "GET", "/api/v1/me", nil, nil)]++
	}
	if codes[http.StatusOK] != 20 || codes[http.StatusTooManyRequests] != 5 {
		t.Errorf("per-user answers %v, want 20 x 200 then 429", codes)
	}
	// No account lock-out: what 127.0.0.1 did does not keep the supervisor
	// out from another address.
	clientFrom(sys, "127.0.0.2").Login(t, "supervisor@lebap-police.example")
}

// TestSignInThrottleEndToEnd runs the throttle through the real listener,
// migration and wiring: wrong passwords for the administrator from one
// address earn that address growing waits (429, Retry-After 1 then 2), the
// administrator signs in from another address meanwhile, and an unknown
// e-mail gets exactly the same answers.
func TestSignInThrottleEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	type answer struct {
		Status     int
		RetryAfter string
		Type       string
		Detail     string
	}
	run := func(c *testenv.Client, email string) []answer {
		var out []answer
		for range 9 {
			resp := c.Raw(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong password!"}, nil)
			var p problem
			decodeProblem(t, resp, &p)
			out = append(out, answer{resp.StatusCode, resp.Header.Get("Retry-After"), p.Type, p.Detail})
			if resp.StatusCode == http.StatusTooManyRequests {
				// Let the wait pass, as time would (the throttle's clock is PostgreSQL's).
				_, err := sys.Store.DB().Exec(`UPDATE signin_throttle SET blocked_until = now() WHERE blocked_until > now()`)
				testenv.Must(t, err)
			}
		}
		return out
	}
	admin := run(clientFrom(sys, "127.0.0.1"), "admin@nrm.example")
	var waits []int
	for _, a := range admin {
		if a.Status == http.StatusTooManyRequests {
			s, _ := strconv.Atoi(a.RetryAfter)
			waits = append(waits, s)
			if a.Type != "urn:nrm:problem:rate-limited" {
				t.Errorf("throttled answer %+v", a)
			}
		} else if a.Status != http.StatusUnauthorized || a.Type != "urn:nrm:problem:bad-credentials" {
			t.Errorf("answer %+v, want 401 bad-credentials or 429", a)
		}
	}
	if !reflect.DeepEqual(waits, []int{1, 2}) {
		t.Errorf("Retry-After of the throttled address %v (answers %+v), want [1 2]", waits, admin)
	}
	clientFrom(sys, "127.0.0.2").Login(t, "admin@nrm.example")
	if unknown := run(clientFrom(sys, "127.0.0.3"), "nobody@nrm.example"); !reflect.DeepEqual(admin, unknown) {
		t.Errorf("answers differ:\nexisting %+v\nunknown  %+v", admin, unknown)
	}
}

func decodeProblem(t *testing.T, resp *http.Response, p *problem) {
	t.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	if resp.StatusCode != http.StatusOK {
		testenv.Must(t, json.Unmarshal(data, p))
	}
}

// TestHashConcurrencySetting: NRM_HASH_CONCURRENCY is 0 (derived) to 64.
func TestHashConcurrencySetting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"0": 0, "1": 1, "64": 64} {
		cfg, _, err := config.Load("test", []string{"--hash-concurrency", in}, io.Discard)
		if err != nil || cfg.HashConcurrency != want {
			t.Errorf("--hash-concurrency %s: %v, %v", in, cfg, err)
		}
	}
	for _, in := range []string{"-1", "65", "two"} {
		if _, _, err := config.Load("test", []string{"--hash-concurrency", in}, io.Discard); err == nil {
			t.Errorf("--hash-concurrency %s accepted", in)
		}
	}
}
