package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	body := testenv.Screening()
	key := http.Header{"Idempotency-Key": {"open-" + uuid.NewString()}}

	do := func(b any, h http.Header) (int, caseBody, http.Header) {
		resp := officer.Raw(t, "POST", "/api/v1/cases", b, h)
		defer resp.Body.Close()
		var c caseBody
		decodeJSON(t, resp, &c)
		return resp.StatusCode, c, resp.Header
	}
	st1, first, _ := do(body, key)
	st2, second, h2 := do(body, key)
	if st1 != http.StatusCreated || st2 != http.StatusCreated || first.ID != second.ID || h2.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry: %d %d, ids %s %s, replayed %q", st1, st2, first.ID, second.ID, h2.Get("Idempotent-Replayed"))
	}
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM cases`))
	if n != 1 {
		t.Errorf("%d cases after a retried open, want 1", n)
	}
	other := testenv.Screening()
	other["narrative"] = "another text"
	if st, _, _ := do(other, key); st != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d, want 422", st)
	}
	// A request still running under the key: 409.
	running := "running-" + uuid.NewString()
	var me struct {
		ID string `json:"id"`
	}
	officer.Do(t, "GET", "/api/v1/me", nil, &me)
	_, _, err := sys.Store.ClaimIdempotencyKey(t.Context(), store.IdempotentRequest{UserID: uuid.MustParse(me.ID), Key: running,
		Method: "POST", Path: "/api/v1/cases", BodyHash: sha256sum(t, body), CreatedAt: time.Now()})
	testenv.Must(t, err)
	if st, _, _ := do(body, http.Header{"Idempotency-Key": {running}}); st != http.StatusConflict {
		t.Errorf("concurrent duplicate: %d, want 409", st)
	}
}

// Idempotency-Keys belong to a user: two users who happen to send the same
// key to the same case make two commands, and both are recorded. (A probe
// found the second one answered success and dropped, because the key alone
// was the workflow's update ID.)
func TestTwoUsersOneKeyBothRecorded(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")

	var c caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
	base := "/api/v1/cases/" + c.ID
	post := func(who *testenv.Client, path, key string, body any, out any) int {
		t.Helper()
		resp := who.Raw(t, "POST", path, body, http.Header{"Idempotency-Key": {key}})
		defer resp.Body.Close()
		if out != nil {
			decodeJSON(t, resp, out)
		}
		return resp.StatusCode
	}

	count := func(q string, args ...any) int {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, q, args...))
		return n
	}
	consents := func() int {
		return count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'consent_given'`, c.ID)
	}
	before := consents()
	// The same command with the same body by two users under one key: two commands.
	key := "shared-" + uuid.NewString()
	consent := map[string]bool{"referral": true, "data_sharing": true}
	mustStatus(t, "officer's consent", post(officer, base+"/consent", key, consent, nil), http.StatusOK)
	mustStatus(t, "supervisor's consent under the same key", post(supervisor, base+"/consent", key, consent, nil), http.StatusOK)
	if n := consents() - before; n != 2 {
		t.Errorf("%d consent events recorded for two users' commands, want 2", n)
	}
	// Another command under the same key: recorded, answered with its own result.
	var decision struct {
		ID    string `json:"id"`
		Stage string `json:"stage"`
	}
	mustStatus(t, "decider's decision under the same key", post(decider, base+"/decisions", key,
		map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "indicators hold"}, &decision), http.StatusCreated)
	if n := count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND data->>'decision_id' = $2 AND type = 'preliminary_positive'`, c.ID, decision.ID); n != 1 {
		t.Errorf("the decision %s answered to the second user is recorded %d times, want 1", decision.ID, n)
	}

	// Referrals: a second referral under a reused key is made and answered
	// with its own ID (the probe got the first referral's ID and no referral).
	refKey := "shared-" + uuid.NewString()
	var first, second struct {
		ID string `json:"id"`
	}
	body := map[string]any{"service": "shelter"}
	mustStatus(t, "officer's referral", post(officer, base+"/referrals", refKey, body, &first), http.StatusCreated)
	mustStatus(t, "decider's referral under the same key", post(decider, base+"/referrals", refKey, map[string]any{"service": "medical"}, &second), http.StatusCreated)
	if first.ID == "" || first.ID == second.ID {
		t.Fatalf("referral IDs %q and %q, want two different referrals", first.ID, second.ID)
	}
	if n := count(`SELECT count(*) FROM referrals WHERE case_id = $1 AND id IN ($2, $3)`, c.ID, first.ID, second.ID); n != 2 {
		t.Errorf("%d of the two answered referrals exist, want 2", n)
	}

	// The same user retrying keeps its guarantee: one referral, same ID.
	var again struct {
		ID string `json:"id"`
	}
	mustStatus(t, "officer's retry", post(officer, base+"/referrals", refKey, body, &again), http.StatusCreated)
	if again.ID != first.ID {
		t.Errorf("retry answered %s, want the first referral %s", again.ID, first.ID)
	}
	if n := count(`SELECT count(*) FROM referrals WHERE case_id = $1`, c.ID); n != 2 {
		t.Errorf("%d referrals after a retry, want 2", n)
	}
}
