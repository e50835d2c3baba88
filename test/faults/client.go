package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/log"
)

// Client speaks to the API processes as a careful real client does: each
// POST carries an Idempotency-Key, and a request that fails for want of the
// server (no connection, 5xx, 429, 409 "still running") is sent again with
// the same key, to the next API process (a load balancer's round robin),
// after the Retry-After the server gave or a growing pause, until GiveUp.
type Client struct {
	APIs   []string
	HTTP   *http.Client
	GiveUp time.Duration
	// Faults tells which faults were under way at a time (503s and
	// failed connections are expected then).
	Faults *FaultLog

	next     atomic.Uint64
	mu       sync.Mutex
	attempts []Attempt
}

// Attempt is one HTTP exchange.
type Attempt struct {
	Route   string
	API     int
	At      time.Time
	Latency time.Duration
	Status  int // 0: no answer (Err)
	Err     string
	Problem string
	// Retry: this attempt repeated an earlier one of the same request.
	Retry bool
}

// Result is a request's final answer after its retries.
type Result struct {
	Status   int
	Body     []byte
	Problem  string
	Err      error
	Attempts int
	Latency  time.Duration // from the first attempt to the final answer

	retryAfter int // the Retry-After of the answer, in seconds
}

// OK says whether the request ended with a 2xx.
func (r Result) OK() bool { return r.Err == nil && r.Status >= 200 && r.Status < 300 }

func (r Result) String() string {
	if r.Err != nil {
		return fmt.Sprintf("no answer after %d attempts: %v", r.Attempts, r.Err)
	}
	return fmt.Sprintf("%d %s after %d attempts", r.Status, r.Problem, r.Attempts)
}

// Decode reads the final body as JSON.
func (r Result) Decode(out any) error { return json.Unmarshal(r.Body, out) }

// Do sends a request until it gets a final answer. route names it in the
// summary (e.g. "POST /cases"); a nil body sends none.
func (c *Client) Do(ctx context.Context, token, method, path, route string, body any) Result {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return Result{Err: err}
		}
	}
	key := ""
	if method == http.MethodPost && token != "" {
		key = uuid.NewString()
	}
	start := time.Now()
	var res Result
	pause := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		api := int(c.next.Add(1) % uint64(len(c.APIs)))
		res = c.once(ctx, api, token, key, method, path, route, data, attempt > 0)
		res.Attempts = attempt + 1
		res.Latency = time.Since(start)
		wait, again := retryable(res)
		if !again || time.Since(start) > c.GiveUp || ctx.Err() != nil {
			return res
		}
		if wait == 0 {
			wait = pause
			pause = min(pause*2, 3*time.Second)
		}
		select {
		case <-ctx.Done():
			return res
		case <-time.After(wait):
		}
	}
}

// retryable says whether an answer means "not now" rather than an answer
// to the request, and how long the server asked to wait.
func retryable(r Result) (time.Duration, bool) {
	if r.Err != nil {
		return 0, true
	}
	wait := time.Duration(0)
	if r.retryAfter > 0 {
		wait = time.Duration(r.retryAfter) * time.Second
	}
	switch {
	case r.Status >= 500, r.Status == http.StatusTooManyRequests:
		return wait, true
	case r.Status == http.StatusConflict && r.Problem == "urn:nrm:problem:idempotency-key":
		return time.Second, true
	}
	return 0, false
}

func (c *Client) once(ctx context.Context, api int, token, key, method, path, route string, body []byte, retry bool) Result {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.APIs[api]+path, r)
	if err != nil {
		return Result{Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	at := time.Now()
	resp, err := c.HTTP.Do(req)
	a := Attempt{Route: route, API: api, At: at, Retry: retry}
	var res Result
	if err != nil {
		a.Err = shortError(err)
		res.Err = err
	} else {
		res.Status = resp.StatusCode
		res.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			a.Err, res.Err = shortError(err), err
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
			var p struct {
				Type string `json:"type"`
			}
			json.Unmarshal(res.Body, &p)
			res.Problem = p.Type
		}
		if s := resp.Header.Get("Retry-After"); s != "" {
			res.retryAfter, _ = strconv.Atoi(s)
			a.Problem = res.Problem
		}
		a.Status, a.Problem = res.Status, res.Problem
		if res.Status >= 500 {
			a.Err = string(bytes.TrimSpace(res.Body))
			if resp.Header.Get("Retry-After") == "" && res.Status == http.StatusServiceUnavailable {
				a.Err += " (no Retry-After)"
			}
		}
	}
	a.Latency = time.Since(at)
	c.mu.Lock()
	c.attempts = append(c.attempts, a)
	c.mu.Unlock()
	return res
}

func shortError(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "broken pipe"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// Attempts returns every exchange so far.
func (c *Client) Attempts() []Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Attempt(nil), c.attempts...)
}

// Login signs in and answers the session token.
func (c *Client) Login(ctx context.Context, email, password string) (string, error) {
	res := c.Do(ctx, "", http.MethodPost, "/api/v1/auth/login", "POST /auth/login", map[string]string{"email": email, "password": password})
	var out struct {
		Token string `json:"token"`
	}
	if !res.OK() || res.Decode(&out) != nil || out.Token == "" {
		return "", fmt.Errorf("sign in as %s: %s", email, res)
	}
	return out.Token, nil
}

// quietLogger keeps the Temporal SDK's chatter out of the test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

var _ log.Logger = quietLogger{}
