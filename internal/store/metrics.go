package store

// The SQL of the operational gauges that /metrics computes at scrape time
// (package metrics). Like the reports, they read the read model only and
// group by codes — stage, obligation, agency type, service — never by a
// case, person or agency ID. Migration 0010 holds the partial indexes that
// keep each query proportional to the rows it counts rather than to the
// national history.

import (
	"context"
	"fmt"
	"time"
)

// StageCount is the number of open cases in one stage.
type StageCount struct {
	Stage string `db:"stage"`
	Count int64  `db:"count"`
}

// ObligationCount is a number of obligation instances of one SOP
// obligation whose owner agency is of one type ("none" when no agency
// owns them).
type ObligationCount struct {
	Obligation string `db:"obligation"`
	AgencyType string `db:"agency_type"`
	Count      int64  `db:"count"`
}

// ServiceCount is a number of referrals for one service.
type ServiceCount struct {
	Service string `db:"service"`
	Count   int64  `db:"count"`
}

const (
	// Cases not closed, by stage (cases_open_stage_idx: index-only).
	qMetricsOpenCases = `SELECT stage, count(*) AS count FROM cases WHERE closed_at IS NULL GROUP BY stage ORDER BY stage`

	// Every obligation instance ever breached, by obligation and the type of
	// its owner agency. A breach is final (a late meeting does not undo it,
	// as in the compliance report), so the counts only grow. Counted per
	// owner agency first (obligations_breached_idx: index-only), then
	// joined with the few agencies.
	qMetricsBreached = `SELECT o.obligation, COALESCE(a.type, 'none') AS agency_type, sum(o.n)::bigint AS count
		FROM (SELECT obligation, owner_agency_id, count(*) AS n FROM obligations
		      WHERE status = 'breached' GROUP BY obligation, owner_agency_id) o
		LEFT JOIN agencies a ON a.id = o.owner_agency_id
		GROUP BY 1, 2 ORDER BY 1, 2`

	// Deadlines still pending although their due time ($1) has passed: the
	// workflow's timer should have recorded the breach at the due time, so
	// a lasting count means workers or Temporal are not firing timers
	// (obligations_pending_due_idx: only the pending instances).
	qMetricsOverdue = `SELECT o.obligation, COALESCE(a.type, 'none') AS agency_type, sum(o.n)::bigint AS count
		FROM (SELECT obligation, owner_agency_id, count(*) AS n FROM obligations
		      WHERE status = 'pending' AND kind = 'deadline' AND due_at < $1 GROUP BY obligation, owner_agency_id) o
		LEFT JOIN agencies a ON a.id = o.owner_agency_id
		GROUP BY 1, 2 ORDER BY 1, 2`

	// Referrals sent and waiting for a provider's answer, by service
	// (referrals_pending_service_idx: index-only).
	qMetricsWaitingReferrals = `SELECT service, count(*) AS count FROM referrals WHERE status = 'pending' GROUP BY service ORDER BY service`
)

// OpenCasesByStage counts the cases not closed, by stage.
func (s *Store) OpenCasesByStage(ctx context.Context) ([]StageCount, error) {
	return metricRows[StageCount](ctx, s, "open cases by stage", qMetricsOpenCases)
}

// BreachedObligations counts every obligation instance ever breached, by
// obligation and owner agency type.
func (s *Store) BreachedObligations(ctx context.Context) ([]ObligationCount, error) {
	return metricRows[ObligationCount](ctx, s, "breached obligations", qMetricsBreached)
}

// OverdueObligations counts the deadlines still pending that fell due before asOf.
func (s *Store) OverdueObligations(ctx context.Context, asOf time.Time) ([]ObligationCount, error) {
	return metricRows[ObligationCount](ctx, s, "overdue obligations", qMetricsOverdue, asOf)
}

// WaitingReferrals counts the referrals waiting for a provider's answer, by service.
func (s *Store) WaitingReferrals(ctx context.Context) ([]ServiceCount, error) {
	return metricRows[ServiceCount](ctx, s, "waiting referrals", qMetricsWaitingReferrals)
}

// metricRows runs one gauge's query.
func metricRows[T any](ctx context.Context, s *Store, what, q string, args ...any) ([]T, error) {
	var out []T
	if err := s.db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
