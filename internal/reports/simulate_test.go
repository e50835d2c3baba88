package reports

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func simRow(t *testing.T, tb *Table, obligation, version string) *Row {
	t.Helper()
	for _, r := range tb.Rows {
		if r.Key == obligation && r.Attr("version") == version {
			return r
		}
	}
	t.Fatalf("no row %s/%s", obligation, version)
	return nil
}

func expectSim(t *testing.T, tb *Table, obligation, version, want string) {
	t.Helper()
	r := simRow(t, tb, obligation, version)
	for _, kv := range strings.Fields(want) {
		col, val, _ := strings.Cut(kv, "=")
		got := r.Get(tb, col)
		s := "null"
		if got.Valid {
			s = got.String()
		}
		if s != val {
			t.Errorf("%s/%s: %s = %s, want %s", obligation, version, col, s, val)
		}
	}
}

// TestComplianceSimulation replays the instances started in March 2026
// against the 2025.1-synthetic deadlines (preliminary decision in 10
// working days instead of 5).
//
// Recorded: C1 on time, C2 late, C3 open, C4 on time (C8 cancelled).
// Candidate: C2's deadline moves to Wed 1 Apr 00:00 (17,18,19,23,24,25,26,
// 27,30,31), so its decision of 27 Mar is on time; C3's moves to Fri 3 Apr
// (still open on 10 Apr). Times to meet: 72, 264, 74 h → median 74,
// p90 = 74 + 0.8 × 190 = 226.
func TestComplianceSimulation(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	march, _ := svc.Period("2026-03", "2026-03")
	sim, err := svc.Simulate(context.Background(), f.v2025, SimulateQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if sim.Cases != (Value{V: 6, Valid: true}) || len(sim.Skipped) != 0 {
		t.Errorf("cases %v, skipped %v; want 6 (C1-C5, C8), none", sim.Cases, sim.Skipped)
	}
	tb := sim.Table
	expectSim(t, tb, "preliminary_decision", "recorded",
		"instances=4 met=3 met_on_time=2 met_late=1 breached_open=1 pending=0 share_on_time=0.5 median_hours=74 p90_hours=226")
	expectSim(t, tb, "preliminary_decision", "2025.1-synthetic",
		"instances=4 met=3 met_on_time=3 met_late=0 breached_open=1 pending=0 share_on_time=0.75 median_hours=74")
	expectSim(t, tb, "child_protection_notified", "recorded", "instances=1 met_on_time=1")
	expectSim(t, tb, "child_protection_notified", "2025.1-synthetic", "instances=1 met_on_time=1")
	expectSim(t, tb, "conclusive_decision", "recorded", "instances=2 pending=2")
	expectSim(t, tb, "referral_answer", "recorded", "instances=3 met_on_time=2 breached_open=1")
	expectSim(t, tb, "referral_answer", "2025.1-synthetic", "instances=3 met_on_time=2 breached_open=1")

	// Replaying the recorded version reproduces the compliance report's
	// outcomes (same instances, same definitions).
	same, err := svc.Simulate(context.Background(), f.v2026, SimulateQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	expectSim(t, same.Table, "preliminary_decision", "2026.1", "instances=4 met_on_time=2 met_late=1 breached_open=1")

	var buf bytes.Buffer
	if err := sim.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "preliminary_decision") || !strings.Contains(out, "50.0%") || !strings.Contains(out, "75.0%") {
		t.Errorf("text output:\n%s", out)
	}

	// At the default threshold the small figures are withheld, safely.
	svc.Threshold = 5
	sim, err = svc.Simulate(context.Background(), f.v2025, SimulateQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	attackTables(t, []*Table{sim.Table}, 5)
	checkWithheldAreNull(t, []*Table{sim.Table})
	expectSim(t, sim.Table, "preliminary_decision", "recorded", "instances=null met_on_time=null pending=0")
}

// TestComplianceReplayMatchesWorkflow checks the replay's rules on one case
// without a database: breach at the due time, a meeting exactly at the due
// time is on time, a late meeting after a breach, closure cancels.
func TestComplianceReplayMatchesWorkflow(t *testing.T) {
	set := loadSOPs(t)
	v, _ := set.Get("2026.1")
	loc := v.Calendar.Location
	at := func(s string) time.Time {
		x, _ := time.ParseInLocation("2006-01-02 15:04", s, loc)
		return x
	}
	events := []Event{
		{Type: "case_opened", At: at("2026-03-02 10:00"), Seq: 1},
		{Type: "preliminary_negative", At: at("2026-03-10 00:00"), Seq: 2}, // exactly at the due time: on time
		{Type: "negative_review_overturned", At: at("2026-03-20 09:00"), Seq: 3},
		{Type: "preliminary_positive", At: at("2026-03-20 09:00"), Seq: 4},
		{Type: "closure_requested", At: at("2026-04-01 09:00"), Seq: 5},
		{Type: "closure_approved", At: at("2026-04-02 09:00"), Seq: 6},
	}
	got := Replay(v, false, events, at("2026-07-15 00:00"))
	byID := map[string]Instance{}
	for _, in := range got {
		byID[in.Obligation] = in
	}
	check := func(obligation string, want Outcome) {
		t.Helper()
		o, _ := byID[obligation].Outcome()
		if o != want {
			t.Errorf("%s: outcome %d (status %s), want %d", obligation, o, byID[obligation].Status, want)
		}
	}
	check("preliminary_decision", OutcomeOnTime)
	// Review due 3wd after Tue 10 Mar 00:00: 11, 12, 13 → Sat 14 Mar 00:00;
	// overturned 20 Mar: late.
	if d := byID["preliminary_negative_review"].DueAt; !d.Equal(at("2026-03-14 00:00")) {
		t.Errorf("review due %s", d)
	}
	check("preliminary_negative_review", OutcomeLate)
	check("conclusive_decision", OutcomeExcluded) // cancelled by the approved closure
	check("closure_review", OutcomeOnTime)
	// Due 90 days after the approval (1 Jul 09:00), not met by 15 July: breached.
	if fu := byID["follow_up"]; fu.Status != StatusBreached || !fu.DueAt.Equal(at("2026-07-01 09:00")) {
		t.Errorf("follow_up %+v", fu)
	}
	check("follow_up", OutcomeOpen)
	// Protected periods are never counted.
	check("recovery_period", OutcomeExcluded)
}

// TestSimulationDifferencing: the simulation for every region and the
// unfiltered one, attacked together at the default threshold; the counts
// of cases replayed are protected too.
func TestSimulationDifferencing(t *testing.T) {
	f := newFixture(t)
	svc := f.service(0)
	p, _ := svc.Period("2025-11", "2026-04")
	ctx := context.Background()
	all, err := svc.Simulate(ctx, f.v2025, SimulateQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	var answers []filteredAnswer
	for _, r := range []string{"ashgabat", "dashoguz", "lebap", "mary"} {
		sim, err := svc.Simulate(ctx, f.v2025, SimulateQuery{Period: p, Region: r})
		if err != nil {
			t.Fatal(err)
		}
		attackTables(t, []*Table{sim.Table}, 5)
		if r == "dashoguz" && sim.Cases.Valid {
			t.Errorf("Dashoguz: %v cases replayed published, below the threshold", sim.Cases)
		}
		answers = append(answers, filteredAnswer{dim: "region", val: r, tables: []*Table{sim.Table}})
	}
	attackTables(t, []*Table{all.Table}, 5)
	attackAnswers(t, 5, []*Table{all.Table}, answers, true)
}
