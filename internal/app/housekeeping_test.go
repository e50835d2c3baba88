package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHousekeeperExpiresIdempotencyKeysAndRateWindows runs the worker's
// housekeeping loop on a short interval against PostgreSQL: expired
// idempotency keys and ended rate-limit windows go, fresh ones stay, and
// the log has counts only.
func TestHousekeeperExpiresIdempotencyKeysAndRateWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	now := time.Now().UTC()
	user := uuid.New()
	keys := map[string]time.Duration{"expired-2d": 48 * time.Hour, "expired-25h": 25 * time.Hour, "fresh-23h": 23 * time.Hour, "fresh-1m": time.Minute}
	for key, age := range keys {
		_, _, err := st.ClaimIdempotencyKey(ctx, store.IdempotentRequest{UserID: user, Key: key, Method: "POST", Path: "/api/v1/cases",
			BodyHash: []byte{1}, CreatedAt: now.Add(-age)})
		testenv.Must(t, err)
	}
	// Rate-limit counters: an ended window of an hour ago and the current one.
	_, err = st.DB().Exec(`INSERT INTO rate_limits (key, window_start, n) VALUES ('user:old', now() - interval '1 hour', 3)`)
	testenv.Must(t, err)
	_, _, err = st.HitRateLimit(ctx, "user:current", time.Minute)
	testenv.Must(t, err)

	logs := &syncBuffer{}
	h := &app.Housekeeper{Store: st, Log: slog.New(slog.NewJSONHandler(logs, nil)), Interval: 20 * time.Millisecond}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.Run(runCtx) }()
	remaining := func() []string {
		var left []string
		testenv.Must(t, st.DB().Select(&left, `SELECT key FROM idempotency_keys UNION ALL SELECT key FROM rate_limits ORDER BY 1`))
		return left
	}
	testenv.Eventually(t, 10*time.Second, "expired rows deleted", func() bool { return len(remaining()) == 3 })
	// A key that expires while the loop runs goes at a later pass.
	_, err = st.DB().Exec(`UPDATE idempotency_keys SET created_at = $1 WHERE key = 'fresh-1m'`, now.Add(-30*time.Hour))
	testenv.Must(t, err)
	testenv.Eventually(t, 10*time.Second, "a key expired later deleted", func() bool { return len(remaining()) == 2 })
	cancel()
	<-done

	if left := remaining(); strings.Join(left, ",") != "fresh-23h,user:current" {
		t.Errorf("left %v, want the fresh key and the current window", left)
	}
	log := logs.String()
	if !strings.Contains(log, `"idempotency_keys":2`) || !strings.Contains(log, `"rate_limit_windows":1`) || !strings.Contains(log, `"idempotency_keys":1`) {
		t.Errorf("log lacks the counts:\n%s", log)
	}
	for key := range keys {
		if strings.Contains(log, key) || strings.Contains(log, user.String()) {
			t.Errorf("the log names a key or its user:\n%s", log)
		}
	}
	if strings.Count(log, "\n") != 2 {
		t.Errorf("want one line per pass that deleted something, got:\n%s", log)
	}
}

// countingReports counts the housekeeping's calls to keep report months.
type countingReports struct{ n atomic.Int64 }

func (c *countingReports) KeepMonths(context.Context) (int, error) { c.n.Add(1); return 0, nil }

// TestHousekeepingKeepsReportMonthsAfterADelay: a worker just started
// builds no report month in its first passes, and does once ReportsAfter
// is over.
func TestHousekeepingKeepsReportMonthsAfterADelay(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(context.Background())
	testenv.Must(t, err)
	run := func(after time.Duration, until func(*countingReports) bool) *countingReports {
		reports := &countingReports{}
		h := &app.Housekeeper{Store: st, Log: testenv.Logger(t), Reports: reports, Interval: 5 * time.Millisecond, ReportsAfter: after}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); h.Run(ctx) }()
		testenv.Eventually(t, 10*time.Second, "housekeeping passes", func() bool { return until(reports) })
		cancel()
		<-done
		return reports
	}
	// Passes go on every 5 ms; the delay is an hour: none keeps months.
	passes := 0
	if r := run(time.Hour, func(*countingReports) bool { passes++; return passes > 20 }); r.n.Load() != 0 {
		t.Errorf("%d passes kept report months before the delay was over", r.n.Load())
	}
	run(50*time.Millisecond, func(r *countingReports) bool { return r.n.Load() > 0 })
}
