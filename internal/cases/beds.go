package cases

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// MaxBeds bounds the beds an agency says it has, as the administrators'
// API does.
const MaxBeds = 100000

// CountsBeds reports whether an agency offers the service whose accepted
// referrals hold one of its beds (the SOP's bed service, beds: true) under
// any SOP version this binary loads: routing skips such a provider when it
// has no free bed.
func (s *Service) CountsBeds(a *store.Agency) bool {
	if s.SOPs == nil {
		return false
	}
	for _, procedure := range s.SOPs.All() {
		if procedure.BedService != "" && slices.Contains(a.Services, procedure.BedService) {
			return true
		}
	}
	return false
}

// OwnAgency is the caller's agency, for a provider's pages (its beds: Beds
// in all, Beds-Occupancy free).
func (s *Service) OwnAgency(ctx context.Context, p auth.Principal) (*store.Agency, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	return s.Store.Agency(ctx, p.AgencyID)
}

// SetOwnBeds records the beds a shelter has in all and free now, as its own
// users say: only a provider, for its own agency, and only an agency that
// counts beds (CountsBeds; else ErrForbidden). total is 0..MaxBeds and free
// 0..total, else a ValidationError naming "total" or "free". Beds held by
// accepted referrals count among the taken ones and come back free as those
// referrals end. The change is written to the audit log (agency.beds); a
// failure to write that row is logged, as directory.Admin does: the change
// stands.
func (s *Service) SetOwnBeds(ctx context.Context, p auth.Principal, ri RequestInfo, total, free int) (*store.Agency, error) {
	a, err := s.OwnAgency(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrForbidden
	}
	if err != nil {
		return nil, err
	}
	if !s.CountsBeds(a) {
		return nil, ErrForbidden
	}
	v := &ValidationError{}
	if total < 0 || total > MaxBeds {
		v.add("total", "range", "beds in all must be between 0 and 100000")
	}
	switch {
	case free < 0:
		v.add("free", "min", "free beds cannot be fewer than 0")
	case free > total && len(v.Errors) == 0:
		v.add("free", "lte_total", "free beds cannot be more than the beds in all")
	}
	if err := v.orNil(); err != nil {
		return nil, err
	}
	a, err = s.Store.SetAgencyBeds(ctx, p.AgencyID, total, free)
	if err != nil {
		return nil, err
	}
	entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "agency.beds", RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(context.WithoutCancel(ctx), entry); err != nil {
		log := s.Log
		if log == nil {
			log = slog.Default()
		}
		log.Error("audit", "request_id", ri.RequestID, "action", entry.Action, "error", err)
	}
	return a, nil
}
