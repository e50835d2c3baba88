package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// What signed-in users change of their own account: the web UI's language
// and their password.

// Languages are the languages a user may choose for the web UI (the web
// package's Languages; the users table checks the same list).
var Languages = []string{"tk", "ru", "en"}

// ErrWrongPassword: the current password given to change it is wrong.
var ErrWrongPassword = errors.New("the current password is wrong")

// Account is what a user sees of their own account.
type Account struct {
	User   *store.User
	Agency *store.Agency
}

// Account answers the caller's own user and agency.
func (s *Service) Account(ctx context.Context, p auth.Principal) (*Account, error) {
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	a, err := s.Store.Agency(ctx, u.AgencyID)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	return &Account{User: u, Agency: a}, nil
}

// SetLanguage stores the web UI's language the caller chose: one of
// Languages, or empty to follow the browser again.
func (s *Service) SetLanguage(ctx context.Context, p auth.Principal, lang string) error {
	if lang != "" && !slices.Contains(Languages, lang) {
		return &FieldError{Field: "language", Rule: "oneof", Err: fmt.Errorf("must be one of %v", Languages)}
	}
	return s.Store.SetUserLanguage(ctx, p.UserID, lang)
}

// ChangePassword replaces the caller's password after checking the current
// one (ErrWrongPassword, as a FieldError of "current") and the policy for
// the new one (an auth.PolicyError, as a FieldError of "new"). Every session
// of the user ends, this one included: the caller signs in again with the
// new password (the web UI does it for the browser that changed it).
func (s *Service) ChangePassword(ctx context.Context, p auth.Principal, current, next string) error {
	u, err := s.Store.User(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	ok, err := auth.VerifyPassword(ctx, current, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return &FieldError{Field: "current", Rule: "password", Err: ErrWrongPassword}
	}
	if err := auth.CheckPasswordPolicy(next, u.Email, u.Name); err != nil {
		return &FieldError{Field: "new", Rule: "policy", Err: err}
	}
	hash, err := auth.HashPassword(next)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.Store.ChangePassword(ctx, u.ID, hash, s.now())
}
