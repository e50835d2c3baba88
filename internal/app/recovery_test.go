package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestRetryAfterCrashOpensNoSecondCase: an opening whose process died after
// the case was recorded but before the answer (its Idempotency-Key claimed
// and never answered) is answered, once the claim's lease has run out, by
// a retry with the same key — with the same case, not a second one. A
// provider's answer retried likewise is the same update.
func TestRetryAfterCrashOpensNoSecondCase(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	body, err := json.Marshal(testenv.Screening())
	testenv.Must(t, err)
	key := http.Header{"Idempotency-Key": {"crash-retry-1"}}

	open := func() (int, string) {
		t.Helper()
		resp := officer.Raw(t, "POST", "/api/v1/cases", body, key)
		defer resp.Body.Close()
		var out struct {
			ID string `json:"id"`
		}
		data, _ := io.ReadAll(resp.Body)
		json.Unmarshal(data, &out)
		return resp.StatusCode, out.ID
	}
	status, first := open()
	if status != http.StatusCreated || first == "" {
		t.Fatalf("open: %d", status)
	}
	// The process "died" before answering: the stored answer is gone and
	// the claim is older than the lease.
	db := sys.Store.DB()
	_, err = db.Exec(`UPDATE idempotency_keys SET status = NULL, content_type = NULL, response = NULL, created_at = $1 WHERE key = $2`,
		time.Now().Add(-2*time.Minute), "crash-retry-1")
	testenv.Must(t, err)
	status, again := open()
	if status != http.StatusCreated || again != first {
		t.Fatalf("retry after the lease: %d, case %s; want 201 and the first case %s", status, again, first)
	}
	var n int
	testenv.Must(t, db.Get(&n, `SELECT count(*) FROM cases`))
	if n != 1 {
		t.Errorf("%d cases recorded, want 1", n)
	}
	testenv.Must(t, db.Get(&n, `SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'case_opened'`, first))
	if n != 1 {
		t.Errorf("%d case_opened events, want 1", n)
	}
	// A fresh claim is still "running": 409, not a second run.
	_, err = db.Exec(`UPDATE idempotency_keys SET status = NULL, content_type = NULL, response = NULL, created_at = now() WHERE key = $1`, "crash-retry-1")
	testenv.Must(t, err)
	if status, _ := open(); status != http.StatusConflict {
		t.Errorf("retry while the first attempt may still run: %d, want 409", status)
	}
}

// TestCommandAnswers503WhenTemporalIsAway: with Temporal gone, a command is
// answered 503 with Retry-After within the command timeout, and nothing is
// recorded.
func TestCommandAnswers503WhenTemporalIsAway(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")
	var opened struct {
		ID string `json:"id"`
	}
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open: %d", st)
	}
	testenv.Must(t, sys.Dev.Stop())
	resp := decider.Raw(t, "POST", "/api/v1/cases/"+opened.ID+"/decisions",
		map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "strong indicators"}, nil)
	defer resp.Body.Close()
	var p struct {
		Type string `json:"type"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || p.Type != "urn:nrm:problem:unavailable" {
		t.Errorf("decision with Temporal away: %d, Retry-After %q, type %s; want 503 unavailable with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), p.Type)
	}
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'preliminary_positive'`, opened.ID))
	if n != 0 {
		t.Errorf("a refused decision left %d events", n)
	}
}

// TestWorkerReadiness: the worker's /readyz answers 200 once Temporal has
// seen it poll, with each check, and 503 naming Temporal once it is gone.
func TestWorkerReadiness(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys, err := app.Start(context.Background(), cfg, testenv.Logger(t), app.Parts{EmbeddedTemporal: true, Migrate: true, Worker: true})
	testenv.Must(t, err)
	t.Cleanup(sys.Stop)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	addr := l.Addr().String()
	l.Close()
	stop, err := sys.ServeHealth(addr)
	testenv.Must(t, err)
	defer stop()
	get := func() (int, map[string]string) {
		resp, err := http.Get(fmt.Sprintf("http://%s/readyz", addr))
		testenv.Must(t, err)
		defer resp.Body.Close()
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		testenv.Must(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body.Checks
	}
	var checks map[string]string
	testenv.Eventually(t, time.Minute, "the worker's /readyz to answer 200", func() bool {
		var st int
		st, checks = get()
		return st == http.StatusOK
	})
	for _, name := range []string{"process", "postgres", "temporal", "worker"} {
		if checks[name] != "ok" {
			t.Errorf("ready, but %s = %q", name, checks[name])
		}
	}
	testenv.Must(t, sys.Dev.Stop())
	if st, checks := get(); st != http.StatusServiceUnavailable || checks["temporal"] != "unreachable" {
		t.Errorf("/readyz with Temporal gone: %d %v", st, checks)
	}
}
