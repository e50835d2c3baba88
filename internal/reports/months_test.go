package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// complianceJSON answers the compliance report of p as JSON.
func complianceJSON(t *testing.T, svc *Service, p Period) []byte {
	t.Helper()
	rep, err := svc.Compliance(context.Background(), ComplianceQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keptMonths lists the whole months kept for the compliance report, as
// YYYY-MM in the fixture's time zone.
func (f *fixture) keptMonths() []string {
	return f.kept(`month_to - month_from > interval '2 days'`, "2006-01")
}

// keptDays lists the days kept for the compliance report, as YYYY-MM-DD in
// the fixture's time zone, those kept ahead marked with a "+".
func (f *fixture) keptDays() []string {
	return f.kept(`month_to - month_from <= interval '2 days'`, "2006-01-02")
}

func (f *fixture) kept(where, layout string) []string {
	f.t.Helper()
	var rows []struct {
		From   time.Time `db:"month_from"`
		Config string    `db:"config"`
	}
	if err := f.db.Select(&rows, `SELECT month_from, config FROM report_months WHERE report = 'compliance' AND `+where+
		` ORDER BY month_from`); err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		v := r.From.In(f.loc).Format(layout)
		if strings.HasSuffix(r.Config, "/ahead") {
			v += "+"
		}
		out = append(out, v)
	}
	return out
}

// TestComplianceKeepsMonthsThatAreOver: the months of a report that are
// over are kept, the current one is not; a report answered from kept months
// is the one answered from the instances; and every kind of change that
// counts in a kept month — a late meeting, a case moved to another region,
// an obligation given to another agency, an instance added or removed —
// makes the next report count it, exactly as a report built afresh does.
func TestComplianceKeepsMonthsThatAreOver(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	p, err := svc.Period("2026-01", "2026-04") // as of 10 April: January to March are over
	if err != nil {
		t.Fatal(err)
	}
	first := complianceJSON(t, svc, p)
	if got, want := f.keptMonths(), []string{"2026-01", "2026-02", "2026-03"}; !slices.Equal(got, want) {
		t.Fatalf("kept months %v, want %v", got, want)
	}
	// April by day: the nine days that are over, not the day under way,
	// and the twenty to come kept ahead.
	var days []string
	for d := 1; d <= 30; d++ {
		switch {
		case d < 10:
			days = append(days, fmt.Sprintf("2026-04-%02d", d))
		case d > 10:
			days = append(days, fmt.Sprintf("2026-04-%02d+", d))
		}
	}
	if got := f.keptDays(); !slices.Equal(got, days) {
		t.Fatalf("kept days %v, want %v", got, days)
	}
	if again := complianceJSON(t, svc, p); !bytes.Equal(again, first) {
		t.Fatalf("the report from kept months differs:\n%s\n%s", again, first)
	}

	// The kept figures are what the report reads: emptied, March counts nothing.
	f.exec(`UPDATE report_months SET data = $1 WHERE month_from = $2`, encodeCells(nil), f.at("2026-03-01 00:00"))
	emptied, err := svc.Compliance(context.Background(), ComplianceQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	expectRow(t, findTable(t, emptied.Tables, "compliance/preliminary_decision/region"), "total", "due=2 met_on_time=1 pending=1")
	// Malformed figures are not trusted: the month is read again and kept anew.
	f.exec(`UPDATE report_months SET data = '\x00' WHERE month_from = $1`, f.at("2026-03-01 00:00"))
	if again := complianceJSON(t, svc, p); !bytes.Equal(again, first) {
		t.Fatalf("the report after malformed kept figures differs:\n%s\n%s", again, first)
	}

	// fresh is the report with nothing kept; it is compared with the one
	// answered first, from whatever is kept.
	same := func(what string) {
		t.Helper()
		kept := complianceJSON(t, svc, p)
		f.exec(`DELETE FROM report_months`)
		if fresh := complianceJSON(t, svc, p); !bytes.Equal(kept, fresh) {
			t.Fatalf("after %s the report from kept months differs from a fresh one:\n%s\n%s", what, kept, fresh)
		}
		if bytes.Equal(kept, first) {
			t.Fatalf("after %s the report did not change", what)
		}
		first = kept
	}
	var c3, c1 uuid.UUID
	if err := f.db.Get(&c3, `SELECT id FROM cases WHERE region = 'dashoguz'`); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&c1, `SELECT id FROM cases WHERE opened_at = $1`, f.at("2026-03-02 10:00")); err != nil {
		t.Fatal(err)
	}
	// C3's preliminary decision, breached in March, is taken on 2 April:
	// met late.
	f.event(c3, "preliminary_positive", f.at("2026-04-02 10:00"), nil)
	same("a late meeting")
	late, _ := svc.Compliance(context.Background(), ComplianceQuery{Period: p})
	expectRow(t, findTable(t, late.Tables, "compliance/preliminary_decision/region"), "dashoguz", "due=1 met_late=1")

	f.exec(`UPDATE cases SET region = 'mary' WHERE id = $1`, c3)
	same("a case moved to another region")
	f.exec(`UPDATE obligations SET owner_agency_id = $1 WHERE case_id = $2 AND obligation = 'preliminary_decision'`, f.dpolice, c1)
	same("an obligation given to another agency")
	f.obligation(c1, obl{id: "case-" + c1.String() + "/preliminary_decision/9", obligation: "preliminary_decision", version: "2026.1",
		role: "competent_authority", owner: &f.authority, starts: f.at("2026-02-02 10:00"), due: f.at("2026-02-10 00:00"), status: "breached",
		breached: ptr(f.at("2026-02-10 00:00"))})
	same("an instance added")
	f.exec(`DELETE FROM obligations WHERE id = $1`, "case-"+c1.String()+"/preliminary_decision/9")
	same("an instance removed")

	// The month under way is never kept whole, nor the day under way, and
	// a report of months that are all kept leaves no change recorded for
	// them.
	if got := f.keptMonths(); slices.Contains(got, "2026-04") {
		t.Errorf("the current month is kept: %v", got)
	}
	if got := f.keptDays(); slices.Contains(got, "2026-04-10") || slices.Contains(got, "2026-04-10+") {
		t.Errorf("the day under way is kept: %v", got)
	}
	var changes int
	if err := f.db.Get(&changes, `SELECT count(*) FROM report_changes WHERE at >= $1 AND at < $2`,
		f.at("2026-01-01 00:00"), f.at("2026-04-01 00:00")); err != nil {
		t.Fatal(err)
	}
	if changes != 0 {
		t.Errorf("%d changes of kept months left recorded", changes)
	}

	// A day kept ahead is not used once it has started: as of 17 April,
	// the deadline due on the 16th at midnight is overdue, no longer
	// pending as the 16th kept ahead on the 10th counted it.
	f.asOf = f.at("2026-04-17 06:00")
	same("the day a deadline falls due")
}

// TestKeptCellsRoundTrip: what a month keeps reads back the same, and
// anything cut or padded is refused.
func TestKeptCellsRoundTrip(t *testing.T) {
	cells := []*complianceCell{
		{obligation: "preliminary_decision", version: "2026.1", region: "lebap", agency: uuid.NewString(), onTime: 3, late: 1, open: 2, pending: 7,
			hours: []float64{72, 264.5, 0.25, 1e-9}},
		{obligation: "referral_answer", version: "2026.1", region: "mary", onTime: 0, open: 1},
	}
	b := encodeCells(cells)
	got, err := decodeCells(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].agency != cells[0].agency || got[0].pending != 7 || !slices.Equal(got[0].hours, cells[0].hours) ||
		got[1].region != "mary" || got[1].open != 1 || len(got[1].hours) != 0 {
		t.Fatalf("round trip: %+v %+v", got[0], got[1])
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(bytes.Clone(b), 0), append([]byte{9}, b[1:]...)} {
		if _, err := decodeCells(bad); err == nil {
			t.Errorf("decodeCells accepts %d bytes", len(bad))
		}
	}
}

// TestKeepMonthsBuildsAndPrunes: the housekeeping pass builds the months of
// the last two years that are over, builds again only what changed, and
// deletes kept figures and recorded changes older than KeptMonths.
func TestKeepMonthsBuildsAndPrunes(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	ctx := context.Background()
	old := f.at("2022-01-01 00:00")
	f.exec(`INSERT INTO report_months (report, month_from, month_to, config, data) VALUES ('compliance', $1, $2, 'x', '\x01')`,
		old, old.AddDate(0, 1, 0))
	f.exec(`INSERT INTO report_changes (at) VALUES ($1)`, old.Add(time.Hour))

	built, err := svc.KeepMonths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kept := f.keptMonths()
	if built != 48 || len(kept) != 24 || kept[0] != "2024-04" || kept[23] != "2026-03" {
		t.Fatalf("built %d, kept %v; want the 24 months from 2024-04 to 2026-03 of each report (48)", built, kept)
	}
	var left int
	if err := f.db.Get(&left, `SELECT (SELECT count(*) FROM report_months WHERE month_from < $1) + (SELECT count(*) FROM report_changes WHERE at < $1)`,
		f.at("2023-01-01 00:00")); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d kept months or changes older than %d months left", left, KeptMonths)
	}
	if built, err = svc.KeepMonths(ctx); err != nil || built != 0 {
		t.Errorf("a second pass with nothing changed built %d months (%v)", built, err)
	}
	var c1 uuid.UUID
	if err := f.db.Get(&c1, `SELECT id FROM cases WHERE opened_at = $1`, f.at("2026-03-02 10:00")); err != nil {
		t.Fatal(err)
	}
	f.exec(`UPDATE obligations SET owner_agency_id = $1 WHERE case_id = $2 AND obligation = 'preliminary_decision'`, f.dpolice, c1)
	if built, err = svc.KeepMonths(ctx); err != nil || built != 2 {
		t.Errorf("after a change in March the pass built %d months (%v), want March of each report (2)", built, err)
	}
}
