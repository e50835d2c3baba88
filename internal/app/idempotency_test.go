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
