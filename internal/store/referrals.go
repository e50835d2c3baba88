package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Referral is the read-model row of a referral.
type Referral struct {
	ID                uuid.UUID  `db:"id"`
	CaseID            uuid.UUID  `db:"case_id"`
	Service           string     `db:"service"`
	Urgent            bool       `db:"urgent"`
	Region            string     `db:"region"`
	SenderID          uuid.UUID  `db:"sender_id"`
	SenderAgencyID    uuid.UUID  `db:"sender_agency_id"`
	RequestedAgencyID *uuid.UUID `db:"requested_agency_id"`
	AgencyID          *uuid.UUID `db:"agency_id"`
	Status            string     `db:"status"`
	Attempt           int        `db:"attempt"`
	Redirections      int        `db:"redirections"`
	SentAt            time.Time  `db:"sent_at"`
	DueAt             *time.Time `db:"due_at"`
	AcceptedAt        *time.Time `db:"accepted_at"`
	CompletedAt       *time.Time `db:"completed_at"`
	WithdrawnAt       *time.Time `db:"withdrawn_at"`
	Outcome           *string    `db:"outcome"`
	NoteID            *uuid.UUID `db:"note_id"`
	BedHeld           bool       `db:"bed_held"`
	UpdatedAt         time.Time  `db:"updated_at"`
}

// ReferralAttempt is one provider a referral went to.
type ReferralAttempt struct {
	ReferralID    uuid.UUID  `db:"referral_id"`
	Attempt       int        `db:"attempt"`
	AgencyID      uuid.UUID  `db:"agency_id"`
	SentAt        time.Time  `db:"sent_at"`
	DueAt         time.Time  `db:"due_at"`
	AnsweredAt    *time.Time `db:"answered_at"`
	Answer        *string    `db:"answer"`
	DeclineReason *string    `db:"decline_reason"`
}

// ReferralStep is one step of a referral as its workflow records it.
type ReferralStep struct {
	Referral      Referral
	Attempt       *ReferralAttempt
	Events        []Event
	Obligations   []Obligation
	Notifications []Notification
}

const (
	qUpsertReferral = `INSERT INTO referrals (id, case_id, service, urgent, region, sender_id, sender_agency_id, requested_agency_id,
		agency_id, status, attempt, redirections, sent_at, due_at, accepted_at, completed_at, withdrawn_at, outcome, note_id, updated_at)
		VALUES (:id, :case_id, :service, :urgent, :region, :sender_id, :sender_agency_id, :requested_agency_id,
		:agency_id, :status, :attempt, :redirections, :sent_at, :due_at, :accepted_at, :completed_at, :withdrawn_at, :outcome, :note_id, :updated_at)
		ON CONFLICT (id) DO UPDATE SET agency_id = EXCLUDED.agency_id, status = EXCLUDED.status, attempt = EXCLUDED.attempt,
		redirections = EXCLUDED.redirections, sent_at = EXCLUDED.sent_at, due_at = EXCLUDED.due_at,
		accepted_at = EXCLUDED.accepted_at, completed_at = EXCLUDED.completed_at, withdrawn_at = EXCLUDED.withdrawn_at,
		outcome = EXCLUDED.outcome, updated_at = EXCLUDED.updated_at`
	qUpsertAttempt = `INSERT INTO referral_attempts (referral_id, attempt, agency_id, sent_at, due_at, answered_at, answer, decline_reason)
		VALUES (:referral_id, :attempt, :agency_id, :sent_at, :due_at, :answered_at, :answer, :decline_reason)
		ON CONFLICT (referral_id, attempt) DO UPDATE SET answered_at = EXCLUDED.answered_at, answer = EXCLUDED.answer,
		decline_reason = EXCLUDED.decline_reason`
	// Routing order: the case's own region first, then the most free beds,
	// then the provider least recently referred to; full shelters are skipped.
	qNextProvider = `SELECT a.id FROM agencies a
		WHERE $1 = ANY(a.services) AND NOT (a.id = ANY($3::uuid[]))
		  AND (a.region = $2 OR $2 = ANY(a.regions) OR a.national)
		  AND ($4 = false OR a.occupancy < a.beds)
		ORDER BY (a.region = $2) DESC, (a.beds - a.occupancy) DESC, a.last_referred_at ASC NULLS FIRST, a.name
		LIMIT 1`
	qProviderOffers = `SELECT id FROM agencies a WHERE a.id = $1 AND $2 = ANY(a.services) AND NOT (a.id = ANY($3::uuid[]))`
	qTouchProvider  = `UPDATE agencies SET last_referred_at = GREATEST(COALESCE(last_referred_at, $2), $2) WHERE id = $1`
	// A bed is held once per referral, and only while one is free.
	qHoldBed = `WITH r AS (UPDATE referrals SET bed_held = true WHERE id = $1 AND NOT bed_held RETURNING id)
		UPDATE agencies SET occupancy = occupancy + 1 WHERE id = $2 AND occupancy < beds AND EXISTS (SELECT 1 FROM r) RETURNING id`
	qBedHeld = `SELECT bed_held FROM referrals WHERE id = $1`
	qFreeBed = `WITH r AS (UPDATE referrals SET bed_held = false WHERE id = $1 AND bed_held RETURNING id)
		UPDATE agencies SET occupancy = GREATEST(occupancy - 1, 0) WHERE id = $2 AND EXISTS (SELECT 1 FROM r)`
	qReferral         = `SELECT * FROM referrals WHERE id = $1`
	qAgencyReferrals  = `SELECT * FROM referrals WHERE agency_id = $1 AND ($2 = '' OR status = $2) ORDER BY sent_at DESC LIMIT $3`
	qCaseReferrals    = `SELECT * FROM referrals WHERE case_id = $1 ORDER BY sent_at`
	qReferralAttempts = `SELECT * FROM referral_attempts WHERE referral_id = $1 ORDER BY attempt`
)

// RecordReferral writes a referral's step in one transaction; idempotent.
func (s *Store) RecordReferral(ctx context.Context, step ReferralStep) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.NamedExecContext(ctx, qUpsertReferral, step.Referral); err != nil {
			return fmt.Errorf("referral %s: %w", step.Referral.ID, err)
		}
		if step.Attempt != nil {
			if _, err := tx.NamedExecContext(ctx, qUpsertAttempt, step.Attempt); err != nil {
				return fmt.Errorf("referral %s attempt %d: %w", step.Referral.ID, step.Attempt.Attempt, err)
			}
		}
		for _, e := range step.Events {
			e.Data = eventData(e.Data)
			if _, err := tx.NamedExecContext(ctx, qInsertEvent, e); err != nil {
				return fmt.Errorf("event %s: %w", e.ID, err)
			}
		}
		return writeObligationsAndNotifications(ctx, tx, step.Referral.CaseID, step.Obligations, step.Notifications)
	})
}

// NextProvider picks the provider a referral goes to next and marks it as
// referred to now; "" when none is left. A named provider is taken if it
// offers the service and was not tried.
func (s *Store) NextProvider(ctx context.Context, service, region string, exclude []uuid.UUID, requested *uuid.UUID, beds bool, at time.Time) (*uuid.UUID, error) {
	var id uuid.UUID
	var err error
	if requested != nil {
		err = s.db.GetContext(ctx, &id, qProviderOffers, *requested, service, uuidArray(exclude))
	} else {
		err = s.db.GetContext(ctx, &id, qNextProvider, service, region, uuidArray(exclude), beds)
	}
	if err = notFound(err); err == ErrNotFound {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("next provider of %s: %w", service, err)
	}
	if _, err := s.db.ExecContext(ctx, qTouchProvider, id, at); err != nil {
		return nil, fmt.Errorf("touch provider %s: %w", id, err)
	}
	return &id, nil
}

func uuidArray(ids []uuid.UUID) Strings {
	out := make(Strings, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// HoldBed takes a bed of the shelter for the referral; false when full.
// Repeating it for the same referral holds no second bed.
func (s *Store) HoldBed(ctx context.Context, referralID, agencyID uuid.UUID) (bool, error) {
	held := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var already bool
		if err := tx.GetContext(ctx, &already, qBedHeld, referralID); err != nil {
			return fmt.Errorf("referral %s: %w", referralID, notFound(err))
		}
		if already {
			held = true
			return nil
		}
		rows, err := tx.QueryContext(ctx, qHoldBed, referralID, agencyID)
		if err != nil {
			return fmt.Errorf("hold bed for referral %s: %w", referralID, err)
		}
		held = rows.Next()
		rows.Close()
		if !held {
			return errNoBed // roll the referral's flag back
		}
		return nil
	})
	if err == errNoBed {
		return false, nil
	}
	return held, err
}

var errNoBed = fmt.Errorf("no free bed")

// FreeBed gives the referral's bed back, once.
func (s *Store) FreeBed(ctx context.Context, referralID, agencyID uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, qFreeBed, referralID, agencyID); err != nil {
		return fmt.Errorf("free bed of referral %s: %w", referralID, err)
	}
	return nil
}

// Referral returns one referral.
func (s *Store) Referral(ctx context.Context, id uuid.UUID) (*Referral, error) {
	var r Referral
	if err := s.db.GetContext(ctx, &r, qReferral, id); err != nil {
		return nil, fmt.Errorf("referral %s: %w", id, notFound(err))
	}
	return &r, nil
}

// AgencyReferrals is a provider's inbox.
func (s *Store) AgencyReferrals(ctx context.Context, agencyID uuid.UUID, status string, limit int) ([]Referral, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	out := []Referral{}
	if err := s.db.SelectContext(ctx, &out, qAgencyReferrals, agencyID, status, limit); err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", agencyID, err)
	}
	return out, nil
}

// AgencyReferralsPage is a page of a provider's inbox, newest sent first
// (sent_at, then id, both descending): up to limit (1–501, default 100)
// referrals addressed to the agency, of one status unless status is empty,
// after the cursor when it is not nil. A page is one range scan of
// referrals_agency_status_idx (0004) or, without a status,
// referrals_agency_sent_idx (0020).
func (s *Store) AgencyReferralsPage(ctx context.Context, agencyID uuid.UUID, status string, after *Cursor, limit int) ([]Referral, error) {
	sql, args := inboxSQL(agencyID, status, after, limit)
	out := []Referral{}
	if err := s.db.SelectContext(ctx, &out, sql, args...); err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", agencyID, err)
	}
	return out, nil
}

// inboxSQL is the query of a page of an inbox and its parameters.
func inboxSQL(agencyID uuid.UUID, status string, after *Cursor, limit int) (string, []any) {
	if limit <= 0 || limit > maxListRows {
		limit = 100
	}
	q := listQuery{}
	q.and("r.agency_id = %s", agencyID)
	if status != "" {
		q.and("r.status = %s", status)
	}
	if after != nil {
		at := q.arg(after.At)
		q.where = append(q.where, fmt.Sprintf("r.sent_at <= %s AND (r.sent_at < %s OR r.id < %s)", at, at, q.arg(after.ID)))
	}
	return "SELECT r.* FROM referrals r WHERE " + strings.Join(q.where, " AND ") + " ORDER BY r.sent_at DESC, r.id DESC LIMIT " + q.arg(limit), q.args
}

// CaseReferrals lists a case's referrals.
func (s *Store) CaseReferrals(ctx context.Context, caseID uuid.UUID) ([]Referral, error) {
	out := []Referral{}
	if err := s.db.SelectContext(ctx, &out, qCaseReferrals, caseID); err != nil {
		return nil, fmt.Errorf("referrals of case %s: %w", caseID, err)
	}
	return out, nil
}

// ReferralAttempts lists the providers a referral went to.
func (s *Store) ReferralAttempts(ctx context.Context, id uuid.UUID) ([]ReferralAttempt, error) {
	out := []ReferralAttempt{}
	if err := s.db.SelectContext(ctx, &out, qReferralAttempts, id); err != nil {
		return nil, fmt.Errorf("attempts of referral %s: %w", id, err)
	}
	return out, nil
}

const qNote = `SELECT body FROM case_notes WHERE id = $1 AND case_id = $2`

// NoteBody returns the sealed text of a case's note.
func (s *Store) NoteBody(ctx context.Context, id, caseID uuid.UUID) ([]byte, error) {
	var body []byte
	if err := s.db.GetContext(ctx, &body, qNote, id, caseID); err != nil {
		return nil, fmt.Errorf("note %s: %w", id, notFound(err))
	}
	return body, nil
}
