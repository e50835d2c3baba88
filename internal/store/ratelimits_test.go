package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestRateLimitCountsConcurrentHitsOnce(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	// Concurrent hits of one key, as several replicas make them: each gets a
	// distinct count, and the counts are exactly 1..n.
	const n = 40
	var wg sync.WaitGroup
	counts := make([]int, n)
	lefts := make([]time.Duration, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], lefts[i], errs[i] = st.HitRateLimit(ctx, "user:abc", time.Hour)
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		testenv.Must(t, errs[i])
		if lefts[i] <= 0 || lefts[i] > time.Hour {
			t.Errorf("time left in the window = %s", lefts[i])
		}
		seen[counts[i]] = true
	}
	for c := 1; c <= n; c++ {
		if !seen[c] {
			t.Fatalf("counts %v: %d missing", counts, c)
		}
	}
	if c, _, err := st.HitRateLimit(ctx, "user:other", time.Hour); err != nil || c != 1 {
		t.Errorf("another key: %d, %v; want 1", c, err)
	}
	if _, _, err := st.HitRateLimit(ctx, "user:abc", time.Millisecond); err == nil {
		t.Error("a window under a second was accepted")
	}

	// Windows: a one-second window ends within the second; its successor counts from 1.
	first, left, err := st.HitRateLimit(ctx, "login:x", time.Second)
	testenv.Must(t, err)
	if first != 1 || left > time.Second {
		t.Fatalf("first hit %d, %s left", first, left)
	}
	time.Sleep(left + 50*time.Millisecond)
	if c, _, err := st.HitRateLimit(ctx, "login:x", time.Second); err != nil || c != 1 {
		t.Errorf("first hit of the next window: %d, %v; want 1", c, err)
	}

	// Expiry deletes windows that started before the cutoff, and only those.
	var rows int
	testenv.Must(t, st.DB().Get(&rows, `SELECT count(*) FROM rate_limits`))
	deleted, err := st.ExpireRateWindows(ctx, time.Now().Add(-2*time.Hour))
	if err != nil || deleted != 0 {
		t.Errorf("expire before any window: %d, %v", deleted, err)
	}
	deleted, err = st.ExpireRateWindows(ctx, time.Now().Add(2*time.Hour))
	if err != nil || deleted != int64(rows) {
		t.Errorf("expire all: %d, %v; want %d", deleted, err, rows)
	}
}

func TestExpireIdempotencyKeysCounts(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	user := uuid.New()
	for i, age := range []time.Duration{48 * time.Hour, 25 * time.Hour, time.Hour} {
		_, _, err := st.ClaimIdempotencyKey(ctx, store.IdempotentRequest{UserID: user, Key: string(rune('a' + i)), Method: "POST",
			Path: "/api/v1/cases", BodyHash: []byte{1}, CreatedAt: now.Add(-age)})
		testenv.Must(t, err)
	}
	n, err := st.ExpireIdempotencyKeys(ctx, now.Add(-24*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("ExpireIdempotencyKeys = %d, %v; want 2", n, err)
	}
	if claimed, prior, err := st.ClaimIdempotencyKey(ctx, store.IdempotentRequest{UserID: user, Key: "c", Method: "POST",
		Path: "/api/v1/cases", BodyHash: []byte{1}, CreatedAt: now}); err != nil || claimed || prior == nil {
		t.Errorf("the fresh key is gone: claimed %v, %v", claimed, err)
	}
}

func TestSignInThrottleCounts(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	sch := store.SignInSchedule{Source: []time.Duration{0, 0, time.Second, 2 * time.Second}, Account: []time.Duration{0, 0, 0, 0, 10 * time.Second},
		Memory: time.Hour}
	near := func(got, want time.Duration) bool { return got <= want && got > want-2*time.Second }
	// The source's schedule by its own count, the last entry beyond; the
	// account's count raises it from the account's 5th failure.
	for i, want := range []time.Duration{0, 0, time.Second, 2 * time.Second, 10 * time.Second} {
		wait, err := st.SignInFailed(ctx, "signin-source:a", "signin-account:x", sch)
		testenv.Must(t, err)
		if want == 0 && wait != 0 || want > 0 && !near(wait, want) {
			t.Errorf("failure %d: wait %s, want %s", i+1, wait, want)
		}
	}
	if wait, err := st.SignInWait(ctx, "signin-source:a"); err != nil || !near(wait, 10*time.Second) {
		t.Errorf("SignInWait = %s, %v; want about 10s", wait, err)
	}
	if wait, err := st.SignInWait(ctx, "signin-source:b"); err != nil || wait != 0 {
		t.Errorf("another source waits %s, %v; want 0", wait, err)
	}
	// Concurrent failures (replicas) are each counted once.
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.SignInFailed(ctx, "signin-source:b", "signin-account:x", sch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var counts []int
	testenv.Must(t, st.DB().Select(&counts, `SELECT failures FROM signin_throttle WHERE key IN ('signin-source:b', 'signin-account:x') ORDER BY key`))
	if !slices.Equal(counts, []int{25, 20}) {
		t.Errorf("account and source counts %v, want [25 20]", counts)
	}
	// A success clears the source's count, not the account's.
	testenv.Must(t, st.SignInSucceeded(ctx, "signin-source:a"))
	if wait, err := st.SignInWait(ctx, "signin-source:a"); err != nil || wait != 0 {
		t.Errorf("after success: wait %s, %v", wait, err)
	}
	if wait, err := st.SignInFailed(ctx, "signin-source:a", "signin-account:x", sch); err != nil || !near(wait, 10*time.Second) {
		t.Errorf("first failure after success, account at 26: %s, %v; want the account's 10s", wait, err)
	}
	// Forgotten counts start again; expiry deletes them.
	_, err := st.DB().Exec(`UPDATE signin_throttle SET forget_at = now() - interval '1 second'`)
	testenv.Must(t, err)
	if wait, err := st.SignInFailed(ctx, "signin-source:a", "signin-account:x", sch); err != nil || wait != 0 {
		t.Errorf("failure after the memory: %s, %v; want a fresh count", wait, err)
	}
	deleted, err := st.ExpireRateWindows(ctx, time.Now())
	if err != nil || deleted != 1 {
		t.Errorf("expired %d, %v; want the one forgotten source count", deleted, err)
	}
	if _, err := st.SignInFailed(ctx, "s", "a", store.SignInSchedule{}); err == nil {
		t.Error("an empty schedule was accepted")
	}
}
