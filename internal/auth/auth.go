// Package auth holds who a caller is and what they may see: roles, password
// hashing, session tokens and the one place where roles become data scopes.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// Role is what a user does in the mechanism.
type Role string

const (
	Frontline          Role = "frontline"
	CompetentAuthority Role = "competent_authority"
	Supervisor         Role = "supervisor"
	Provider           Role = "provider"
	TWG                Role = "twg"
	Admin              Role = "admin"
)

// Roles lists every role.
var Roles = []Role{Frontline, CompetentAuthority, Supervisor, Provider, TWG, Admin}

// ParseRole accepts only a known role.
func ParseRole(s string) (Role, error) {
	if slices.Contains(Roles, Role(s)) {
		return Role(s), nil
	}
	return "", fmt.Errorf("unknown role %q", s)
}

// Principal is the signed-in caller.
type Principal struct {
	UserID   uuid.UUID
	Email    string
	Name     string
	Role     Role
	AgencyID uuid.UUID
	// Language is the web UI's language the user chose on their account
	// page; empty when they chose none.
	Language string
}

// Is reports whether the principal has one of the roles.
func (p Principal) Is(roles ...Role) bool { return slices.Contains(roles, p.Role) }

// CaseScope is the single rule that turns a role and agency into the cases
// the caller may read: the opening agency's frontline officers and
// supervisors see their agency's cases; the competent authority, a national
// body, sees all; everyone else sees none through the case routes.
func CaseScope(p Principal) store.CaseScope {
	switch p.Role {
	case Frontline, Supervisor:
		return store.CaseScope{AgencyID: p.AgencyID}
	case CompetentAuthority:
		return store.CaseScope{All: true}
	default:
		return store.CaseScope{}
	}
}

// SeesIdentity reports whether the role needs a person's identity to work.
func SeesIdentity(p Principal) bool {
	return p.Is(Frontline, Supervisor, CompetentAuthority)
}

// Argon2id parameters (RFC 9106 second recommended option, memory-constrained).
var hashParams = &argon2id.Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// HashPassword returns an argon2id PHC string. It computes under the
// process's hash gate like every hash, so it fails with ErrBusy when no
// slot frees within the gate's wait.
func HashPassword(pw string) (string, error) {
	release, err := currentGate().Acquire(context.Background())
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer release()
	return argon2id.CreateHash(pw, hashParams)
}

// dummyHash is compared against when the user does not exist, so that the
// answer takes as long as for a wrong password.
var dummyHash, _ = argon2id.CreateHash("nrm-dummy-password-for-timing", hashParams)

// VerifyPassword compares in constant time; an empty hash (no such user)
// still spends a hash, under the same gate, so that neither the time nor a
// refusal for want of a slot tells whether the account exists. The error is
// ErrBusy or the end of ctx, never a mismatch.
func VerifyPassword(ctx context.Context, pw, hash string) (bool, error) {
	release, err := currentGate().Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	defer release()
	if hash == "" {
		argon2id.ComparePasswordAndHash(pw, dummyHash)
		return false, nil
	}
	ok, err := argon2id.ComparePasswordAndHash(pw, hash)
	return err == nil && ok, nil
}

// NewToken returns a 256-bit random opaque token and the hash stored for it.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is how a presented token is looked up.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
