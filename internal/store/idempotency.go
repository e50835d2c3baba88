package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// IdempotentRequest is a POST made with an Idempotency-Key.
type IdempotentRequest struct {
	UserID      uuid.UUID `db:"user_id"`
	Key         string    `db:"key"`
	Method      string    `db:"method"`
	Path        string    `db:"path"`
	BodyHash    []byte    `db:"body_hash"`
	Status      *int      `db:"status"`
	ContentType *string   `db:"content_type"`
	Response    []byte    `db:"response"`
	CreatedAt   time.Time `db:"created_at"`
	// AbandonedBefore: a claim of the same request still without an answer
	// and made before this time was left by a process that died (or a
	// request that outlived every bound): ClaimIdempotencyKey takes it over.
	AbandonedBefore time.Time `db:"-"`
}

const (
	qClaimKey = `INSERT INTO idempotency_keys (user_id, key, method, path, body_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, key) DO UPDATE SET created_at = EXCLUDED.created_at
		WHERE idempotency_keys.status IS NULL AND idempotency_keys.created_at < $7
		AND idempotency_keys.method = EXCLUDED.method AND idempotency_keys.path = EXCLUDED.path
		AND idempotency_keys.body_hash = EXCLUDED.body_hash`
	qGetKey      = `SELECT * FROM idempotency_keys WHERE user_id = $1 AND key = $2`
	qCompleteKey = `UPDATE idempotency_keys SET status = $3, content_type = $4, response = $5 WHERE user_id = $1 AND key = $2`
	qReleaseKey  = `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL`
	qExpireKeys  = `DELETE FROM idempotency_keys WHERE created_at < $1`
)

// ClaimIdempotencyKey records a new key, or takes over an abandoned claim
// of the same request (r.AbandonedBefore); when the key exists otherwise it
// returns the stored request instead (claimed false).
func (s *Store) ClaimIdempotencyKey(ctx context.Context, r IdempotentRequest) (claimed bool, existing *IdempotentRequest, err error) {
	res, err := s.db.ExecContext(ctx, qClaimKey, r.UserID, r.Key, r.Method, r.Path, r.BodyHash, r.CreatedAt, r.AbandonedBefore)
	if err != nil {
		return false, nil, fmt.Errorf("idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil, nil
	}
	var got IdempotentRequest
	if err := s.db.GetContext(ctx, &got, qGetKey, r.UserID, r.Key); err != nil {
		return false, nil, fmt.Errorf("idempotency key: %w", notFound(err))
	}
	return false, &got, nil
}

// CompleteIdempotencyKey stores the response to replay.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, userID uuid.UUID, key string, status int, contentType string, body []byte) error {
	_, err := s.db.ExecContext(ctx, qCompleteKey, userID, key, status, contentType, body)
	return err
}

// ReleaseIdempotencyKey forgets a key whose request failed on the server's
// side, so that a retry runs again.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, userID uuid.UUID, key string) error {
	_, err := s.db.ExecContext(ctx, qReleaseKey, userID, key)
	return err
}

// ExpireIdempotencyKeys deletes keys created before the cutoff and returns
// how many it deleted.
func (s *Store) ExpireIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.execCount(ctx, qExpireKeys, before)
	if err != nil {
		return 0, fmt.Errorf("expire idempotency keys: %w", err)
	}
	return n, nil
}
