package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestRateLimitsAndLockout(t *testing.T) {
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
	// Repeated failures lock the account itself (shared across replicas, in PostgreSQL).
	var failed int
	testenv.Must(t, sys.Store.DB().Get(&failed, `SELECT failed_logins FROM users WHERE email = 'supervisor@lebap-police.example'`))
	if failed != 4 {
		t.Errorf("failed sign-ins counted %d, want 4", failed)
	}
}
