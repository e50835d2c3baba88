package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nrm-tm/nrm/internal/store"
)

// Sentinel errors of signing in.
var (
	ErrBadCredentials = errors.New("email or password is wrong")
	ErrNoSession      = errors.New("no valid session")
)

// Sessions signs users in and out and turns tokens into principals.
//
// It does not lock accounts after failed sign-ins: a lock is a denial of
// service anyone who knows an e-mail can inflict (the administrator's
// included), and it answered differently for existing accounts. Repeated
// failures are throttled instead by the API, per source address and account
// (api.SignInRule), with the same answer for accounts that do not exist.
type Sessions struct {
	Store *store.Store
	// Idle ends a session not used for this long; Max ends any session.
	Idle, Max time.Duration
	Now       func() time.Time
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Login checks the password and opens a session. Unknown users, wrong
// passwords and inactive accounts are the same error and take the same
// time: an unknown user's password is hashed too, under the same bound, so
// ErrBusy does not tell them apart either.
func (s *Sessions) Login(ctx context.Context, email, password string) (token string, expires time.Time, p Principal, err error) {
	now := s.now()
	u, err := s.Store.UserByEmail(ctx, strings.TrimSpace(email))
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
	case err != nil:
		return "", time.Time{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	var hash string
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := VerifyPassword(ctx, password, hash)
	if err != nil {
		return "", time.Time{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	if u == nil || !ok || !u.Active {
		return "", time.Time{}, Principal{}, ErrBadCredentials
	}
	token, tokenHash, err := NewToken()
	if err != nil {
		return "", time.Time{}, Principal{}, err
	}
	expires = now.Add(s.Max)
	if err := s.Store.CreateSession(ctx, tokenHash, u.ID, now, expires); err != nil {
		return "", time.Time{}, Principal{}, err
	}
	return token, expires, principalOf(u), nil
}

// Authenticate returns the principal of a live session.
func (s *Sessions) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 128 {
		return Principal{}, ErrNoSession
	}
	u, _, err := s.Store.SessionUser(ctx, HashToken(token), s.now(), s.Idle)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return principalOf(u), nil
}

// Logout revokes the session.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	return s.Store.RevokeSession(ctx, HashToken(token), s.now())
}

func principalOf(u *store.User) Principal {
	return Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), AgencyID: u.AgencyID, Language: u.Language}
}
