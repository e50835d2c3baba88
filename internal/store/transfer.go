package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Transfer, reopening and links of cases (migration 0024,
// docs/process.md#transfer, docs/process.md#reopening).

// CaseTransfer moves a case to another agency in a Transition.
type CaseTransfer struct {
	FromAgencyID, ToAgencyID uuid.UUID
	// Region, when set, is the region the case is served in from now on.
	Region string
}

// CaseReopen opens a closed case again in a Transition: Count is how many
// times it was reopened, ReTrafficked whether it ever was for re-trafficking.
type CaseReopen struct {
	Count        int
	ReTrafficked bool
}

const (
	// The case row names the agency every scoped read checks: from this
	// update on the old agency no longer sees the case.
	qTransferCase = `UPDATE cases SET agency_id = $2, service_region = COALESCE(NULLIF($3, ''), service_region),
		updated_at = GREATEST(updated_at, $4) WHERE id = $1`
	// The open obligations the old agency owned move with the case; those
	// met, breached or cancelled stay where they were kept (the compliance
	// report counts them for the agency that had them).
	qMoveObligations = `UPDATE obligations SET owner_agency_id = $3
		WHERE case_id = $1 AND owner_agency_id = $2 AND status IN ('pending', 'running')`
	qReopenCase = `UPDATE cases SET closed_at = NULL, closure_reason = NULL, reopened_count = GREATEST(reopened_count, $2),
		re_trafficked = re_trafficked OR $3, updated_at = GREATEST(updated_at, $4) WHERE id = $1`
)

// moveOrReopen applies a transition's transfer or reopening, if any.
// Both are idempotent, as RecordTransition must be.
func moveOrReopen(ctx context.Context, tx *sqlx.Tx, t Transition) error {
	if m := t.Transfer; m != nil {
		if _, err := tx.ExecContext(ctx, qTransferCase, t.CaseID, m.ToAgencyID, m.Region, t.At); err != nil {
			return fmt.Errorf("transfer case %s: %w", t.CaseID, err)
		}
		if _, err := tx.ExecContext(ctx, qMoveObligations, t.CaseID, m.FromAgencyID, m.ToAgencyID); err != nil {
			return fmt.Errorf("move obligations of case %s: %w", t.CaseID, err)
		}
	}
	if r := t.Reopen; r != nil {
		if _, err := tx.ExecContext(ctx, qReopenCase, t.CaseID, r.Count, r.ReTrafficked, t.At); err != nil {
			return fmt.Errorf("reopen case %s: %w", t.CaseID, err)
		}
	}
	return nil
}

// CaseLink is a later case linked to an earlier case of the same person.
type CaseLink struct {
	CaseID        uuid.UUID `db:"case_id"`
	EarlierCaseID uuid.UUID `db:"earlier_case_id"`
	ReTrafficked  bool      `db:"re_trafficked"`
	LinkedBy      uuid.UUID `db:"linked_by"`
	LinkedAt      time.Time `db:"linked_at"`
}

// EventCaseLinked is the timeline event of a link, on each of the two cases.
const EventCaseLinked = "case_linked"

const (
	qInsertLink = `INSERT INTO case_links (case_id, earlier_case_id, re_trafficked, linked_by, linked_at)
		VALUES (:case_id, :earlier_case_id, :re_trafficked, :linked_by, :linked_at) ON CONFLICT DO NOTHING`
	qFlagReTrafficked = `UPDATE cases SET re_trafficked = true, updated_at = GREATEST(updated_at, $2) WHERE id = $1`
)

// LinkCases records a link, the event case_linked on both cases (codes and
// IDs only) and, for re-trafficking, the later case's flag, in one
// transaction. A pair already linked (either way round) is ErrConflict and
// changes nothing.
func (s *Store) LinkCases(ctx context.Context, l CaseLink) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM case_links WHERE (case_id, earlier_case_id) IN (($1, $2), ($2, $1))`,
			l.CaseID, l.EarlierCaseID); err != nil {
			return fmt.Errorf("link case %s: %w", l.CaseID, err)
		}
		if n > 0 {
			return fmt.Errorf("link case %s to %s: %w", l.CaseID, l.EarlierCaseID, ErrConflict)
		}
		res, err := tx.NamedExecContext(ctx, qInsertLink, l)
		if err != nil {
			return fmt.Errorf("link case %s: %w", l.CaseID, err)
		}
		if added, err := res.RowsAffected(); err != nil || added == 0 {
			return fmt.Errorf("link case %s to %s: %w", l.CaseID, l.EarlierCaseID, ErrConflict)
		}
		flag := fmt.Sprint(l.ReTrafficked)
		for _, e := range []struct {
			on, other uuid.UUID
			as        string
		}{{l.CaseID, l.EarlierCaseID, "earlier_case_id"}, {l.EarlierCaseID, l.CaseID, "later_case_id"}} {
			data, err := json.Marshal(map[string]string{e.as: e.other.String(), "re_trafficked": flag})
			if err != nil {
				return fmt.Errorf("link case %s: %w", e.on, err)
			}
			id := "case-" + e.on.String() + "/link/" + e.other.String()
			if _, err := tx.ExecContext(ctx, qAppendAfterLast, id, e.on, EventCaseLinked, l.LinkedAt, l.LinkedBy, data); err != nil {
				return fmt.Errorf("link case %s: event: %w", e.on, err)
			}
		}
		if l.ReTrafficked {
			if _, err := tx.ExecContext(ctx, qFlagReTrafficked, l.CaseID, l.LinkedAt); err != nil {
				return fmt.Errorf("link case %s: %w", l.CaseID, err)
			}
		}
		return nil
	})
}

// ReTrafficking is one time re-trafficking was recorded: a case reopened
// because the person was trafficked again, or a new case linked to an
// earlier one as re-trafficking. Codes and times only.
type ReTrafficking struct {
	Region string    `db:"region"`
	At     time.Time `db:"at"`
	// Kind is "reopened" or "linked".
	Kind string `db:"kind"`
}

// The later case of a link carries earlier_case_id: each link counts once.
const qReTrafficking = `SELECT c.region, e.at,
		CASE WHEN e.type = 'case_reopened' THEN 'reopened' ELSE 'linked' END AS kind
	FROM case_events e JOIN cases c ON c.id = e.case_id
	WHERE e.type IN ('case_reopened', 'case_linked') AND e.at >= $1 AND e.at < $2
	  AND ((e.type = 'case_reopened' AND e.data->>'reason' = 're_trafficked')
	    OR (e.type = 'case_linked' AND e.data ? 'earlier_case_id' AND e.data->>'re_trafficked' = 'true'))
	ORDER BY e.at`

// ReTraffickingIn lists the re-trafficking recorded from from (inclusive)
// to to (exclusive), for the TWG's statistics.
func (s *Store) ReTraffickingIn(ctx context.Context, from, to time.Time) ([]ReTrafficking, error) {
	out := []ReTrafficking{}
	if err := s.db.SelectContext(ctx, &out, qReTrafficking, from, to); err != nil {
		return nil, fmt.Errorf("re-trafficking from %s: %w", from.Format(time.DateOnly), err)
	}
	return out, nil
}
