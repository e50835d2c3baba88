package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// reportStore opens a fresh, migrated database. This is an internal test
// (it reads the query constants), so it cannot use internal/testenv, which
// imports this package.
func reportStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	server := os.Getenv("NRM_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	u.Path = "/nrm_test_" + hex.EncodeToString(b)
	dsn := u.String()
	if err := EnsureDatabase(ctx, dsn); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { DropDatabase(context.Background(), dsn) })
	st, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReportQueriesUseIndexes checks that every report query can use the
// index migration 0009 made for it: with sequential scans disabled the
// planner must find a plan through the named indexes (a partial index
// whose predicate the query does not imply would not be usable).
func TestReportQueriesUseIndexes(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 3, 0)
	cf := ComplianceFilter{From: from, To: to, MetBy: []MetByEvent{{"2026.1", "preliminary_decision", "preliminary_positive"}},
		KnownVersions: []string{"2026.1"}}
	for _, c := range []struct {
		name    string
		q       string
		args    []any
		indexes []string
	}{
		{"compliance", qComplianceInstances, cf.args(), []string{"obligations_due_idx", "case_events_case_at_idx"}},
		{"kept months", qKeptReportMonths, []any{"compliance", []time.Time{from}, []time.Time{to}, []string{"x"}},
			[]string{"report_months_pkey|report_months_span_idx", "report_changes_at_idx"}},
		{"statistics cases", qStatisticsCases, []any{from, to, ""}, []string{"cases_report_idx"}},
		{"statistics identified", qStatisticsIdentified, []any{from, to}, []string{"case_events_identified_idx"}},
		{"statistics month cases", qStatisticsMonthCases, []any{from, to, "", [][16]byte{{1}}},
			[]string{"cases_report_idx", "cases_closed_idx", "cases_pkey"}},
		{"statistics month referrals", qStatisticsMonthReferrals, []any{from, to, ""},
			[]string{"referral_attempts_sent_idx", "referrals_pkey", "referrals_sent_idx"}},
		{"statistics month attempts", qStatisticsMonthAttempts, []any{[][16]byte{{1}}}, []string{"referral_attempts_pkey"}},
		{"export", qExport, []any{from, to, ""}, []string{"cases_report_idx", "case_events_case_at_idx"}},
		{"replay", qReplayEvents, []any{from, to, "", Strings{"case_opened"}}, []string{"case_events_case_at_idx"}},
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
		text := strings.Join(plan, "\n")
		for _, idx := range c.indexes { // "a|b": either index
			if !slices.ContainsFunc(strings.Split(idx, "|"), func(i string) bool { return strings.Contains(text, i) }) {
				t.Errorf("%s does not use %s:\n%s", c.name, idx, text)
			}
		}
	}
}

// TestReportQueriesRun runs the report queries on an empty read model.
func TestReportQueriesRun(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	var n atomic.Int64
	err := st.ComplianceMonth(ctx, ComplianceFilter{From: from, To: to}, func(*ReportInstanceSet, ReportInstance) { n.Add(1) })
	if err != nil || n.Load() != 0 {
		t.Errorf("compliance: %d %v", n.Load(), err)
	}
	cs, err := st.StatisticsCases(ctx, StatisticsFilter{From: from, To: to, TimeZone: "Asia/Ashgabat"})
	if err != nil || len(cs.Cases) != 0 || len(cs.Identified) != 0 {
		t.Errorf("statistics: %v %v", cs, err)
	}
	if cs == nil || cs.ByCountry == nil || len(cs.ByCountry.Cases) != 0 {
		t.Errorf("statistics by country: %v", cs)
	}
	mc, refs, err := st.StatisticsMonth(ctx, StatisticsFilter{From: from, To: to})
	if err != nil || len(mc.Cases) != 0 || len(refs.Referrals) != 0 || len(refs.Attempts) != 0 {
		t.Errorf("statistics month: %v %v %v", mc, refs, err)
	}
	if _, err := st.CopyRows(ctx, "persons", []string{"case_id"}, nil); err == nil {
		t.Error("CopyRows accepts persons")
	}
	if _, err := st.ExplainReports(ctx, ComplianceFilter{From: from, To: to}, StatisticsFilter{From: from, To: to, TimeZone: "UTC"}); err != nil {
		t.Error(err)
	}
}
