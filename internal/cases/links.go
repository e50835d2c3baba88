package cases

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Links (docs/process.md#linked-cases): a duplicate found at screening — a
// later case of a person who has an earlier one — is linked to the earlier
// case, and marked as re-trafficking when the person was trafficked again.
// A link across two agencies tells each of them of the other's case, so it
// needs the person's consent to share data with other agencies, as last
// recorded in each case (a child's guardian stands in for it, as for
// providers): without it the link is refused and nothing is recorded.

// LinkRequest is the body of POST /api/v1/cases/{id}/links: {id} is the
// later case.
type LinkRequest struct {
	EarlierCaseID string `json:"earlier_case_id" validate:"required,uuid"`
	ReTrafficked  bool   `json:"re_trafficked"`
}

// Link links a case the caller may see to an earlier case the caller may
// also see (the competent authority sees every case; an officer or
// supervisor their own agency's). An earlier case the caller may not see is
// answered like one that does not exist (422 naming earlier_case_id).
func (s *Service) Link(ctx context.Context, p auth.Principal, id uuid.UUID, req LinkRequest) (*store.CaseLink, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	scope := auth.CaseScope(p)
	later, err := s.Store.Case(ctx, scope, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	verr := &ValidationError{}
	earlierID, err := uuid.Parse(req.EarlierCaseID)
	if err != nil {
		verr.add("earlier_case_id", "uuid", "must be an ID (a UUID)")
		return nil, verr
	}
	earlier, err := s.Store.Case(ctx, scope, earlierID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		verr.add("earlier_case_id", "exists", "no such case")
		return nil, verr
	case err != nil:
		return nil, err
	case earlier.ID == later.ID || !earlier.OpenedAt.Before(later.OpenedAt):
		verr.add("earlier_case_id", "earlier", "must be a case opened before this one")
		return nil, verr
	}
	if earlier.AgencyID != later.AgencyID {
		for _, c := range []*store.Case{later, earlier} {
			ok, err := s.sharesData(ctx, c)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, &RuleError{Rule: "no_data_sharing", Detail: "the person's consent to share data with other agencies is not recorded in both cases"}
			}
		}
	}
	l := store.CaseLink{CaseID: later.ID, EarlierCaseID: earlier.ID, ReTrafficked: req.ReTrafficked, LinkedBy: p.UserID, LinkedAt: s.now().UTC()}
	if err := s.Store.LinkCases(ctx, l); errors.Is(err, store.ErrConflict) {
		return nil, &RuleError{Rule: "already_linked", Detail: "the cases are already linked"}
	} else if err != nil {
		return nil, err
	}
	return &l, nil
}

// sharesData answers whether a case's person may have their data shared
// with other agencies: a child (the guardian stands in), or an adult whose
// last recorded answer was yes.
func (s *Service) sharesData(ctx context.Context, c *store.Case) (bool, error) {
	if c.Child {
		return true, nil
	}
	sharing, err := s.Store.DataSharing(ctx, c.ID)
	if err != nil {
		return false, err
	}
	return sharing != nil && *sharing, nil
}
