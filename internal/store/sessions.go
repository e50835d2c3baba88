package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

const (
	qInsertSession = `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`
	// A session is live while not revoked, before its absolute expiry, seen
	// within the idle window, and its user still active.
	qLiveSession = `SELECT u.*, s.last_seen_at AS "session_last_seen", s.expires_at AS "session_expires"
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active`
	qTouchSession  = `UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1`
	qRevokeSession = `UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`
)

// CreateSession stores the hash of a new session token.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, userID uuid.UUID, now, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, qInsertSession, tokenHash, userID, now, expires); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser returns the user of a live session and extends its idle window.
// A dead or unknown session is ErrNotFound.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte, now time.Time, idle time.Duration) (*User, time.Time, error) {
	var row struct {
		User
		LastSeen time.Time `db:"session_last_seen"`
		Expires  time.Time `db:"session_expires"`
	}
	if err := s.db.GetContext(ctx, &row, qLiveSession, tokenHash, now, now.Add(-idle)); err != nil {
		return nil, time.Time{}, fmt.Errorf("session: %w", notFound(err))
	}
	// Touch at most once a minute: enough precision for a 30-minute idle window.
	if now.Sub(row.LastSeen) > time.Minute {
		if _, err := s.db.ExecContext(ctx, qTouchSession, tokenHash, now); err != nil {
			return nil, time.Time{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return &row.User, row.Expires, nil
}

// RevokeSession ends a session (logout).
func (s *Store) RevokeSession(ctx context.Context, tokenHash []byte, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, qRevokeSession, tokenHash, now); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}
