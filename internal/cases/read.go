package cases

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
)

// IdentityFields are the person fields a read discloses; the audit row names them.
var IdentityFields = []string{"given_name", "family_name", "birth_date", "age_estimate", "languages",
	"phone", "document_number", "place", "narrative", "officer_concern"}

// RequestInfo identifies the HTTP request for the audit log.
type RequestInfo struct {
	RequestID string
	// ClientRequestID is the X-Request-ID the client sent, kept apart.
	ClientRequestID string
	// Identity asks for the person's identity (audited); commands answer without it.
	Identity bool
}

// View is a case as a caller may see it. Person is nil for roles that do not
// need the identity.
type View struct {
	Case        *store.Case
	Person      *identity.Person
	Obligations []store.Obligation
}

// Get returns a case the caller may see, with the person's identity for the
// roles that need it; that read is audited before anything is returned.
func (s *Service) Get(ctx context.Context, p auth.Principal, id uuid.UUID, ri RequestInfo) (*View, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	c, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	obligations, err := s.Store.Obligations(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &View{Case: c, Obligations: obligations}
	if !auth.SeesIdentity(p) || !ri.Identity {
		return v, nil
	}
	person, err := s.Vault.Open(ctx, id)
	if errors.Is(err, identity.ErrGone) {
		return v, nil // identity removed (declined consent or shredded)
	}
	if err != nil {
		return nil, err
	}
	entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.identity.read", CaseID: &id, Fields: store.Strings(IdentityFields), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(ctx, entry); err != nil {
		return nil, fmt.Errorf("read case %s: %w", id, err)
	}
	v.Person = person
	return v, nil
}

// List returns the cases the caller may see. Lists carry no identity data.
func (s *Service) List(ctx context.Context, p auth.Principal, f store.CaseFilter) ([]store.Case, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	return s.Store.Cases(ctx, auth.CaseScope(p), f)
}

func canReadCases(p auth.Principal) bool {
	return p.Is(auth.Frontline, auth.Supervisor, auth.CompetentAuthority)
}

// Worklist returns the open cases the caller may see, the earliest
// deadline first. It carries no identity data.
func (s *Service) Worklist(ctx context.Context, p auth.Principal, f store.CaseFilter) ([]store.WorkItem, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return s.Store.Worklist(ctx, auth.CaseScope(p), f)
}
