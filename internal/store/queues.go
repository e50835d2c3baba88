package store

// The work queues of the web UI: the deadlines someone has to act on now —
// the competent authority's decisions due and negative decisions waiting for
// their second review, a supervisor's closures to approve and the overdue
// deadlines of their agency's cases. They read the read model only and
// answer codes, numbers and times, never a person's identity. Each reads
// the open cases first (cases_open_stage_idx, or cases_open_agency_idx of
// migration 0017 for an agency), then their deadlines (obligations_case_idx)
// and events (case_events_case_at_idx): proportional to the open cases, not
// to the history.

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// QueueItem is an open deadline of an open case: pending, or breached and
// still to do (no event that meets it has happened since it started).
type QueueItem struct {
	ObligationID string    `db:"obligation_id"`
	Obligation   string    `db:"obligation"`
	Status       string    `db:"status"`
	StartsAt     time.Time `db:"starts_at"`
	DueAt        time.Time `db:"due_at"`
	CaseID       uuid.UUID `db:"case_id"`
	Number       string    `db:"number"`
	SOPVersion   string    `db:"sop_version"`
	Stage        string    `db:"stage"`
	// DecisionID and StartedBy come from the event that started the
	// obligation (QueueQuery.StartedBy): the decision a review is about and
	// who took it; "" and nil for other obligations.
	DecisionID string     `db:"decision_id"`
	StartedBy  *uuid.UUID `db:"started_by"`
}

// ObligationEvent pairs an SOP obligation with an event of the timeline.
type ObligationEvent struct {
	Obligation string
	Event      string
}

// QueueQuery selects the open deadlines of a queue.
type QueueQuery struct {
	Scope CaseScope
	// Obligations are the SOP obligations of the queue; empty: every one.
	Obligations []string
	// DueBefore keeps the deadlines due before it (overdue lists); zero: any.
	DueBefore time.Time
	// MetBy are the events that meet each obligation: a breached deadline
	// stays on the queue until one of its events happens.
	MetBy []ObligationEvent
	// EndedBy are events that end every deadline started before them (an
	// approved closure ends the case's active phase).
	EndedBy []string
	// StartedBy names the event that starts an obligation, whose
	// decision_id and actor the item carries.
	StartedBy []ObligationEvent
	Limit     int
}

// ClosureItem is an open case waiting for a supervisor's answer to a
// closure request, with the request (the latest closure event) and its
// review deadline.
type ClosureItem struct {
	CaseID      uuid.UUID  `db:"case_id"`
	Number      string     `db:"number"`
	SOPVersion  string     `db:"sop_version"`
	Reason      string     `db:"reason"`
	RequestedAt *time.Time `db:"requested_at"`
	RequestedBy *uuid.UUID `db:"requested_by"`
	// Status and DueAt are those of the review deadline; "" and nil when
	// the case's SOP sets none.
	Status string     `db:"status"`
	DueAt  *time.Time `db:"due_at"`
}

// ClosureQuery selects the cases of the closure queue.
type ClosureQuery struct {
	Scope CaseScope
	// Stage is the stage of a case whose closure waits for an answer.
	Stage string
	// RequestEvent is the timeline event of the request (its data names
	// the reason); ReviewObligation the deadline to answer it.
	RequestEvent     string
	ReviewObligation string
	Limit            int
}

// A queue item's deadline is open when pending, or breached with no event
// since that meets it ($3/$4: obligation and event pairs) nor ends it ($5).
// A case has few events.
const queueOpen = `o.status IN ('pending', 'breached') AND o.kind = 'deadline' AND (o.status = 'pending' OR NOT EXISTS (
		SELECT 1 FROM case_events e WHERE e.case_id = o.case_id AND e.at >= o.starts_at AND (
			(e.type = ANY($5::text[]) AND e.at > o.starts_at)
			OR EXISTS (SELECT 1 FROM unnest($3::text[], $4::text[]) AS m(obligation, event)
			           WHERE m.obligation = o.obligation AND m.event = e.type))))`

// The event that started an item's obligation ($6/$7 pairs): the latest of
// its type up to the obligation's start.
const queueStartedBy = `LEFT JOIN LATERAL (
		SELECT e.data->>'decision_id' AS decision_id, e.actor_id FROM case_events e
		WHERE e.case_id = o.case_id AND e.at <= o.starts_at
		  AND e.type IN (SELECT s.event FROM unnest($6::text[], $7::text[]) AS s(obligation, event) WHERE s.obligation = o.obligation)
		ORDER BY e.at DESC LIMIT 1) s ON true`

const queueColumns = `SELECT o.id AS obligation_id, o.obligation, o.status, o.starts_at, o.due_at,
		c.id AS case_id, c.number, c.sop_version, c.stage, COALESCE(s.decision_id, '') AS decision_id, s.actor_id AS started_by
	FROM obligations o JOIN cases c ON c.id = o.case_id ` + queueStartedBy

const (
	// The deadlines of some obligations ($8), across the scope's open cases,
	// soonest due (so overdue) first.
	qQueueOf = queueColumns + `
	WHERE ` + caseScopePredicate + ` AND c.closed_at IS NULL AND o.obligation = ANY($8::text[]) AND ` + queueOpen + `
	  AND ($9::timestamptz IS NULL OR o.due_at < $9)
	ORDER BY o.due_at, c.number LIMIT $10`
	// Every deadline of the scope's open cases; $8, the list of
	// obligations, is empty.
	qQueueAll = queueColumns + `
	WHERE ` + caseScopePredicate + ` AND c.closed_at IS NULL AND ` + queueOpen + `
	  AND ($9::timestamptz IS NULL OR o.due_at < $9) AND cardinality($8::text[]) = 0
	ORDER BY o.due_at, c.number LIMIT $10`

	// The scope's open cases in the closure stage ($3), with the latest
	// request ($4) and its review deadline ($5).
	qClosureQueue = `SELECT c.id AS case_id, c.number, c.sop_version,
		COALESCE(r.data->>'reason', '') AS reason, r.at AS requested_at, r.actor_id AS requested_by,
		COALESCE(o.status, '') AS status, o.due_at
	FROM cases c
	LEFT JOIN LATERAL (SELECT e.data, e.at, e.actor_id FROM case_events e WHERE e.case_id = c.id AND e.type = $4
		ORDER BY e.at DESC LIMIT 1) r ON true
	LEFT JOIN LATERAL (SELECT o.status, o.due_at FROM obligations o WHERE o.case_id = c.id AND o.obligation = $5
		AND o.status IN ('pending', 'breached') ORDER BY o.starts_at DESC LIMIT 1) o ON true
	WHERE ` + caseScopePredicate + ` AND c.closed_at IS NULL AND c.stage = $3
	ORDER BY o.due_at NULLS LAST, r.at NULLS LAST, c.number LIMIT $6`
)

func pairs(list []ObligationEvent) (Strings, Strings) {
	obligations, events := Strings{}, Strings{}
	for _, p := range list {
		obligations, events = append(obligations, p.Obligation), append(events, p.Event)
	}
	return obligations, events
}

func queueLimit(n int) int {
	if n <= 0 || n > 500 {
		return 200
	}
	return n
}

// Queue lists the open deadlines a query selects, soonest due first.
func (s *Store) Queue(ctx context.Context, q QueueQuery) ([]QueueItem, error) {
	all, agency := q.Scope.args()
	metO, metE := pairs(q.MetBy)
	startO, startE := pairs(q.StartedBy)
	var due *time.Time
	if !q.DueBefore.IsZero() {
		due = &q.DueBefore
	}
	query := qQueueOf
	if len(q.Obligations) == 0 {
		query = qQueueAll
	}
	out := []QueueItem{}
	if err := s.db.SelectContext(ctx, &out, query, all, agency, metO, metE, Strings(q.EndedBy), startO, startE,
		Strings(q.Obligations), due, queueLimit(q.Limit)); err != nil {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	return out, nil
}

// ClosureQueue lists the open cases whose closure waits for an answer,
// the soonest due first.
func (s *Store) ClosureQueue(ctx context.Context, q ClosureQuery) ([]ClosureItem, error) {
	all, agency := q.Scope.args()
	out := []ClosureItem{}
	if err := s.db.SelectContext(ctx, &out, qClosureQueue, all, agency, q.Stage, q.RequestEvent, q.ReviewObligation,
		queueLimit(q.Limit)); err != nil {
		return nil, fmt.Errorf("closure queue: %w", err)
	}
	return out, nil
}
