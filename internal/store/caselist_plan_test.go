package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/synthetic"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The case list's and the inbox's pages, its search and the blind-index
// backfill read through their indexes (migration 0020) on a few thousand
// cases: PostgreSQL's own plans, after ANALYZE, with nothing forced. A
// page ends after the cursor's position in the index, not after a sort of
// the whole scope.
func TestCaseListPlans(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	set, err := sop.LoadPath(filepath.Join(testenv.RepoRoot(), "sop"))
	testenv.Must(t, err)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	_, err = synthetic.Seed(ctx, st, set, synthetic.Options{Cases: 4000, Seed: 11, Now: now})
	testenv.Must(t, err)
	db := st.DB()
	// Synthetic cases carry no identity: give each a key and five blind
	// indexes, as opening a case writes them.
	for _, q := range []string{
		`INSERT INTO case_keys (case_id, key_id, wrapped, created_at, index_version)
			SELECT id, 'k', '\x00', opened_at, CASE WHEN random() < 0.3 THEN 1 ELSE 2 END FROM cases`,
		`INSERT INTO person_index (case_id, kind, key_id, digest, opened_at)
			SELECT c.id, k, 'k', md5(c.id::text || k) || md5(k || c.id::text), c.opened_at FROM cases c,
			unnest(ARRAY['name_birth', 'document', 'document_key', 'phone', 'full_name']) k`,
		`ANALYZE`,
	} {
		_, err := db.ExecContext(ctx, q)
		testenv.Must(t, err)
	}
	var agency uuid.UUID
	var middle store.Cursor
	var provider uuid.UUID
	var inboxMiddle store.Cursor
	var digest string
	testenv.Must(t, db.Get(&agency, `SELECT agency_id FROM cases GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`))
	testenv.Must(t, db.QueryRow(`SELECT opened_at, id FROM cases ORDER BY opened_at DESC, id DESC OFFSET 2000 LIMIT 1`).Scan(&middle.At, &middle.ID))
	testenv.Must(t, db.Get(&provider, `SELECT agency_id FROM referrals WHERE agency_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`))
	testenv.Must(t, db.QueryRow(`SELECT sent_at, id FROM referrals WHERE agency_id = $1 ORDER BY sent_at DESC, id DESC OFFSET 100 LIMIT 1`, provider).Scan(&inboxMiddle.At, &inboxMiddle.ID))
	testenv.Must(t, db.Get(&digest, `SELECT digest FROM person_index WHERE kind = 'phone' LIMIT 1`))

	explain := func(name, sql string, args []any, indexes ...string) {
		t.Helper()
		var lines []string
		testenv.Must(t, db.SelectContext(ctx, &lines, `EXPLAIN `+sql, args...))
		text := strings.Join(lines, "\n")
		for _, idx := range indexes {
			if !strings.Contains(text, idx) {
				t.Errorf("%s does not use %s:\n%s", name, idx, text)
			}
		}
		if strings.Contains(text, "Seq Scan") {
			t.Errorf("%s reads a whole table:\n%s", name, text)
		}
	}
	all, own := store.CaseScope{All: true}, store.CaseScope{AgencyID: agency}
	for _, c := range []struct {
		name    string
		scope   store.CaseScope
		f       store.CaseFilter
		indexes []string
	}{
		{"the first page of every case", all, store.CaseFilter{}, []string{"cases_opened_idx"}},
		{"a page of every case after a cursor", all, store.CaseFilter{After: &middle}, []string{"cases_opened_idx"}},
		{"a page of an agency's cases after a cursor", own, store.CaseFilter{After: &middle}, []string{"cases_agency_opened_idx"}},
		{"a page of a stage after a cursor", all, store.CaseFilter{Stage: "closed", After: &middle}, []string{"cases_stage_opened_idx"}},
		{"a rare stage", all, store.CaseFilter{Stage: "closure"}, []string{"cases_stage_opened_idx"}},
		{"an agency's cases of a stage", own, store.CaseFilter{Stage: "assistance"}, []string{"cases_stage_opened_idx", "cases_agency_opened_idx"}},
		{"a search by number and digests", own, store.CaseFilter{Search: &store.CaseSearch{Number: "TM-2026-00", Digests: []string{digest, "x"}}},
			[]string{"cases_number_prefix_idx", "person_index_digest_idx", "cases_pkey"}},
		{"overdue cases", all, store.CaseFilter{Overdue: new(true), Now: now}, []string{"cases_opened_idx", "obligations_case_idx"}},
	} {
		sql, args := store.CaseListSQL(c.scope, c.f)
		explain(c.name, sql, args, c.indexes...)
	}
	sql, args := store.InboxSQL(provider, "", &inboxMiddle, 101)
	explain("an inbox page after a cursor", sql, args, "referrals_agency_sent_idx")
	sql, args = store.InboxSQL(provider, "completed", &inboxMiddle, 101)
	explain("an inbox page of a status after a cursor", sql, args, "referrals_agency_status_idx")
	explain("a backfill batch", store.QKeysToReindex, []any{1, uuid.Nil, 200}, "case_keys_reindex_idx")
}

func TestPrefixRange(t *testing.T) {
	for prefix, want := range map[string][2]string{"TM-2026-00": {"TM-2026-00", "TM-2026-01"}, "T": {"T", "U"}, "TM-": {"TM-", "TM."}} {
		lo, hi, ok := store.PrefixRange(prefix)
		if !ok || lo != want[0] || hi != want[1] {
			t.Errorf("prefixRange(%q) = %q, %q, %v; want %v", prefix, lo, hi, ok, want)
		}
	}
	for _, prefix := range []string{"", "AÝ", "A~", "A\x00"} {
		if _, _, ok := store.PrefixRange(prefix); ok {
			t.Errorf("prefixRange(%q) answered a range", prefix)
		}
	}
}
