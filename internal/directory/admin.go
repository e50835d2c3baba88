package directory

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Admin is the directory as administrators read and change it over the
// API: agencies and users. Each change is written to the audit log
// (docs/architecture.md#audit-log) under its own action — agency.create,
// agency.update, user.create, user.deactivate — once it has taken effect.
// A failure to write that row is logged, not returned: the change stands,
// and refusing the answer would tell the administrator it failed when it
// did not. (`nrm user add` goes through Service.AddUser, unaudited: it is
// the operator at the console, not a signed-in user.)
type Admin struct {
	Directory *Service
	// Log records the audit rows that could not be written (slog's default
	// logger when nil).
	Log *slog.Logger
}

// RequestInfo identifies, in the audit log, the request that asked for a
// change.
type RequestInfo struct {
	RequestID string
	// ClientRequestID is the X-Request-ID the client sent, kept apart.
	ClientRequestID string
}

// NewAgency is an agency to add to the directory.
type NewAgency struct {
	Name, Type, Region string
	// Regions are the regions the agency serves besides its own Region.
	Regions   []string
	National  bool
	Services  []string
	Languages []string
	Beds      int
}

// ErrAgencyNameTaken: another agency has this name.
var ErrAgencyNameTaken = errors.New("an agency with this name exists")

// Agencies lists every agency of the directory.
func (a *Admin) Agencies(ctx context.Context) ([]store.Agency, error) {
	return a.Directory.Store.Agencies(ctx)
}

// CreateAgency adds an agency (its name trimmed) and answers it as stored.
// A name in use is a FieldError of "name" (ErrAgencyNameTaken).
func (a *Admin) CreateAgency(ctx context.Context, p auth.Principal, ri RequestInfo, n NewAgency) (*store.Agency, error) {
	ag, err := a.Directory.AddAgency(ctx, n)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, p, ri, "agency.create")
	return ag, nil
}

// UpdateAgency changes what ch sets of an agency (store.ErrNotFound when
// there is none) and answers it as stored.
func (a *Admin) UpdateAgency(ctx context.Context, p auth.Principal, ri RequestInfo, id uuid.UUID, ch store.AgencyChange) (*store.Agency, error) {
	ag, err := a.Directory.Store.UpdateAgency(ctx, id, ch)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, p, ri, "agency.update")
	return ag, nil
}

// Users lists every user of the directory, active or not.
func (a *Admin) Users(ctx context.Context) ([]store.User, error) {
	return a.Directory.Store.Users(ctx)
}

// CreateUser creates a user under the directory's rules (Service.AddUser).
func (a *Admin) CreateUser(ctx context.Context, p auth.Principal, ri RequestInfo, u NewUser) (*store.User, error) {
	created, err := a.Directory.AddUser(ctx, u)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, p, ri, "user.create")
	return created, nil
}

// DeactivateUser disables an account and ends its sessions
// (Service.Deactivate: not one's own, not the last administrator).
func (a *Admin) DeactivateUser(ctx context.Context, p auth.Principal, ri RequestInfo, id uuid.UUID) error {
	if err := a.Directory.Deactivate(ctx, p, id); err != nil {
		return err
	}
	a.audit(ctx, p, ri, "user.deactivate")
	return nil
}

// audit records a change that has taken effect; see Admin.
func (a *Admin) audit(ctx context.Context, p auth.Principal, ri RequestInfo, action string) {
	err := a.Directory.Store.Audit(ctx, store.AuditEntry{At: a.Directory.now(), UserID: p.UserID, Role: string(p.Role),
		AgencyID: p.AgencyID, Action: action, RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID})
	if err != nil {
		log := a.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("audit", "request_id", ri.RequestID, "action", action, "error", err)
	}
}
