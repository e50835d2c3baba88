package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Service creates and deactivates users under the directory's rules.
type Service struct {
	Store *store.Store
	Now   func() time.Time
}

// NewUser is a user to create; Password is checked against the policy and
// stored only as a hash.
type NewUser struct {
	Email, Name, Password string
	Role                  auth.Role
	AgencyID              uuid.UUID
}

// FieldError names the field of NewUser that breaks a rule.
type FieldError struct {
	Field, Rule string
	Err         error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ErrNoAgency: the named agency does not exist.
var ErrNoAgency = errors.New("no such agency")

// ErrEmailTaken: another user has this address (after normalisation).
var ErrEmailTaken = errors.New("a user with this e-mail address exists")

// AddUser checks the request against every rule, then creates the user.
func (s *Service) AddUser(ctx context.Context, u NewUser) (*store.User, error) {
	email, err := NormalizeEmail(u.Email)
	if err != nil {
		return nil, &FieldError{Field: "email", Rule: "email", Err: err}
	}
	name := strings.TrimSpace(u.Name)
	if err := auth.CheckPasswordPolicy(u.Password, email, name); err != nil {
		return nil, &FieldError{Field: "password", Rule: "policy", Err: err}
	}
	a, err := s.Store.Agency(ctx, u.AgencyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &FieldError{Field: "agency_id", Rule: "exists", Err: ErrNoAgency}
	}
	if err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	if err := RoleAllowed(u.Role, a); err != nil {
		return nil, &FieldError{Field: "role", Rule: "agency_type", Err: err}
	}
	hash, err := auth.HashPassword(u.Password)
	if err != nil {
		return nil, fmt.Errorf("add user: %w", err)
	}
	created := &store.User{Email: email, Name: name, Role: string(u.Role), AgencyID: a.ID, PasswordHash: hash, Active: true}
	if err := s.Store.CreateUser(ctx, created); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &FieldError{Field: "email", Rule: "unique", Err: ErrEmailTaken}
		}
		return nil, fmt.Errorf("add user: %w", err)
	}
	return created, nil
}

// Deactivate disables a user's account and ends its sessions. An
// administrator cannot deactivate their own account, and the last active
// administrator stays: without one nobody could manage the directory or
// end a compromised account's sessions.
func (s *Service) Deactivate(ctx context.Context, actor auth.Principal, id uuid.UUID) error {
	if actor.UserID == id {
		return ErrSelf
	}
	err := s.Store.DeactivateUser(ctx, id, s.now())
	if errors.Is(err, store.ErrLastAdmin) {
		return ErrLastAdmin
	}
	return err
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
