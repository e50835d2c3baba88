package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// seedAuditLog writes n rows straight into audit_log (the hashes are
// stand-ins: these tests read the trail, they do not verify the chain):
// 20 users in 5 agencies, 10 actions, a third of the rows about one of 50
// cases, one row a second back from now; and rare ones: every 400th row is
// from a sixth agency (agencies[5]), every 500th the action rare.action.
func seedAuditLog(t *testing.T, st *Store, n int) (users, agencies, caseIDs []uuid.UUID) {
	t.Helper()
	for range 20 {
		users = append(users, uuid.New())
	}
	for range 6 {
		agencies = append(agencies, uuid.New())
	}
	for range 50 {
		caseIDs = append(caseIDs, uuid.New())
	}
	_, err := st.db.Exec(`INSERT INTO audit_log (at, user_id, role, agency_id, action, case_id, fields, request_id, prev_hash, hash)
		SELECT now() - g * interval '1 second', ($1::uuid[])[1 + g % 20], 'frontline',
			CASE WHEN g % 400 = 0 THEN ($2::uuid[])[6] ELSE ($2::uuid[])[1 + (g % 20) % 5] END,
			CASE WHEN g % 500 = 0 THEN 'rare.action' ELSE 'action.' || (g % 10) END, CASE WHEN g % 3 = 0 THEN ($3::uuid[])[1 + g % 50] END, '{}', 'req-' || g,
			decode(md5(g::text) || md5(g::text), 'hex'), decode(md5((g + 1)::text) || md5((g + 1)::text), 'hex')
		FROM generate_series(1, $4) AS g`, uuids(users), uuids(agencies), uuids(caseIDs), n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.db.Exec(`ANALYZE audit_log`); err != nil {
		t.Fatal(err)
	}
	return users, agencies, caseIDs
}

func uuids(ids []uuid.UUID) Strings {
	out := make(Strings, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// On a few thousand rows, no page of the audit trail scans the log: a
// selective filter reads its own index of migration 0019 (a case's,
// audit_log_case_idx) — backwards, or its few rows sorted — and without
// one, or with a filter that many rows pass, the page is an index read in
// the trail's order that stops at the page's end, never a sort of the log.
// The list of actions is a loose scan of the action index. The planner
// chooses so itself: sequential scans are not turned off.
func TestAuditTrailQueriesUseTheirIndexes(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	users, agencies, caseIDs := seedAuditLog(t, st, 5000)
	now := time.Now()
	var cursorAt time.Time
	if err := st.db.Get(&cursorAt, `SELECT at FROM audit_log WHERE id = 2500`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     AuditFilter
		index string // "" when any index read in the trail's order will do
	}{
		{"newest", AuditFilter{}, "audit_log_at_idx"},
		{"older page", AuditFilter{Before: 2500}, "audit_log_at_idx"},
		{"period", AuditFilter{From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)}, "audit_log_at_idx"},
		{"user", AuditFilter{UserID: &users[3]}, "audit_log_user_at_idx"},
		{"user, period, older page", AuditFilter{UserID: &users[3], From: now.Add(-3 * time.Hour), To: now, Before: 2500}, "audit_log_user_at_idx"},
		{"rare agency", AuditFilter{AgencyID: &agencies[5]}, "audit_log_agency_at_idx"},
		{"common agency", AuditFilter{AgencyID: &agencies[1]}, ""},
		{"rare action", AuditFilter{Action: "rare.action"}, "audit_log_action_at_idx"},
		{"common action", AuditFilter{Action: "action.7"}, ""},
		{"case", AuditFilter{CaseID: &caseIDs[9]}, "audit_log_case_idx"},
	} {
		c.f.Limit = 51
		q, args := auditTrailSQL(c.f, cursorAt)
		var plan []string
		if err := st.db.SelectContext(ctx, &plan, `EXPLAIN (COSTS OFF) `+q, args...); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		text := strings.Join(plan, "\n")
		switch {
		case strings.Contains(text, "Seq Scan on audit_log"):
			t.Errorf("%s scans the whole log:\n%s", c.name, text)
		case c.index != "" && !strings.Contains(text, c.index):
			t.Errorf("%s does not read %s:\n%s", c.name, c.index, text)
		case c.index == "" && (strings.Contains(text, "Sort") ||
			!regexp.MustCompile(`Index Scan Backward using audit_log_\w+ on audit_log a`).MatchString(text)):
			t.Errorf("%s does not read an index in the trail's order:\n%s", c.name, text)
		}
	}
	var plan []string
	if err := st.db.SelectContext(ctx, &plan, `EXPLAIN (COSTS OFF) `+qAuditActions); err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "audit_log_action_at_idx") || strings.Contains(text, "Seq Scan on audit_log") {
		t.Errorf("the actions are not a loose scan of the action index:\n%s", text)
	}
}

// The trail answers the filter's rows newest first; its pages, from the
// cursor of the last row shown, cover every row once; the actions are the
// distinct ones.
func TestAuditTrailPagesAndFilters(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	users, _, _ := seedAuditLog(t, st, 700)
	var want int
	if err := st.db.Get(&want, `SELECT count(*) FROM audit_log WHERE user_id = $1`, users[5]); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	var before int64
	var last time.Time
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("the pages do not end")
		}
		rows, err := st.AuditTrail(ctx, AuditFilter{UserID: &users[5], Before: before, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.UserID != users[5] || seen[r.ID] || (!last.IsZero() && r.At.After(last)) {
				t.Fatalf("row %d (%s at %s) out of place", r.ID, r.UserID, r.At)
			}
			seen[r.ID], last = true, r.At
		}
		if len(rows) < 10 {
			break
		}
		before = rows[len(rows)-1].ID
	}
	if len(seen) != want {
		t.Errorf("the pages hold %d rows, want %d", len(seen), want)
	}
	actions, err := st.AuditActions(ctx)
	if err != nil || len(actions) != 11 || actions[0] != "action.0" || actions[9] != "action.9" || actions[10] != "rare.action" {
		t.Errorf("actions: %v %v", actions, err)
	}
	if _, err := st.AuditTrail(ctx, AuditFilter{Before: 999999}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown cursor: %v", err)
	}
	if _, err := st.CaseNumberOf(ctx, uuid.New()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown case: %v", err)
	}
	if _, err := st.LastAudit(ctx, "audit.verify"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no verification yet: %v", err)
	}
	if err := st.Audit(ctx, AuditEntry{UserID: users[0], Role: "admin", AgencyID: uuid.New(), Action: "audit.verify",
		Fields: Strings{"result:intact"}, RequestID: "r"}); err != nil {
		t.Fatal(err)
	}
	r, err := st.LastAudit(ctx, "audit.verify")
	if err != nil || r.UserID != users[0] || len(r.Fields) != 1 || r.Fields[0] != "result:intact" {
		t.Errorf("last verification: %+v %v", r, err)
	}
	id, hash, err := st.AuditHead(ctx)
	if err != nil || id != r.ID || len(hash) != 32 {
		t.Errorf("head: %d %x %v, want %d", id, hash, err, r.ID)
	}
}
