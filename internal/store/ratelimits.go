package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

const (
	// qHitRateLimit counts one request of key in the current window of the
	// database's clock (windows of $2 seconds from the Unix epoch) and
	// returns the count so far and the seconds left in the window.
	qHitRateLimit = `INSERT INTO rate_limits AS r (key, window_start, n)
		VALUES ($1, date_bin(make_interval(secs => $2), now(), timestamptz '1970-01-01 00:00:00+00'), 1)
		ON CONFLICT (key, window_start) DO UPDATE SET n = r.n + 1
		RETURNING r.n, extract(epoch FROM r.window_start + make_interval(secs => $2) - now())::float8`
	qExpireRateWindows = `DELETE FROM rate_limits WHERE window_start < $1`
)

// HitRateLimit counts one request under key in the current fixed window of
// length window (at least a second) and returns how many requests key made
// in that window, this one included, and how long until the window ends.
// Every API replica counts in the same row, so a limit holds across them.
func (s *Store) HitRateLimit(ctx context.Context, key string, window time.Duration) (int, time.Duration, error) {
	if window < time.Second {
		return 0, 0, fmt.Errorf("rate limit window %s: shorter than a second", window)
	}
	var n int
	var left float64
	if err := s.db.QueryRowxContext(ctx, qHitRateLimit, key, window.Seconds()).Scan(&n, &left); err != nil {
		return 0, 0, fmt.Errorf("count request: %w", err)
	}
	return n, time.Duration(math.Max(left, 0) * float64(time.Second)), nil
}

// ExpireRateWindows deletes the counters of windows that started before the
// cutoff and returns how many it deleted.
func (s *Store) ExpireRateWindows(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.execCount(ctx, qExpireRateWindows, before)
	if err != nil {
		return 0, fmt.Errorf("expire rate-limit windows: %w", err)
	}
	return n, nil
}

// execCount runs a statement and returns how many rows it changed.
func (s *Store) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
