package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// What a provider's pages read beyond its inbox (AgencyReferrals): the
// referrals it passed on — declined, or let the answer deadline pass — which
// its inbox no longer lists because they went to the next provider, and the
// beds a shelter says it has.

// PassedReferral is a referral an agency had and passed on: the referral's
// codes and the agency's attempt. Nothing of the person.
type PassedReferral struct {
	ID         uuid.UUID `db:"id"`
	Service    string    `db:"service"`
	Urgent     bool      `db:"urgent"`
	Region     string    `db:"region"`
	SentAt     time.Time `db:"sent_at"`
	DueAt      time.Time `db:"due_at"`
	AnsweredAt time.Time `db:"answered_at"`
	// Answer is "declined" or "expired" (the deadline passed unanswered).
	Answer        string  `db:"answer"`
	DeclineReason *string `db:"decline_reason"`
}

const (
	qAgencyPassed = `SELECT r.id, r.service, r.urgent, r.region, a.sent_at, a.due_at, a.answered_at, a.answer, a.decline_reason
		FROM referral_attempts a JOIN referrals r ON r.id = a.referral_id
		WHERE a.agency_id = $1 AND a.answer IN ('declined', 'expired') AND a.answered_at IS NOT NULL
		ORDER BY a.answered_at DESC, r.id LIMIT $2`
	qAgencyPassedOne = `SELECT r.id, r.service, r.urgent, r.region, a.sent_at, a.due_at, a.answered_at, a.answer, a.decline_reason
		FROM referral_attempts a JOIN referrals r ON r.id = a.referral_id
		WHERE a.referral_id = $1 AND a.agency_id = $2 AND a.answer IN ('declined', 'expired') AND a.answered_at IS NOT NULL
		ORDER BY a.attempt DESC LIMIT 1`
	// A shelter's word on its beds: total, and taken = total - free.
	qSetBeds = `UPDATE agencies SET beds = $2::integer, occupancy = $2::integer - $3::integer WHERE id = $1`
)

// AgencyPassedReferrals lists the referrals an agency declined or let
// expire, the latest answer first.
func (s *Store) AgencyPassedReferrals(ctx context.Context, agencyID uuid.UUID, limit int) ([]PassedReferral, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	out := []PassedReferral{}
	if err := s.db.SelectContext(ctx, &out, qAgencyPassed, agencyID, limit); err != nil {
		return nil, fmt.Errorf("referrals passed on by %s: %w", agencyID, err)
	}
	return out, nil
}

// AgencyPassedReferral is one referral the agency declined or let expire;
// ErrNotFound when it never passed that referral on.
func (s *Store) AgencyPassedReferral(ctx context.Context, referralID, agencyID uuid.UUID) (*PassedReferral, error) {
	var out PassedReferral
	if err := s.db.GetContext(ctx, &out, qAgencyPassedOne, referralID, agencyID); err != nil {
		return nil, fmt.Errorf("referral %s passed on by %s: %w", referralID, agencyID, notFound(err))
	}
	return &out, nil
}

// SetAgencyBeds records the beds an agency has in all and free now; the
// caller checks 0 <= free <= total. Beds held by accepted referrals are
// among the taken ones and are given back as those referrals end.
func (s *Store) SetAgencyBeds(ctx context.Context, agencyID uuid.UUID, total, free int) (*Agency, error) {
	res, err := s.db.ExecContext(ctx, qSetBeds, agencyID, total, free)
	if err != nil {
		return nil, fmt.Errorf("beds of agency %s: %w", agencyID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("agency %s: %w", agencyID, ErrNotFound)
	}
	return s.Agency(ctx, agencyID)
}
