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
	ErrLocked         = errors.New("account temporarily locked after repeated failures")
	ErrNoSession      = errors.New("no valid session")
)

// Sessions signs users in and out and turns tokens into principals.
type Sessions struct {
	Store *store.Store
	// Idle ends a session not used for this long; Max ends any session.
	Idle, Max time.Duration
	// MaxFailures failed logins lock the account for LockFor.
	MaxFailures int
	LockFor     time.Duration
	Now         func() time.Time
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Login checks the password and opens a session. Unknown users, wrong
// passwords and inactive accounts are the same error and take the same time.
func (s *Sessions) Login(ctx context.Context, email, password string) (token string, expires time.Time, p Principal, err error) {
	now := s.now()
	u, err := s.Store.UserByEmail(ctx, strings.TrimSpace(email))
	if errors.Is(err, store.ErrNotFound) {
		VerifyPassword(password, "")
		return "", time.Time{}, Principal{}, ErrBadCredentials
	}
	if err != nil {
		return "", time.Time{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	if u.LockedUntil != nil && u.LockedUntil.After(now) {
		VerifyPassword(password, "")
		return "", time.Time{}, Principal{}, ErrLocked
	}
	if !VerifyPassword(password, u.PasswordHash) || !u.Active {
		if u.Active {
			if err := s.Store.RecordLoginFailure(ctx, u.ID, s.MaxFailures, now.Add(s.LockFor)); err != nil {
				return "", time.Time{}, Principal{}, fmt.Errorf("login: %w", err)
			}
		}
		return "", time.Time{}, Principal{}, ErrBadCredentials
	}
	if err := s.Store.RecordLoginSuccess(ctx, u.ID); err != nil {
		return "", time.Time{}, Principal{}, fmt.Errorf("login: %w", err)
	}
	token, hash, err := NewToken()
	if err != nil {
		return "", time.Time{}, Principal{}, err
	}
	expires = now.Add(s.Max)
	if err := s.Store.CreateSession(ctx, hash, u.ID, now, expires); err != nil {
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
	return Principal{UserID: u.ID, Email: u.Email, Name: u.Name, Role: Role(u.Role), AgencyID: u.AgencyID}
}
