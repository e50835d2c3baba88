package cases

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// What a provider's pages need beside Inbox and ReferralForProvider
// (referrals.go): the referrals its agency passed on, which the inbox no
// longer lists once they went to the next provider, and the SOP of a
// referral's case, whose decline reasons and completion outcomes its
// answers must use.

// PassedOn lists the referrals the caller's agency declined or let the
// answer deadline pass on, the latest first: codes and times only.
func (s *Service) PassedOn(ctx context.Context, p auth.Principal, limit int) ([]store.PassedReferral, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	return s.Store.AgencyPassedReferrals(ctx, p.AgencyID, limit)
}

// PassedOnReferral is one referral the caller's agency passed on and that is
// no longer addressed to it; ErrNotFound for any other (one still with the
// agency is read with ReferralForProvider).
func (s *Service) PassedOnReferral(ctx context.Context, p auth.Principal, id uuid.UUID) (*store.PassedReferral, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	ref, err := s.Store.Referral(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if ref.AgencyID != nil && *ref.AgencyID == p.AgencyID {
		return nil, ErrNotFound
	}
	passed, err := s.Store.AgencyPassedReferral(ctx, id, p.AgencyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return passed, err
}

// ProviderReferral is a referral addressed to the caller's agency, read
// model row only (nothing of the person, no audit), and the SOP version of
// its case (nil when this binary does not load that version); ErrNotFound
// for a referral addressed elsewhere.
func (s *Service) ProviderReferral(ctx context.Context, p auth.Principal, id uuid.UUID) (*store.Referral, *sop.SOP, error) {
	ref, err := s.providerReferral(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Store.Case(ctx, store.CaseScope{All: true}, ref.CaseID)
	if err != nil {
		return nil, nil, err
	}
	return ref, s.procedureOf(c), nil
}
