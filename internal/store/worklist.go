package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// WorkItem is an open case of a worklist with its next deadline.
type WorkItem struct {
	ID       uuid.UUID `db:"id"`
	Number   string    `db:"number"`
	Stage    string    `db:"stage"`
	Region   string    `db:"region"`
	OpenedAt time.Time `db:"opened_at"`
	// NextObligation and NextDueAt are the case's earliest pending
	// deadline; nil when nothing is due.
	NextObligation *string    `db:"next_obligation"`
	NextDueAt      *time.Time `db:"next_due_at"`
}

// The open cases of a scope, the earliest deadline first (so overdue cases
// lead), then the cases without one, newest first. The open cases of an
// agency come from cases_open_agency_idx; each case's deadlines from
// obligations_case_idx.
const qWorklist = `SELECT c.id, c.number, c.stage, c.region, c.opened_at, o.obligation AS next_obligation, o.due_at AS next_due_at
	FROM cases c
	LEFT JOIN LATERAL (SELECT obligation, due_at FROM obligations
		WHERE case_id = c.id AND status = 'pending' ORDER BY due_at LIMIT 1) o ON true
	WHERE c.closed_at IS NULL AND c.stage <> 'closed' AND ` + caseScopePredicate + caseFilterPredicate + `
	ORDER BY o.due_at NULLS LAST, c.opened_at DESC, c.id LIMIT $5`

// Worklist lists the open cases of a scope, by deadline.
func (s *Store) Worklist(ctx context.Context, scope CaseScope, f CaseFilter) ([]WorkItem, error) {
	all, agency := scope.args()
	out := []WorkItem{}
	if err := s.db.SelectContext(ctx, &out, qWorklist, all, agency, f.Stage, numberPattern(f.Number), f.Limit); err != nil {
		return nil, fmt.Errorf("worklist: %w", err)
	}
	return out, nil
}
