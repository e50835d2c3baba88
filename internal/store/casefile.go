package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// CaseReferral is a referral of a case with the name of the agency that has it.
type CaseReferral struct {
	Referral
	AgencyName *string `db:"agency_name"`
}

const (
	// A note sent again under the same ID (a retried form) is written once.
	qInsertNoteOnce = `INSERT INTO case_notes (id, case_id, kind, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO NOTHING`
	qCaseReferralsNamed = `SELECT r.*, a.name AS agency_name FROM referrals r LEFT JOIN agencies a ON a.id = r.agency_id
		WHERE r.case_id = $1 ORDER BY r.sent_at, r.id`
)

// AddNoteOnce stores a note unless one with its ID is already stored; it
// reports whether this call wrote it.
func (s *Store) AddNoteOnce(ctx context.Context, id, caseID uuid.UUID, kind string, author uuid.UUID, body []byte, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, qInsertNoteOnce, id, caseID, kind, author, body, at)
	if err != nil {
		return false, fmt.Errorf("note for case %s: %w", caseID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CaseReferralsNamed lists a case's referrals, oldest first, with the name
// of the agency that has each (none while it is being routed).
func (s *Store) CaseReferralsNamed(ctx context.Context, caseID uuid.UUID) ([]CaseReferral, error) {
	out := []CaseReferral{}
	if err := s.db.SelectContext(ctx, &out, qCaseReferralsNamed, caseID); err != nil {
		return nil, fmt.Errorf("referrals of case %s: %w", caseID, err)
	}
	return out, nil
}

// qDataSharing is the person's latest answer on sharing their data with
// other agencies: the last consent event's, else the screening's.
const qDataSharing = `SELECT COALESCE(
		(SELECT (e.data->>'data_sharing')::boolean FROM case_events e
		 WHERE e.case_id = c.id AND e.type IN ('consent_given', 'consent_declined') AND e.data ? 'data_sharing'
		 ORDER BY e.at DESC, e.seq DESC LIMIT 1),
		c.consent_data_sharing)
	FROM cases c WHERE c.id = $1`

// DataSharing answers whether the person of a case consents, as last
// recorded, to their data being shared with other agencies; nil when no
// answer was recorded (a child's case).
func (s *Store) DataSharing(ctx context.Context, caseID uuid.UUID) (*bool, error) {
	var v *bool
	if err := s.db.GetContext(ctx, &v, qDataSharing, caseID); err != nil {
		return nil, fmt.Errorf("data sharing consent of case %s: %w", caseID, err)
	}
	return v, nil
}
