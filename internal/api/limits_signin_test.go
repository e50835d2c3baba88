// The whole system (testenv: PostgreSQL, an embedded Temporal server) is
// left out of fuzzing builds (-tags fuzzing, .ci/run), so that fuzzing this
// package's decoders does not build the Temporal server with the fuzzer's
// instrumentation.

//go:build !fuzzing

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

const rightPassword = "seven lamps by the river 42"

// signInWorld is limitsWorld with a user whose password is rightPassword,
// behind one replica whose per-address limit stays out of the way: these
// tests are about the throttle of failures.
type signInWorld struct {
	*limitsWorld
	email string
	srv   *api.Server
}

func newSignInWorld(t *testing.T) *signInWorld {
	w := newLimitsWorld(t)
	hash, err := auth.HashPassword(rightPassword)
	testenv.Must(t, err)
	u := &store.User{Email: "Admin." + uuid.NewString()[:8] + "@example.org", Name: "Admin", Role: "admin", AgencyID: w.user.AgencyID,
		PasswordHash: hash, Active: true}
	testenv.Must(t, w.st.CreateUser(context.Background(), u))
	return &signInWorld{limitsWorld: w, email: u.Email, srv: w.replica(api.Limits{LoginPerMinute: 100000, UserPerMinute: 100000})}
}

// signInAnswer is everything a client sees of a sign-in's answer but the
// request ID (which differs on every answer) and the token.
type signInAnswer struct {
	Status      int
	ContentType string
	RetryAfter  string
	Problem     map[string]any
}

// signInFrom posts a sign-in as a client at addr: Fiber takes c.IP() from
// the connection (no proxy header is trusted), so the remote address is set
// on the request context as a TCP connection would.
func (w *signInWorld) signInFrom(t *testing.T, addr, email, password string) signInAnswer {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/api/v1/auth/login")
	req.Header.SetContentType("application/json")
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req.SetBody(body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(addr), Port: 40000}, nil)
	w.srv.App().Handler()(&ctx)
	a := signInAnswer{Status: ctx.Response.StatusCode(), ContentType: string(ctx.Response.Header.ContentType()),
		RetryAfter: string(ctx.Response.Header.Peek("Retry-After"))}
	if a.Status != http.StatusOK {
		testenv.Must(t, json.Unmarshal(ctx.Response.Body(), &a.Problem))
		delete(a.Problem, "request_id")
	}
	return a
}

// elapse lets every pending wait end, as time would: the throttle's clock
// is the database's, and the tests cannot sleep through 15 minutes.
func (w *signInWorld) elapse(t *testing.T) {
	t.Helper()
	_, err := w.st.DB().Exec(`UPDATE signin_throttle SET blocked_until = now() WHERE blocked_until > now()`)
	testenv.Must(t, err)
}

// TestSignInThrottleSparesOtherSources: fifty wrong passwords for the
// administrator from address A, each one checked (the test lets every wait
// pass), hold only A. The administrator signs in from B at once; from C,
// after a typo during the attack, after a bounded wait (the account
// ceiling), never refused indefinitely.
func TestSignInThrottleSparesOtherSources(t *testing.T) {
	w := newSignInWorld(t)
	const attacker, user, typist = "203.0.113.7", "198.51.100.20", "198.51.100.30"
	failures, refusals := 0, 0
	for failures < 50 {
		switch a := w.signInFrom(t, attacker, w.email, fmt.Sprintf("guess number %d!", failures)); a.Status {
		case http.StatusUnauthorized:
			failures++
		case http.StatusTooManyRequests:
			refusals++
			w.elapse(t)
		default:
			t.Fatalf("attacker's attempt %d: %+v", failures+refusals, a)
		}
	}
	if refusals < 50-api.DefaultSignInRule.SourceFree {
		t.Errorf("attacker refused %d times in 50 failures; every failure past the %dth must make A wait", refusals, api.DefaultSignInRule.SourceFree)
	}
	// A still waits, whatever it sends: the password is not even checked.
	if a := w.signInFrom(t, attacker, w.email, rightPassword); a.Status != http.StatusTooManyRequests || a.RetryAfter == "" {
		t.Errorf("right password from the throttled source: %+v, want 429 with Retry-After", a)
	}
	if a := w.signInFrom(t, user, w.email, rightPassword); a.Status != http.StatusOK {
		t.Fatalf("the user from another address after 50 failures from A: %+v, want 200", a)
	}
	// A typo from a third address during the attack: the account's count
	// (50 failures) makes that address wait, at most AccountMax, then the
	// right password is checked and accepted.
	if a := w.signInFrom(t, typist, w.email, "seven lamps by the rivr 42"); a.Status != http.StatusUnauthorized {
		t.Fatalf("typo: %+v", a)
	}
	a := w.signInFrom(t, typist, w.email, rightPassword)
	ra, _ := strconv.Atoi(a.RetryAfter)
	if a.Status != http.StatusTooManyRequests || ra < 1 || ra > int(api.DefaultSignInRule.AccountMax/time.Second) {
		t.Errorf("after a typo during the attack: %+v, want 429 with Retry-After 1-%d", a, int(api.DefaultSignInRule.AccountMax/time.Second))
	}
	w.elapse(t)
	if a := w.signInFrom(t, typist, w.email, rightPassword); a.Status != http.StatusOK {
		t.Errorf("after the wait: %+v, want 200", a)
	}
	// Nothing of the e-mail or the addresses is stored.
	var keys []string
	testenv.Must(t, w.st.DB().Select(&keys, `SELECT key FROM signin_throttle`))
	for _, k := range keys {
		for _, secret := range []string{w.email, attacker, user, typist, "example.org", "203.0.113"} {
			if strings.Contains(strings.ToLower(k), strings.ToLower(secret)) {
				t.Errorf("throttle key %q holds %q", k, secret)
			}
		}
	}
}

// TestSignInThrottleAnswersAlikeForUnknownAccounts: the same sequence of
// wrong passwords for an existing and an unknown e-mail gets the same
// answers, throttling included: status, problem document, Retry-After.
func TestSignInThrottleAnswersAlikeForUnknownAccounts(t *testing.T) {
	w := newSignInWorld(t)
	run := func(addr, email string) []signInAnswer {
		var out []signInAnswer
		for range 12 {
			a := w.signInFrom(t, addr, email, "not the password 1")
			out = append(out, a)
			if a.Status == http.StatusTooManyRequests {
				w.elapse(t)
			}
		}
		return out
	}
	existing := run("192.0.2.10", w.email)
	unknown := run("192.0.2.11", "nobody."+uuid.NewString()[:8]+"@example.org")
	if !reflect.DeepEqual(existing, unknown) {
		for i := range existing {
			if !reflect.DeepEqual(existing[i], unknown[i]) {
				t.Errorf("attempt %d: existing %+v, unknown %+v", i+1, existing[i], unknown[i])
			}
		}
	}
	var throttled int
	for _, a := range existing {
		if a.Status == http.StatusTooManyRequests {
			throttled++
			if a.Problem["type"] != "urn:nrm:problem:rate-limited" || a.ContentType != "application/problem+json" {
				t.Errorf("throttled answer %+v, want problem+json of type rate-limited", a)
			}
		} else if a.Status != http.StatusUnauthorized || a.Problem["type"] != "urn:nrm:problem:bad-credentials" {
			t.Errorf("answer %+v, want 401 bad-credentials or 429", a)
		}
	}
	if throttled == 0 {
		t.Error("12 wrong passwords were never throttled")
	}
}

// TestSignInThrottleRetryAfterGrows: past the free failures, each failure
// from the same source doubles the wait that Retry-After announces.
func TestSignInThrottleRetryAfterGrows(t *testing.T) {
	w := newSignInWorld(t)
	const addr = "2001:db8:1:2::7"
	var waits []int
	for attempt := 0; len(waits) < 5; attempt++ {
		if attempt == 20 {
			t.Fatalf("20 wrong passwords, Retry-After so far %v; want five growing waits", waits)
		}
		a := w.signInFrom(t, addr, w.email, "not the password 2")
		switch a.Status {
		case http.StatusUnauthorized:
			if a.RetryAfter != "" {
				t.Errorf("401 with Retry-After %q", a.RetryAfter)
			}
		case http.StatusTooManyRequests:
			s, err := strconv.Atoi(a.RetryAfter)
			if err != nil {
				t.Fatalf("Retry-After %q", a.RetryAfter)
			}
			waits = append(waits, s)
			// Another address of the same /64 is the same source.
			if b := w.signInFrom(t, "2001:db8:1:2::99", w.email, "not the password 2"); b.Status != http.StatusTooManyRequests {
				t.Errorf("same /64, other address: %+v, want 429", b)
			}
			w.elapse(t)
		default:
			t.Fatalf("answer %+v", a)
		}
	}
	if want := []int{1, 2, 4, 8, 16}; !reflect.DeepEqual(waits, want) {
		t.Errorf("Retry-After of the throttled source %v, want %v", waits, want)
	}
}

// TestSignInThrottleFailsClosed: without its counts, sign-in answers 503.
func TestSignInThrottleFailsClosed(t *testing.T) {
	w := newSignInWorld(t)
	_, err := w.st.DB().Exec(`DROP TABLE signin_throttle`)
	testenv.Must(t, err)
	if a := w.signInFrom(t, "192.0.2.1", w.email, rightPassword); a.Status != http.StatusServiceUnavailable || a.RetryAfter == "" ||
		a.Problem["type"] != "urn:nrm:problem:unavailable" {
		t.Errorf("sign-in without the throttle's table: %+v, want 503 unavailable with Retry-After", a)
	}
}

// TestSignInBusyAnswers503: with every hashing slot taken, sign-ins (to an
// existing and to an unknown e-mail alike) are answered 503 with Retry-After
// after the gate's short wait, not queued; they do not count as failures;
// once a slot frees, sign-in works again.
func TestSignInBusyAnswers503(t *testing.T) {
	w := newSignInWorld(t)
	g := auth.NewHashGate(1, 50*time.Millisecond)
	prev := auth.SetHashGate(g)
	t.Cleanup(func() { auth.SetHashGate(prev) })
	release, err := g.Acquire(context.Background())
	testenv.Must(t, err)

	var answers []signInAnswer
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, email := range []string{w.email, "nobody@example.org", w.email, "nobody@example.org"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := w.signInFrom(t, fmt.Sprintf("192.0.2.%d", 50+i), email, rightPassword)
			mu.Lock()
			answers = append(answers, a)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if a.Status != http.StatusServiceUnavailable || a.RetryAfter != strconv.Itoa(int(auth.BusyRetryAfter/time.Second)) ||
			a.ContentType != "application/problem+json" || a.Problem["type"] != "urn:nrm:problem:unavailable" {
			t.Errorf("sign-in with no hashing slot: %+v, want 503 unavailable, Retry-After %s", a, auth.BusyRetryAfter)
		}
		if !reflect.DeepEqual(a, answers[0]) {
			t.Errorf("busy answers differ: %+v vs %+v", a, answers[0])
		}
	}
	var counted int
	testenv.Must(t, w.st.DB().Get(&counted, `SELECT count(*) FROM signin_throttle`))
	if counted != 0 {
		t.Errorf("%d throttle counts after refusals that checked nothing", counted)
	}
	release()
	if a := w.signInFrom(t, "192.0.2.50", w.email, rightPassword); a.Status != http.StatusOK {
		t.Errorf("after the slot freed: %+v, want 200", a)
	}
}
