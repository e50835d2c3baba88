package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestIdempotencyClaimTakeover: a claim without an answer that is older
// than the lease (its process died) is taken over by the same request, and
// only by it; a fresh claim, an answered one or another request's is not.
func TestIdempotencyClaimTakeover(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	user := uuid.New()
	req := func(key string, body byte, at time.Time) store.IdempotentRequest {
		return store.IdempotentRequest{UserID: user, Key: key, Method: "POST", Path: "/api/v1/cases", BodyHash: []byte{body},
			CreatedAt: at, AbandonedBefore: at.Add(-time.Minute)}
	}
	claim := func(r store.IdempotentRequest) bool {
		t.Helper()
		claimed, prior, err := st.ClaimIdempotencyKey(ctx, r)
		testenv.Must(t, err)
		if !claimed && prior == nil {
			t.Fatalf("not claimed and no prior request for %s", r.Key)
		}
		return claimed
	}
	if !claim(req("dead", 1, now.Add(-2*time.Minute))) {
		t.Fatal("a new key is not claimed")
	}
	if claim(req("dead", 2, now)) {
		t.Error("another request took over an abandoned claim")
	}
	if !claim(req("dead", 1, now)) {
		t.Error("the same request did not take over a claim older than the lease")
	}
	if claim(req("dead", 1, now.Add(time.Second))) {
		t.Error("a fresh claim was taken over")
	}
	if !claim(req("answered", 1, now.Add(-2*time.Minute))) {
		t.Fatal("a new key is not claimed")
	}
	testenv.Must(t, st.CompleteIdempotencyKey(ctx, user, "answered", 201, "application/json", []byte(`{}`)))
	if claim(req("answered", 1, now)) {
		t.Error("an answered key was taken over")
	}
	// Without a lease (zero AbandonedBefore) nothing is ever taken over.
	r := req("dead", 1, now.Add(time.Hour))
	r.AbandonedBefore = time.Time{}
	if claim(r) {
		t.Error("a claim was taken over without a lease")
	}
}

// TestUnavailable tells PostgreSQL being away from a statement that failed.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.ConnectError{}, true},
		{fmt.Errorf("open case: %w", &pgconn.PgError{Code: "57P01"}), true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{store.ErrNotFound, false},
		{errors.New("syntax"), false},
		{nil, false},
	} {
		if got := store.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestUnavailableWhenPostgresRefuses: a store whose database refuses
// connections fails with an error Unavailable recognises, and works again
// by itself once the database accepts them.
func TestUnavailableWhenPostgresRefuses(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	var name string
	testenv.Must(t, st.DB().GetContext(ctx, &name, `SELECT current_database()`))
	server := os.Getenv("NRM_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := store.Open(ctx, server)
	testenv.Must(t, err)
	defer admin.Close()
	_, err = admin.DB().ExecContext(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`)
	testenv.Must(t, err)
	_, err = admin.DB().ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)
	testenv.Must(t, err)
	err = st.Ping(ctx)
	_, err2 := admin.DB().ExecContext(ctx, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS true`)
	testenv.Must(t, err2)
	if err == nil || !store.Unavailable(err) {
		t.Fatalf("ping while the database refuses connections: %v (Unavailable %v)", err, store.Unavailable(err))
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("the pool did not reconnect by itself: %v", err)
	}
}
