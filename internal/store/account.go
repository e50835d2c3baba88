package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// What users change of their own account (package directory holds the rules).
const qSetUserLanguage = `UPDATE users SET language = $2 WHERE id = $1`

// SetUserLanguage stores the web UI's language a user chose (empty for none);
// an unknown user is ErrNotFound.
func (s *Store) SetUserLanguage(ctx context.Context, id uuid.UUID, lang string) error {
	res, err := s.db.ExecContext(ctx, qSetUserLanguage, id, lang)
	if err != nil {
		return fmt.Errorf("set language of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set language of %s: %w", id, ErrNotFound)
	}
	return nil
}

// ChangePassword replaces a user's password hash and ends every session of
// the user, in one transaction: whoever knew the old password is signed out
// everywhere.
func (s *Store) ChangePassword(ctx context.Context, id uuid.UUID, hash string, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlxTx) error {
		res, err := tx.ExecContext(ctx, qSetPassword, id, hash)
		if err != nil {
			return fmt.Errorf("change password of %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("change password of %s: %w", id, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, qRevokeAllUser, id, now); err != nil {
			return fmt.Errorf("revoke sessions of %s: %w", id, err)
		}
		return nil
	})
}
