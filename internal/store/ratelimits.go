package store

import (
	"context"
	"database/sql"
	"errors"
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

	// qSignInFailed adds one failure to the account's count ($2) and to the
	// source's count for that account ($1), each starting again from one
	// once forgotten, and blocks the source for the longer of the source
	// schedule's delay at its count ($3, 1-based: the n-th failure's wait,
	// the last entry beyond) and the account schedule's at the account's
	// count ($4). One statement, so that replicas counting at once each see
	// the other's failure.
	qSignInFailed = `WITH account AS (
			INSERT INTO signin_throttle AS t (key, failures, forget_at)
			VALUES ($2, 1, now() + make_interval(secs => $5::float8))
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.forget_at <= now() THEN 1 ELSE t.failures + 1 END,
				forget_at = excluded.forget_at
			RETURNING t.failures
		)
		INSERT INTO signin_throttle AS t (key, failures, blocked_until, forget_at)
		SELECT $1, 1, now() + make_interval(secs => greatest(($3::float8[])[1], ($4::float8[])[least(a.failures, cardinality($4::float8[]))])),
			now() + make_interval(secs => $5::float8)
		FROM account a
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.forget_at <= now() THEN 1 ELSE t.failures + 1 END,
			blocked_until = greatest(excluded.blocked_until, now() + make_interval(secs =>
				($3::float8[])[least(CASE WHEN t.forget_at <= now() THEN 1 ELSE t.failures + 1 END, cardinality($3::float8[]))])),
			forget_at = excluded.forget_at
		RETURNING greatest(extract(epoch FROM t.blocked_until - now()), 0)::float8`
	qSignInWait = `SELECT extract(epoch FROM blocked_until - now())::float8 FROM signin_throttle
		WHERE key = $1 AND blocked_until > now()`
	qSignInSucceeded = `DELETE FROM signin_throttle WHERE key = $1`
	qExpireSignIn    = `DELETE FROM signin_throttle WHERE forget_at < $1`
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
// cutoff, and the sign-in throttle counts forgotten before it, and returns
// how many rows it deleted. (The throttle's counts ride on this sweep so that
// the worker's housekeeping needs no second call.)
func (s *Store) ExpireRateWindows(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.execCount(ctx, qExpireRateWindows, before)
	if err != nil {
		return 0, fmt.Errorf("expire rate-limit windows: %w", err)
	}
	m, err := s.execCount(ctx, qExpireSignIn, before)
	if err != nil {
		return n, fmt.Errorf("expire sign-in throttle counts: %w", err)
	}
	return n + m, nil
}

// SignInSchedule is how long a source waits after failed sign-ins: Source[n-1]
// after its n-th failure for an account (the last entry for any later one),
// and at least Account[N-1] after the account's N-th failure from all
// sources together. Counts are forgotten Memory after their last failure.
type SignInSchedule struct {
	Source, Account []time.Duration
	Memory          time.Duration
}

func seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// SignInWait returns how long the source must still wait before an attempt
// is checked; zero when it may try now.
func (s *Store) SignInWait(ctx context.Context, sourceKey string) (time.Duration, error) {
	var left float64
	err := s.db.QueryRowxContext(ctx, qSignInWait, sourceKey).Scan(&left)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read sign-in wait: %w", err)
	}
	return time.Duration(left * float64(time.Second)), nil
}

// SignInFailed counts a failed sign-in of a source for an account (keys as
// the caller names them) and returns how long that source must now wait.
func (s *Store) SignInFailed(ctx context.Context, sourceKey, accountKey string, sch SignInSchedule) (time.Duration, error) {
	if len(sch.Source) == 0 || len(sch.Account) == 0 || sch.Memory < time.Second {
		return 0, fmt.Errorf("sign-in schedule: needs source and account delays and a memory of a second or more")
	}
	var wait float64
	err := s.db.QueryRowxContext(ctx, qSignInFailed, sourceKey, accountKey, seconds(sch.Source), seconds(sch.Account), sch.Memory.Seconds()).Scan(&wait)
	if err != nil {
		return 0, fmt.Errorf("count failed sign-in: %w", err)
	}
	return time.Duration(wait * float64(time.Second)), nil
}

// SignInSucceeded forgets the failures of the source that just signed in
// for the account. The account's own count stays: it is the evidence of
// guessing from elsewhere, and only time clears it.
func (s *Store) SignInSucceeded(ctx context.Context, sourceKey string) error {
	if _, err := s.db.ExecContext(ctx, qSignInSucceeded, sourceKey); err != nil {
		return fmt.Errorf("clear sign-in failures: %w", err)
	}
	return nil
}

// execCount runs a statement and returns how many rows it changed.
func (s *Store) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
