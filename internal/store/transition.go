package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Obligation is the read-model row of an obligation instance.
type Obligation struct {
	ID            string     `db:"id"`
	CaseID        uuid.UUID  `db:"case_id"`
	Obligation    string     `db:"obligation"`
	Kind          string     `db:"kind"`
	SOPVersion    string     `db:"sop_version"`
	OwnerRole     string     `db:"owner_role"`
	OwnerAgencyID *uuid.UUID `db:"owner_agency_id"`
	// OwnerAgencyType, when OwnerAgencyID is nil, names the agency that
	// answers for the owner role under the case's SOP (role_agencies):
	// sop.CaseAgency or an agency type; "" for the SOP's default.
	OwnerAgencyType string     `db:"-"`
	StartsAt        time.Time  `db:"starts_at"`
	DueAt           time.Time  `db:"due_at"`
	MetAt           *time.Time `db:"met_at"`
	BreachedAt      *time.Time `db:"breached_at"`
	CancelledAt     *time.Time `db:"cancelled_at"`
	Status          string     `db:"status"`
}

// Notification is a row of the outbox.
type Notification struct {
	ID                string     `db:"id"`
	CaseID            uuid.UUID  `db:"case_id"`
	Kind              string     `db:"kind"`
	Obligation        string     `db:"obligation"`
	ObligationID      string     `db:"obligation_id"`
	RecipientRole     string     `db:"recipient_role"`
	RecipientAgencyID *uuid.UUID `db:"recipient_agency_id"`
	// RecipientAgencyType, when RecipientAgencyID is nil, names the agency
	// that answers for the recipient role, as Obligation.OwnerAgencyType.
	RecipientAgencyType string     `db:"-"`
	DueAt               *time.Time `db:"due_at"`
	CreatedAt           time.Time  `db:"created_at"`
	Status              string     `db:"status"`
	DeliveredAt         *time.Time `db:"delivered_at"`
	ReadAt              *time.Time `db:"read_at"`
	// RelatedCaseID is the other case a notification is about, if any (the
	// earlier case of a possible duplicate).
	RelatedCaseID *uuid.UUID `db:"related_case_id"`
}

// Transition is one step of a case as its workflow records it.
type Transition struct {
	CaseID         uuid.UUID
	At             time.Time
	Stage          string
	ClosureReason  string
	RemoveIdentity bool
	Events         []Event
	Obligations    []Obligation
	Notifications  []Notification
	// Transfer moves the case to another agency; Reopen opens a closed
	// case again (transfer.go).
	Transfer *CaseTransfer
	Reopen   *CaseReopen
}

const (
	qUpsertObligation = `INSERT INTO obligations (id, case_id, obligation, kind, sop_version, owner_role, owner_agency_id,
		starts_at, due_at, met_at, breached_at, cancelled_at, status)
		VALUES (:id, :case_id, :obligation, :kind, :sop_version, :owner_role, :owner_agency_id,
		:starts_at, :due_at, :met_at, :breached_at, :cancelled_at, :status)
		ON CONFLICT (id) DO UPDATE SET due_at = EXCLUDED.due_at, met_at = EXCLUDED.met_at,
		breached_at = EXCLUDED.breached_at, cancelled_at = EXCLUDED.cancelled_at, status = EXCLUDED.status`
	qInsertNotification = `INSERT INTO notifications (id, case_id, kind, obligation, obligation_id, recipient_role,
		recipient_agency_id, due_at, created_at, related_case_id)
		VALUES (:id, :case_id, :kind, :obligation, :obligation_id, :recipient_role, :recipient_agency_id, :due_at, :created_at,
		:related_case_id)
		ON CONFLICT (id) DO NOTHING`
	qCloseCase    = `UPDATE cases SET closure_reason = COALESCE(closure_reason, NULLIF($2, '')) WHERE id = $1`
	qDeletePerson = `DELETE FROM persons WHERE case_id = $1`
	// The agency that answers for a role in a case, given the SOP's agency
	// for the role ($2): the case's own agency for case_agency, else the
	// first agency of that type to be registered.
	qRoleAgency = `SELECT CASE WHEN $2 = '` + sop.CaseAgency + `' THEN c.agency_id
		ELSE (SELECT a.id FROM agencies a WHERE a.type = $2 ORDER BY a.created_at, a.id LIMIT 1) END
		FROM cases c WHERE c.id = $1`
	qCaseObligations   = `SELECT * FROM obligations WHERE case_id = $1 ORDER BY starts_at, id`
	qCaseNotifications = `SELECT * FROM notifications WHERE case_id = $1 ORDER BY created_at, id`
	qInsertNote        = `INSERT INTO case_notes (id, case_id, kind, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
	qDeleteNote        = `DELETE FROM case_notes WHERE id = $1`
)

// RecordTransition writes a case's step in one transaction. Every write is
// idempotent, so the activity that calls it may retry freely.
func (s *Store) RecordTransition(ctx context.Context, t Transition) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		// First: the obligations and notifications below resolve the case's
		// agency from the row.
		if err := moveOrReopen(ctx, tx, t); err != nil {
			return err
		}
		for _, e := range t.Events {
			e.Data = eventData(e.Data)
			if _, err := tx.NamedExecContext(ctx, qInsertEvent, e); err != nil {
				return fmt.Errorf("event %s: %w", e.ID, err)
			}
		}
		if err := writeObligationsAndNotifications(ctx, tx, t.CaseID, t.Obligations, t.Notifications); err != nil {
			return err
		}
		if t.Stage != "" {
			if _, err := tx.ExecContext(ctx, qSetStage, t.CaseID, t.Stage, t.At); err != nil {
				return fmt.Errorf("stage of case %s: %w", t.CaseID, err)
			}
		}
		if t.ClosureReason != "" {
			if _, err := tx.ExecContext(ctx, qCloseCase, t.CaseID, t.ClosureReason); err != nil {
				return fmt.Errorf("close case %s: %w", t.CaseID, err)
			}
		}
		if t.RemoveIdentity {
			for _, q := range []string{qDeletePerson, qDropIndexes} {
				if _, err := tx.ExecContext(ctx, q, t.CaseID); err != nil {
					return fmt.Errorf("remove identity of case %s: %w", t.CaseID, err)
				}
			}
			if _, err := tx.ExecContext(ctx, qDestroyKey, t.CaseID, t.At); err != nil {
				return fmt.Errorf("destroy key of case %s: %w", t.CaseID, err)
			}
		}
		return nil
	})
}

// writeObligationsAndNotifications upserts obligation rows and queues
// notifications, resolving roles to agencies where no agency is named.
func writeObligationsAndNotifications(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, obligations []Obligation, notes []Notification) error {
	agencies := roleAgencies{}
	for _, o := range obligations {
		if o.OwnerAgencyID == nil {
			agency, err := agencies.of(ctx, tx, caseID, o.OwnerRole, o.OwnerAgencyType)
			if err != nil {
				return err
			}
			o.OwnerAgencyID = agency
		}
		if _, err := tx.NamedExecContext(ctx, qUpsertObligation, o); err != nil {
			return fmt.Errorf("obligation %s: %w", o.ID, err)
		}
	}
	for _, n := range notes {
		if n.RecipientAgencyID == nil {
			agency, err := agencies.of(ctx, tx, caseID, n.RecipientRole, n.RecipientAgencyType)
			if err != nil {
				return err
			}
			n.RecipientAgencyID = agency
		}
		if _, err := tx.NamedExecContext(ctx, qInsertNotification, n); err != nil {
			return fmt.Errorf("notification %s: %w", n.ID, err)
		}
	}
	return nil
}

// roleAgencies remembers, within one transaction on one case, the agency
// that answers for each role and agency type: an opening that finds ten
// earlier cases of the person notifies the same authority ten times.
type roleAgencies map[[2]string]*uuid.UUID

func (m roleAgencies) of(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, role, agency string) (*uuid.UUID, error) {
	key := [2]string{role, agency}
	if id, ok := m[key]; ok {
		return id, nil
	}
	id, err := roleAgency(ctx, tx, caseID, role, agency)
	if err != nil {
		return nil, err
	}
	m[key] = id
	return id, nil
}

// roleAgency returns the agency that answers for role in a case: the one
// agency names (sop.CaseAgency or an agency type), else the SOP default for
// the role (records written before the SOP named it); nil when the directory
// has no agency of the type.
func roleAgency(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, role, agency string) (*uuid.UUID, error) {
	if agency == "" {
		agency = sop.DefaultAgencyFor(role)
	}
	var id *uuid.UUID
	if err := tx.GetContext(ctx, &id, qRoleAgency, caseID, agency); err != nil {
		return nil, fmt.Errorf("agency of role %s for case %s: %w", role, caseID, notFound(err))
	}
	return id, nil
}

// Obligations returns a case's obligation instances in order.
func (s *Store) Obligations(ctx context.Context, caseID uuid.UUID) ([]Obligation, error) {
	out := []Obligation{}
	if err := s.db.SelectContext(ctx, &out, qCaseObligations, caseID); err != nil {
		return nil, fmt.Errorf("obligations of case %s: %w", caseID, err)
	}
	return out, nil
}

// CaseNotifications returns the outbox rows of a case.
func (s *Store) CaseNotifications(ctx context.Context, caseID uuid.UUID) ([]Notification, error) {
	out := []Notification{}
	if err := s.db.SelectContext(ctx, &out, qCaseNotifications, caseID); err != nil {
		return nil, fmt.Errorf("notifications of case %s: %w", caseID, err)
	}
	return out, nil
}

// AddNote stores the free text of a command before the command runs.
func (s *Store) AddNote(ctx context.Context, id, caseID uuid.UUID, kind string, author uuid.UUID, body []byte, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, qInsertNote, id, caseID, kind, author, body, at); err != nil {
		return fmt.Errorf("note for case %s: %w", caseID, err)
	}
	return nil
}

// DeleteNote removes the note of a command the workflow refused.
func (s *Store) DeleteNote(ctx context.Context, id uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, qDeleteNote, id); err != nil {
		return fmt.Errorf("delete note %s: %w", id, err)
	}
	return nil
}

// AddNotifications writes notifications of a case outside a workflow step
// (alerts the API raises); an ID already written is kept as it is.
func (s *Store) AddNotifications(ctx context.Context, caseID uuid.UUID, notes ...Notification) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		return writeObligationsAndNotifications(ctx, tx, caseID, nil, notes)
	})
}
