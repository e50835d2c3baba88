package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// What administrators do to another user's account besides creating and
// deactivating it: set a new password, give another role. Both end every
// session of the user, both are refused for one's own account (ErrSelf: an
// administrator changes their own password on their account page, with
// the current one), and a role change keeps the last active administrator
// (ErrLastAdmin), as deactivation does. Each writes its audit row —
// user.password_reset, user.role_change — naming the user in its fields
// ("user:<id>") beside what changed.

// User answers one user of the directory (store.ErrNotFound when none).
func (a *Admin) User(ctx context.Context, id uuid.UUID) (*store.User, error) {
	return a.Directory.Store.User(ctx, id)
}

// Agency answers one agency of the directory (store.ErrNotFound when none).
func (a *Admin) Agency(ctx context.Context, id uuid.UUID) (*store.Agency, error) {
	return a.Directory.Store.Agency(ctx, id)
}

// RolesFor lists the roles a user of the agency may hold (RoleAllowed), in
// the order of auth.Roles.
func RolesFor(ag *store.Agency) []auth.Role {
	var out []auth.Role
	for _, r := range auth.Roles {
		if RoleAllowed(r, ag) == nil {
			out = append(out, r)
		}
	}
	return out
}

// ResetPassword sets a password an administrator chose for another user,
// checked against the policy (an auth.PolicyError as a FieldError of
// "password"), and ends every session of the user: whoever knew the old
// password is signed out. The user's own account is ErrSelf.
func (a *Admin) ResetPassword(ctx context.Context, p auth.Principal, ri RequestInfo, id uuid.UUID, password string) error {
	if p.UserID == id {
		return ErrSelf
	}
	u, err := a.Directory.Store.User(ctx, id)
	if err != nil {
		return err
	}
	if err := auth.CheckPasswordPolicy(password, u.Email, u.Name); err != nil {
		return &FieldError{Field: "password", Rule: "policy", Err: err}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	if err := a.Directory.Store.ChangePassword(ctx, id, hash, a.Directory.now()); err != nil {
		return err
	}
	a.auditFields(ctx, p, ri, "user.password_reset", "user:"+id.String(), "password")
	return nil
}

// ChangeRole gives another user a role that belongs in their agency
// (RoleAllowed, a FieldError of "role" otherwise) and ends the user's
// sessions. The caller's own account is ErrSelf; demoting the last active
// administrator ErrLastAdmin. The same role again changes nothing and
// writes no audit row.
func (a *Admin) ChangeRole(ctx context.Context, p auth.Principal, ri RequestInfo, id uuid.UUID, role auth.Role) error {
	if p.UserID == id {
		return ErrSelf
	}
	u, err := a.Directory.Store.User(ctx, id)
	if err != nil {
		return err
	}
	if _, err := auth.ParseRole(string(role)); err != nil {
		return &FieldError{Field: "role", Rule: "oneof", Err: err}
	}
	if auth.Role(u.Role) == role {
		return nil
	}
	ag, err := a.Directory.Store.Agency(ctx, u.AgencyID)
	if err != nil {
		return fmt.Errorf("change role: %w", err)
	}
	if err := RoleAllowed(role, ag); err != nil {
		return &FieldError{Field: "role", Rule: "agency_type", Err: err}
	}
	err = a.Directory.Store.SetUserRole(ctx, id, string(role), a.Directory.now())
	if errors.Is(err, store.ErrLastAdmin) {
		return ErrLastAdmin
	}
	if err != nil {
		return err
	}
	a.auditFields(ctx, p, ri, "user.role_change", "user:"+id.String(), "role:"+u.Role+">"+string(role))
	return nil
}

// auditFields records a change with what it touched; see Admin.audit.
func (a *Admin) auditFields(ctx context.Context, p auth.Principal, ri RequestInfo, action string, fields ...string) {
	err := a.Directory.Store.Audit(ctx, store.AuditEntry{At: a.Directory.now(), UserID: p.UserID, Role: string(p.Role),
		AgencyID: p.AgencyID, Action: action, Fields: store.Strings(fields), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID})
	if err != nil {
		log := a.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("audit", "request_id", ri.RequestID, "action", action, "error", err)
	}
}
