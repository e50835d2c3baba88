package store

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// TestMetricsQueries counts a hand-made read model whose expected gauges
// are worked out row by row below.
func TestMetricsQueries(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	asOf := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := st.db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	police, shelter, user := uuid.New(), uuid.New(), uuid.New()
	exec(`INSERT INTO agencies (id, name, type, region) VALUES ($1, 'Police', 'law_enforcement', 'lebap'), ($2, 'Shelter', 'shelter', 'lebap')`, police, shelter)
	exec(`INSERT INTO users (id, email, name, role, agency_id, password_hash) VALUES ($1, 'o@example.org', 'O', 'frontline', $2, 'x')`, user, police)
	newCase := func(stage string, closed bool) uuid.UUID {
		id := uuid.New()
		var closedAt *time.Time
		if closed {
			closedAt = &asOf
		}
		exec(`INSERT INTO cases (id, number, agency_id, created_by, sop_id, sop_version, sop_hash, stage, child, sex, age_band,
			citizenship, region, encounter_context, encountered_at, indicators, exploitation, urgent_needs,
			screening_outcome, screening, opened_at, updated_at, closed_at)
			VALUES ($1, $2, $3, $4, 'tm-nrm', '2026.1', 'h', $5, false, 'female', '18-23', 'TM', 'lebap', 'outreach', $6,
			'{}', '{}', '{}', 'presumed_victim', '{}', $6, $6, $7)`,
			id, "T-"+id.String()[:8], police, user, stage, asOf.Add(-72*time.Hour), closedAt)
		return id
	}
	// Open: identification ×2, recovery ×1. Closed cases are not counted.
	c1, c2 := newCase("identification", false), newCase("identification", false)
	newCase("recovery", false)
	c4 := newCase("closed", true)
	newCase("closed", true)

	n := 0
	obligation := func(caseID uuid.UUID, name, kind, status string, owner *uuid.UUID, due time.Time) {
		n++
		exec(`INSERT INTO obligations (id, case_id, obligation, kind, sop_version, owner_role, owner_agency_id, starts_at, due_at, status)
			VALUES ($1, $2, $3, $4, '2026.1', 'frontline', $5, $6, $7, $8)`,
			"case-"+caseID.String()+"/"+name+"/"+strconv.Itoa(n), caseID, name, kind, owner, due.Add(-24*time.Hour), due, status)
	}
	past, future := asOf.Add(-time.Hour), asOf.Add(time.Hour)
	// Breached: preliminary_decision without an owner agency twice (one on a
	// closed case: a breach stays counted), once owned by the police;
	// referral_answer once owned by the shelter.
	obligation(c1, "preliminary_decision", "deadline", "breached", nil, past)
	obligation(c4, "preliminary_decision", "deadline", "breached", nil, past)
	obligation(c2, "preliminary_decision", "deadline", "breached", &police, past)
	obligation(c1, "referral_answer", "deadline", "breached", &shelter, past)
	// Not breached: met, cancelled, pending.
	obligation(c1, "conclusive_decision", "deadline", "met", nil, past)
	obligation(c2, "conclusive_decision", "deadline", "cancelled", nil, past)
	// Overdue: pending deadlines due before asOf — the shelter's referral
	// answer and an unowned conclusive decision; not the one due later nor
	// a protected period that has run out.
	obligation(c2, "referral_answer", "deadline", "pending", &shelter, past)
	obligation(c1, "conclusive_decision", "deadline", "pending", nil, past)
	obligation(c2, "preliminary_decision", "deadline", "pending", &police, future)
	obligation(c1, "recovery_period", "protected", "running", nil, past)

	referral := func(service, status string) {
		exec(`INSERT INTO referrals (id, case_id, service, urgent, region, sender_id, sender_agency_id, agency_id, status, sent_at, updated_at)
			VALUES ($1, $2, $3, false, 'lebap', $4, $5, $6, $7, $8, $8)`, uuid.New(), c1, service, user, police, shelter, status, past)
	}
	// Waiting: shelter ×2, legal_aid ×1; answered, closed or unrouted ones are not.
	referral("shelter", "pending")
	referral("shelter", "pending")
	referral("legal_aid", "pending")
	referral("shelter", "accepted")
	referral("medical", "completed")
	referral("medical", "unrouted")
	referral("legal_aid", "withdrawn")

	stages, err := st.OpenCasesByStage(ctx)
	equalRows(t, "open cases", stages, err, StageCount{"identification", 2}, StageCount{"recovery", 1})
	breached, err := st.BreachedObligations(ctx)
	equalRows(t, "breached", breached, err, ObligationCount{"preliminary_decision", "law_enforcement", 1},
		ObligationCount{"preliminary_decision", "none", 2}, ObligationCount{"referral_answer", "shelter", 1})
	overdue, err := st.OverdueObligations(ctx, asOf)
	equalRows(t, "overdue", overdue, err, ObligationCount{"conclusive_decision", "none", 1}, ObligationCount{"referral_answer", "shelter", 1})
	overdue, err = st.OverdueObligations(ctx, past.Add(-time.Minute))
	equalRows(t, "overdue before anything fell due", overdue, err)
	waiting, err := st.WaitingReferrals(ctx)
	equalRows(t, "waiting referrals", waiting, err, ServiceCount{"legal_aid", 1}, ServiceCount{"shelter", 2})

	// A scrape that cannot finish in time gives up with the context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.OpenCasesByStage(cctx); err == nil {
		t.Error("a cancelled scrape still queried")
	}
}

func equalRows[T comparable](t *testing.T, what string, got []T, err error, want ...T) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestMetricsQueriesUseIndexes checks that each gauge reads its partial
// index of migration 0010, not the national history.
func TestMetricsQueriesUseIndexes(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, q, index string
		args           []any
	}{
		{"open cases", qMetricsOpenCases, "cases_open_stage_idx", nil},
		{"breached", qMetricsBreached, "obligations_breached_idx", nil},
		{"overdue", qMetricsOverdue, "obligations_pending_due_idx", []any{time.Now()}},
		{"waiting referrals", qMetricsWaitingReferrals, "referrals_pending_service_idx", nil},
	} {
		var plan []string
		err := st.inReportTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			return tx.SelectContext(ctx, &plan, `EXPLAIN (COSTS OFF) `+c.q, c.args...)
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, c.index) {
			t.Errorf("%s does not use %s:\n%s", c.name, c.index, text)
		}
	}
}
