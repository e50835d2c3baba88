package reports_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

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

// TestReferralsInRegionAsRead: the statistics split the period's referrals
// by region once read (store.ReportReferralSet.InRegion) instead of reading
// them again for each region; each part holds exactly what reading that
// region alone gives.
func TestReferralsInRegionAsRead(t *testing.T) {
	svc := syntheticService(t, 2000)
	ctx := context.Background()
	p, err := svc.Period("2025-06", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	f := store.StatisticsFilter{From: p.From, To: p.To, TimeZone: p.From.Location().String()}
	all, err := svc.Store.ReferralStatistics(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Regions) < 2 || len(all.Attempts) == 0 {
		t.Fatalf("%d regions, %d attempts: too little to split", len(all.Regions), len(all.Attempts))
	}
	for _, r := range append(slices.Clone(all.Regions), "nowhere") {
		rf := f
		rf.Region = r
		read, err := svc.Store.ReferralStatistics(ctx, rf)
		if err != nil {
			t.Fatal(err)
		}
		split := all.InRegion(r)
		if got, want := referralLines(split), referralLines(read); !slices.Equal(got, want) {
			t.Errorf("region %s: split %d lines, read %d lines; they differ", r, len(got), len(want))
		}
	}
}

// referralLines writes out a referral set's rows with their codes decoded,
// sorted, so that two sets read in different row orders compare equal.
func referralLines(set *store.ReportReferralSet) []string {
	var out []string
	for _, r := range set.Referrals {
		out = append(out, fmt.Sprintf("referral %s %s %s %v %d %d %d", set.Services[r.Service], set.Statuses[r.Status],
			set.Regions[r.Region], r.Accepted, r.Redirections, r.Attempts, r.SentAt))
	}
	for _, a := range set.Attempts {
		r := set.Referrals[a.Referral]
		out = append(out, fmt.Sprintf("attempt %s %d %d %s %s %v %d %f", set.Services[r.Service], r.SentAt, a.Attempt,
			set.Agencies[a.Agency], set.Answers[a.Answer], a.Answered, a.SentAt, a.Hours))
	}
	slices.Sort(out)
	return out
}
