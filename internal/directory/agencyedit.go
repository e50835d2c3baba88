package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// AgencyEdit is what an administrator changes of an agency from the web UI:
// everything but its name (the API's PATCH changes services, regions,
// languages and beds only, UpdateAgency).
type AgencyEdit struct {
	Type, Region string
	// Regions are the regions the agency serves besides its own Region.
	Regions             []string
	National            bool
	Services, Languages []string
	Beds                int
}

// ErrUsersWouldNotBelong: after the change, users of the agency would hold
// a role that does not belong in it (RoleAllowed): a shelter's provider
// users when it stops offering services, frontline officers when it becomes
// the competent authority. Move or deactivate them first.
var ErrUsersWouldNotBelong = errors.New("users of the agency hold a role that would not belong in it")

// EditAgency replaces an agency's kind, region, regions served, national
// flag, services, languages and beds, under the rule that every user of the
// agency still belongs there (a FieldError of "type" or "services" wrapping
// ErrUsersWouldNotBelong otherwise), and answers it as stored; an unknown
// agency is store.ErrNotFound. The change is audited as agency.update,
// naming the agency in its fields ("agency:<id>").
func (a *Admin) EditAgency(ctx context.Context, p auth.Principal, ri RequestInfo, id uuid.UUID, e AgencyEdit) (*store.Agency, error) {
	next := &store.Agency{ID: id, Type: e.Type, Region: e.Region, Regions: e.Regions, National: e.National,
		Services: e.Services, Languages: e.Languages, Beds: e.Beds}
	ag, err := a.Directory.Store.EditAgency(ctx, next, func(roles []string) error {
		for _, r := range roles {
			if err := RoleAllowed(auth.Role(r), next); err != nil {
				field := "services"
				if _, sole := soleRole[next.Type]; sole || typeOf(auth.Role(r)) != "" {
					field = "type"
				}
				return &FieldError{Field: field, Rule: "users", Err: fmt.Errorf("%w: %w", ErrUsersWouldNotBelong, err)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.auditFields(ctx, p, ri, "agency.update", "agency:"+id.String())
	return ag, nil
}
