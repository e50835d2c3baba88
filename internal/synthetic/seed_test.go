package synthetic

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func realSOPs(t testing.TB) *sop.Set {
	t.Helper()
	set, err := sop.LoadPath(filepath.Join(testenv.RepoRoot(), "sop"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestSyntheticHistory seeds a small history and checks that it looks like
// what the workflows write: both tracks, both SOP versions, deadlines met,
// late, breached, cancelled and pending, closures, referrals redirected and
// unrouted, countries of exploitation abroad and within — and no identity rows.
func TestSyntheticHistory(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	res, err := Seed(ctx, st, realSOPs(t), Options{Cases: 3000, Seed: 7, Now: now, Batch: 700})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %s", res)
	if res.Cases != 3000 {
		t.Fatalf("cases %d", res.Cases)
	}
	perCase := float64(res.Events) / float64(res.Cases)
	if perCase < 10 || perCase > 20 {
		t.Errorf("%.1f events per case, want about 15", perCase)
	}
	db := st.DB()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.Get(&n, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM persons`); n != 0 {
		t.Errorf("%d persons rows: synthetic data must hold no identity", n)
	}
	if n := count(`SELECT count(*) FROM cases WHERE workflow_started_at IS NULL`); n != 0 {
		t.Errorf("%d cases the reconciler would start workflows for", n)
	}
	for _, c := range []struct {
		what string
		q    string
		min  int
	}{
		{"children", `SELECT count(*) FROM cases WHERE child`, 200},
		{"adults", `SELECT count(*) FROM cases WHERE NOT child`, 2000},
		{"2025.1-synthetic cases", `SELECT count(*) FROM cases WHERE sop_version = '2025.1-synthetic'`, 800},
		{"2026.1 cases", `SELECT count(*) FROM cases WHERE sop_version = '2026.1'`, 800},
		{"2025.1-synthetic obligations", `SELECT count(*) FROM obligations WHERE sop_version = '2025.1-synthetic'`, 3000},
		{"closed cases", `SELECT count(*) FROM cases WHERE stage = 'closed' AND closed_at IS NOT NULL AND closure_reason IS NOT NULL`, 600},
		{"reintegrated", `SELECT count(*) FROM cases WHERE closure_reason = 'reintegrated'`, 100},
		{"officer concerns", `SELECT count(*) FROM cases WHERE officer_concern AND screening_outcome = 'not_indicated'`, 50},
		{"obligations met", `SELECT count(*) FROM obligations WHERE status = 'met'`, 3000},
		{"obligations breached", `SELECT count(*) FROM obligations WHERE status = 'breached'`, 300},
		{"obligations cancelled", `SELECT count(*) FROM obligations WHERE status = 'cancelled'`, 10},
		{"obligations pending", `SELECT count(*) FROM obligations WHERE status = 'pending'`, 20},
		{"protected periods", `SELECT count(*) FROM obligations WHERE kind = 'protected'`, 1000},
		{"breached then met late", `SELECT count(*) FROM obligations o WHERE o.status = 'breached' AND o.obligation = 'preliminary_decision'
			AND EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = o.case_id AND e.type IN ('preliminary_positive', 'preliminary_negative') AND e.at > o.due_at)`, 100},
		{"breach events", `SELECT count(*) FROM case_events WHERE type = 'obligation_breached'`, 300},
		{"referrals", `SELECT count(*) FROM referrals`, 3000},
		{"redirected referrals", `SELECT count(*) FROM referrals WHERE redirections > 0`, 300},
		{"unrouted referrals", `SELECT count(*) FROM referrals WHERE status = 'unrouted'`, 10},
		{"completed referrals", `SELECT count(*) FROM referrals WHERE status = 'completed'`, 1000},
		{"expired attempts", `SELECT count(*) FROM referral_attempts WHERE answer = 'expired'`, 200},
		{"regions", `SELECT count(DISTINCT region) FROM cases`, 6},
		{"months", `SELECT count(DISTINCT date_trunc('month', opened_at)) FROM cases`, 22},
		{"exploited abroad", `SELECT count(*) FROM cases WHERE exploitation_countries && ARRAY['TR', 'RU', 'AE']`, 1500},
		{"exploited within the country", `SELECT count(*) FROM cases WHERE exploitation_countries = ARRAY['TM']`, 200},
		{"countries of exploitation", `SELECT count(DISTINCT c) FROM cases, unnest(exploitation_countries) c`, 8},
		{"crossed a transit country", `SELECT count(*) FROM cases WHERE cardinality(transit_countries) > 0`, 500},
	} {
		if n := count(c.q); n < c.min {
			t.Errorf("%s: %d, want at least %d", c.what, n, c.min)
		}
	}
	// Every obligation row agrees with its status.
	if n := count(`SELECT count(*) FROM obligations WHERE (status = 'met') <> (met_at IS NOT NULL AND status = 'met')
		OR (status = 'breached' AND breached_at IS NULL) OR (status = 'cancelled' AND cancelled_at IS NULL)
		OR (status = 'met' AND met_at > due_at) OR (status = 'breached' AND breached_at <> due_at) OR met_at > $1 OR breached_at > $1`, now); n != 0 {
		t.Errorf("%d obligation rows are inconsistent", n)
	}
	if n := count(`SELECT count(*) FROM cases WHERE cardinality(exploitation_countries) = 0
		OR ('TM' = ANY(exploitation_countries) AND (cardinality(exploitation_countries) > 1 OR cardinality(transit_countries) > 0))`); n != 0 {
		t.Errorf("%d cases without a country of exploitation, or exploited within the country with others or a transit", n)
	}
	if n := count(`SELECT count(*) FROM case_events WHERE at > $1`, now); n != 0 {
		t.Errorf("%d events after the end of the history", n)
	}
	// Summer has more cases than winter (seasonality).
	summer := count(`SELECT count(*) FROM cases WHERE extract(month FROM opened_at) IN (6, 7, 8)`)
	winter := count(`SELECT count(*) FROM cases WHERE extract(month FROM opened_at) IN (12, 1, 2)`)
	if summer <= winter {
		t.Errorf("summer %d cases, winter %d: no seasonality", summer, winter)
	}
	// The same seed again collides on the same case IDs.
	if _, err := Seed(ctx, st, realSOPs(t), Options{Cases: 10, Seed: 7, Now: now}); err == nil {
		t.Error("seeding the same seed twice succeeded")
	}
}

// TestSyntheticCopyRefusesPersons: the bulk loader never writes identity.
func TestSyntheticCopyRefusesPersons(t *testing.T) {
	st := openStore(t)
	if _, err := st.CopyRows(context.Background(), "persons", []string{"case_id"}, [][]any{{nil}}); err == nil {
		t.Error("CopyRows accepted the persons table")
	}
}

// TestSeedRefusesARealRecord: once a database holds one case that did not
// come from the generator, seeding it fails and writes nothing.
func TestSeedRefusesARealRecord(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if _, err := Seed(ctx, st, realSOPs(t), Options{Cases: 10, Seed: 3, Now: now}); err != nil {
		t.Fatal(err)
	}
	// Stand in for a case opened through the API: a number without SYN-.
	if _, err := st.DB().Exec(`UPDATE cases SET number = 'TM-2026-000001' WHERE id = (SELECT id FROM cases ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	_, err := Seed(ctx, st, realSOPs(t), Options{Cases: 10, Seed: 4, Now: now})
	if !errors.Is(err, ErrRealRecord) {
		t.Fatalf("seed into a real record: %v, want ErrRealRecord", err)
	}
	var n int
	if err := st.DB().Get(&n, `SELECT count(*) FROM cases`); err != nil || n != 10 {
		t.Errorf("%d cases after the refused seed (err %v), want the 10 of before", n, err)
	}
}

// TestSeedForgetsKeptMonths: a bulk load records no change for the TWG's
// kept months (migration 0026) and forgets every kept month instead, and
// the writers after it record their changes as before.
func TestSeedForgetsKeptMonths(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	db := st.DB()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.Exec(`INSERT INTO report_months (report, month_from, month_to, config, data) VALUES ('statistics', $1, $2, 'x', '\x01')`,
		from, from.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if _, err := Seed(ctx, st, realSOPs(t), Options{Cases: 300, Seed: 5, Now: now, Batch: 100}); err != nil {
		t.Fatal(err)
	}
	var months, changes int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM report_months), (SELECT count(*) FROM report_changes)`).Scan(&months, &changes); err != nil {
		t.Fatal(err)
	}
	if months != 0 || changes != 0 {
		t.Fatalf("after seeding: %d kept months, %d recorded changes; want none", months, changes)
	}
	if _, err := db.Exec(`UPDATE cases SET closure_reason = 'other' WHERE id = (SELECT id FROM cases WHERE closed_at IS NOT NULL LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM report_changes`).Scan(&changes); err != nil {
		t.Fatal(err)
	}
	if changes == 0 {
		t.Error("a change after seeding recorded nothing: the bulk load's setting outlived it")
	}
}

// TestSeedStopsOnAWriteError: when writing a batch fails (here the context
// ends after the first batch), seeding stops and says so, without
// generating the rest.
func TestSeedStopsOnAWriteError(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	batches := 0
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	res, err := Seed(ctx, st, realSOPs(t), Options{Cases: 1_000_000, Seed: 5, Now: now, Batch: 100,
		Progress: func(int) { batches++; cancel() }})
	if err == nil {
		t.Fatal("seeding went on after its context ended")
	}
	if batches != 1 || res.Cases != 100 {
		t.Errorf("%d batches and %d cases written, want the first batch of 100 only", batches, res.Cases)
	}
}
