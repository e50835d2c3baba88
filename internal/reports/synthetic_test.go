package reports_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/synthetic"
)

// syntheticService seeds a synthetic history into a fresh database.
func syntheticService(t *testing.T, cases int) *reports.Service {
	t.Helper()
	ctx := context.Background()
	dsn, err := reports.NewTestDatabase("nrm_test_")
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { store.DropDatabase(context.Background(), dsn) })
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := sop.LoadPath(filepath.Join(reports.RepoRoot(), "sop"))
	if err != nil {
		t.Fatal(err)
	}
	if set, err = synthetic.Versions(set); err != nil {
		t.Fatal(err)
	}
	if _, err := synthetic.Seed(ctx, st, set, synthetic.Options{Cases: cases, Seed: 3, Now: benchNow}); err != nil {
		t.Fatal(err)
	}
	return &reports.Service{Store: st, SOPs: set, Now: func() time.Time { return benchNow }}
}

// TestExportKAnonymousSynthetic: on a synthetic history, every combination
// of the export's quasi-identifiers occurs at least k = 11 times, for the
// whole history and for small slices of it (one month, one region) that
// force generalisation and suppression.
func TestExportKAnonymousSynthetic(t *testing.T) {
	svc := syntheticService(t, 4000)
	ctx := context.Background()
	for _, c := range []struct{ from, to, region string }{
		{"2025-01", "2026-11", ""},
		{"2026-06", "2026-06", ""},
		{"2025-01", "2026-11", "balkan"},
		{"2026-02", "2026-02", "ahal"},
	} {
		p, err := svc.Period(c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		x, err := svc.HTCDS(ctx, reports.ExportQuery{Period: p, Region: c.region})
		if err != nil {
			t.Fatal(err)
		}
		if x.K != 11 {
			t.Errorf("k = %d, want the default 11", x.K)
		}
		reports.CheckKAnonymous(t, x)
		t.Logf("%s..%s %s: %v cases, %d exported, %v suppressed, generalisation level %d %v",
			c.from, c.to, c.region, x.Cases, len(x.Records), x.Suppressed, x.Generalisation.Level, x.Generalisation.Steps)
		if x.Cases.V > 0 && len(x.Records) == 0 && c.region == "" {
			t.Errorf("nothing exported of %v cases", x.Cases)
		}
	}
}

// TestReportsOnSyntheticHistory runs every report on a synthetic history
// at the default threshold and attacks each output.
func TestReportsOnSyntheticHistory(t *testing.T) {
	svc := syntheticService(t, 3000)
	ctx := context.Background()
	p, _ := svc.Period("2025-01", "2026-11")
	comp, err := svc.Compliance(ctx, reports.ComplianceQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	stats, err := svc.Statistics(ctx, reports.StatisticsQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	june, _ := svc.Period("2026-06", "2026-06")
	small, err := svc.Compliance(ctx, reports.ComplianceQuery{Period: june, Region: "balkan"})
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := svc.SOPs.Get("2025.1-synthetic")
	sim, err := svc.Simulate(ctx, prev, reports.SimulateQuery{Period: june})
	if err != nil {
		t.Fatal(err)
	}
	for name, tables := range map[string][]*reports.Table{"compliance": comp.Tables, "statistics": stats.Tables,
		"compliance june balkan": small.Tables, "simulation": {sim.Table}} {
		suppressed := 0
		for _, tb := range tables {
			suppressed += len(tb.Suppressed)
		}
		if leaks := reports.Audit(tables, reports.DefaultThreshold); len(leaks) > 0 {
			t.Errorf("%s: %v", name, leaks)
		}
		t.Logf("%s: %d tables, %d withheld values", name, len(tables), suppressed)
	}
	differencing(t, svc, june)
	// Over the whole history the deadlines show every outcome.
	for _, tb := range comp.Tables {
		if tb.ID != "compliance/preliminary_decision/sop_version" {
			continue
		}
		for _, col := range []string{"met_on_time", "met_late", "breached_open"} {
			if v := tb.Total.Get(tb, col); !v.Valid || v.V < 5 {
				t.Errorf("preliminary_decision %s = %v", col, v)
			}
		}
		if len(tb.Rows) != 2 {
			t.Errorf("preliminary_decision by version: %d rows, want 2", len(tb.Rows))
		}
	}
}

// differencing asks every report of the period unfiltered and filtered to
// each value of each filter, and attacks each report's answers together.
func differencing(t *testing.T, svc *reports.Service, p reports.Period) {
	t.Helper()
	ctx := context.Background()
	const threshold = reports.DefaultThreshold
	regions := []string{"ahal", "ashgabat", "balkan", "dashoguz", "lebap", "mary"}

	stats, err := svc.Statistics(ctx, reports.StatisticsQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	byRegion := map[string][]*reports.Table{}
	for _, r := range regions {
		rep, err := svc.Statistics(ctx, reports.StatisticsQuery{Period: p, Region: r})
		if err != nil {
			t.Fatal(err)
		}
		byRegion["region="+r] = rep.Tables
	}
	reports.AttackAnswers(t, threshold, stats.Tables, byRegion, true)

	comp, err := svc.Compliance(ctx, reports.ComplianceQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	filtered := map[string][]*reports.Table{}
	complete := true
	var agencies []string
	for _, tb := range comp.Tables {
		if tb.Dimension != "agency" {
			continue
		}
		for _, r := range tb.Rows {
			id := r.Attr("agency_id")
			if id == "" {
				complete = false // unassigned: no filter reaches it
			} else if !slices.Contains(agencies, id) {
				agencies = append(agencies, id)
			}
		}
	}
	for _, q := range []struct {
		dim    string
		values []string
	}{{"region", regions}, {"sop_version", []string{"2025.1-synthetic", "2026.1"}}, {"agency", agencies}} {
		for _, v := range q.values {
			cq := reports.ComplianceQuery{Period: p}
			switch q.dim {
			case "region":
				cq.Region = v
			case "sop_version":
				cq.SOPVersion = v
			case "agency":
				cq.Agency = v
			}
			rep, err := svc.Compliance(ctx, cq)
			if err != nil {
				t.Fatalf("compliance %s=%s: %v", q.dim, v, err)
			}
			filtered[q.dim+"="+v] = rep.Tables
		}
	}
	reports.AttackAnswers(t, threshold, comp.Tables, filtered, complete)

	prev, _ := svc.SOPs.Get("2025.1-synthetic")
	sim, err := svc.Simulate(ctx, prev, reports.SimulateQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	sims := map[string][]*reports.Table{}
	for _, r := range regions {
		x, err := svc.Simulate(ctx, prev, reports.SimulateQuery{Period: p, Region: r})
		if err != nil {
			t.Fatal(err)
		}
		sims["region="+r] = []*reports.Table{x.Table}
	}
	reports.AttackAnswers(t, threshold, []*reports.Table{sim.Table}, sims, true)
}

// TestStatisticsKeptMonthsAsRead: on a synthetic history, the statistics
// answered from kept months are those answered with nothing kept, and
// every kind of change that counts in a month that is over — a closure, a
// correction, a positive decision, a provider's answer, a referral sent on
// to another provider, a transfer to another region — makes the next
// answer count it, exactly as an answer built afresh does, in every
// region's answer too.
func TestStatisticsKeptMonthsAsRead(t *testing.T) {
	svc := syntheticService(t, 2000)
	ctx := context.Background()
	db := svc.Store.DB()
	p, err := svc.Period("2025-06", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	answers := func() string {
		var out strings.Builder
		for _, region := range []string{"", "lebap", "mary", "ahal"} {
			rep, err := svc.Statistics(ctx, reports.StatisticsQuery{Period: p, Region: region})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			out.Write(b)
			out.WriteByte('\n')
		}
		return out.String()
	}
	first := answers()
	var kept, days int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE month_to - month_from > interval '2 days'),
		count(*) FILTER (WHERE month_to - month_from <= interval '2 days') FROM report_months WHERE report = 'statistics'`).Scan(&kept, &days); err != nil {
		t.Fatal(err)
	}
	// June 2025 to October 2026, and the 19 days of November that are over
	// (as of the 20th, noon in Ashgabat).
	if kept != 17 || days != 19 {
		t.Fatalf("%d statistics months and %d days kept, want 17 and 19", kept, days)
	}
	if again := answers(); again != first {
		t.Fatal("the statistics from kept months differ from those first read")
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	same := func(what string) {
		t.Helper()
		kept := answers()
		exec(`DELETE FROM report_months`)
		if fresh := answers(); kept != fresh {
			t.Fatalf("after %s the statistics from kept months differ from fresh ones", what)
		}
		if kept == first {
			t.Fatalf("after %s the statistics did not change", what)
		}
		first = kept
	}
	// Old enough to be in kept months, wherever the synthetic history put them.
	before := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var open uuid.UUID
	if err := db.Get(&open, `SELECT id FROM cases WHERE closed_at IS NULL AND opened_at < $1 AND opened_at >= $2
		AND screening_outcome = 'presumed_victim' ORDER BY opened_at LIMIT 1`, before, p.From); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE cases SET closed_at = opened_at + interval '40 days', closure_reason = 'assistance_completed' WHERE id = $1`, open)
	same("a closure")
	exec(`UPDATE cases SET sex = CASE sex WHEN 'female' THEN 'male' ELSE 'female' END WHERE id = $1`, open)
	same("a correction")
	exec(`INSERT INTO case_events (id, case_id, type, at) SELECT 'test-' || id || '/decision', id, 'conclusive_positive', opened_at + interval '20 days'
		FROM cases WHERE id = $1`, open)
	same("a positive decision")
	var ref uuid.UUID
	var attempt int
	if err := db.QueryRow(`SELECT referral_id, attempt FROM referral_attempts WHERE answer IN ('accepted', 'expired') AND sent_at < $1 AND sent_at >= $2
		ORDER BY sent_at LIMIT 1`, before, p.From).Scan(&ref, &attempt); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE referral_attempts SET answer = 'declined', answered_at = sent_at + interval '30 hours' WHERE referral_id = $1 AND attempt = $2`, ref, attempt)
	same("a provider's answer")
	exec(`INSERT INTO referral_attempts (referral_id, attempt, agency_id, sent_at, due_at)
		SELECT referral_id, attempt + 1, agency_id, answered_at + interval '40 days', answered_at + interval '41 days'
		FROM referral_attempts WHERE referral_id = $1 AND attempt = $2`, ref, attempt)
	exec(`UPDATE referrals SET redirections = redirections + 1, attempt = attempt + 1 WHERE id = $1`, ref)
	same("a referral sent on")
	exec(`UPDATE cases SET region = CASE region WHEN 'lebap' THEN 'mary' ELSE 'lebap' END WHERE id = $1`, open)
	exec(`UPDATE referrals SET region = c.region FROM cases c WHERE c.id = referrals.case_id AND c.id = $1`, open)
	same("a transfer to another region")
}
