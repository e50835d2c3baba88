package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func findTable(t *testing.T, tables []*Table, id string) *Table {
	t.Helper()
	for _, tb := range tables {
		if tb.ID == id {
			return tb
		}
	}
	var ids []string
	for _, tb := range tables {
		ids = append(ids, tb.ID)
	}
	t.Fatalf("no table %s among %v", id, ids)
	return nil
}

// expectRow compares a row's values with "column=value" pairs; "null" for
// a withheld or undefined value.
func expectRow(t *testing.T, tb *Table, key string, want string) {
	t.Helper()
	r := tb.Total
	if key != "total" {
		r = tb.Row(key)
	}
	if r == nil {
		var keys []string
		for _, x := range tb.Rows {
			keys = append(keys, x.Key)
		}
		t.Errorf("%s: no row %q among %v", tb.ID, key, keys)
		return
	}
	for _, kv := range strings.Fields(want) {
		col, val, _ := strings.Cut(kv, "=")
		got := r.Get(tb, col)
		s := "null"
		if got.Valid {
			s = got.String()
		}
		if s != val {
			t.Errorf("%s row %s: %s = %s, want %s", tb.ID, key, col, s, val)
		}
	}
}

// TestComplianceHandComputed checks the March 2026 report of the fixed
// history without suppression (threshold 1): every figure is worked out in
// fixture_test.go.
func TestComplianceHandComputed(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	period, err := svc.Period("2026-03-01", "2026-03-31")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Compliance(context.Background(), ComplianceQuery{Period: period})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Period.From != "2026-03-01" || rep.Period.To != "2026-03-31" || rep.Period.TimeZone != "Asia/Ashgabat" {
		t.Errorf("period = %+v", rep.Period)
	}
	// preliminary_decision: C1 on time (72 h), C2 late (264 h), C3 open;
	// C4 falls due in April, C8 was cancelled.
	pd := findTable(t, rep.Tables, "compliance/preliminary_decision/region")
	expectRow(t, pd, "total", "due=3 met_on_time=1 met_late=1 breached_open=1 pending=0 share_on_time=0.3333 median_hours=168 p90_hours=244.8")
	expectRow(t, pd, "lebap", "due=2 met_on_time=1 met_late=1 breached_open=0 pending=0 share_on_time=0.5 median_hours=168")
	expectRow(t, pd, "dashoguz", "due=1 met_on_time=0 met_late=0 breached_open=1 share_on_time=0 median_hours=null")
	expectRow(t, findTable(t, rep.Tables, "compliance/preliminary_decision/agency"), "Identification unit", "due=3 met_on_time=1")
	expectRow(t, findTable(t, rep.Tables, "compliance/preliminary_decision/agency_type"), "competent_authority", "due=3 met_late=1")
	expectRow(t, findTable(t, rep.Tables, "compliance/preliminary_decision/sop_version"), "2026.1", "due=3 breached_open=1")

	// child_protection_notified: C4, on time in 23 h, owned by the opening agency.
	cp := findTable(t, rep.Tables, "compliance/child_protection_notified/agency")
	expectRow(t, cp, "total", "due=1 met_on_time=1 share_on_time=1 median_hours=23")
	expectRow(t, cp, "Lebap police", "due=1 met_on_time=1")

	// conclusive_decision: C5, under the 2025 version (120 days), on time in 2616 h.
	cd := findTable(t, rep.Tables, "compliance/conclusive_decision/sop_version")
	expectRow(t, cd, "total", "due=1 met_on_time=1 median_hours=2616")
	expectRow(t, cd, "2025.1-synthetic", "due=1 met_on_time=1")

	// referral_answer: R1 on time, R2 attempt 1 breached and open (the
	// answer of the next provider does not meet it), attempt 2 on time.
	ra := findTable(t, rep.Tables, "compliance/referral_answer/agency")
	expectRow(t, ra, "total", "due=3 met_on_time=2 met_late=0 breached_open=1 share_on_time=0.6667 median_hours=1 p90_hours=1")
	expectRow(t, ra, "Lebap clinic", "due=1 breached_open=1")
	expectRow(t, ra, "Ashgabat clinic", "due=1 met_on_time=1")
	expectRow(t, ra, "Lebap shelter", "due=1 met_on_time=1")
	expectRow(t, findTable(t, rep.Tables, "compliance/referral_answer/agency_type"), "health", "due=2 met_on_time=1 breached_open=1")

	// Nothing else fell due in March: the other obligations are listed
	// with nothing due (protected periods are not listed at all).
	var groups []string
	for _, tb := range rep.Tables {
		if tb.Dimension == "region" {
			groups = append(groups, tb.Group)
		}
	}
	if fmt.Sprint(groups) != "[preliminary_decision child_protection_notified preliminary_negative_review conclusive_decision conclusive_negative_review referral_answer closure_review follow_up]" {
		t.Errorf("obligations = %v", groups)
	}
	for _, o := range []string{"preliminary_negative_review", "conclusive_negative_review", "closure_review", "follow_up"} {
		tb := findTable(t, rep.Tables, "compliance/"+o+"/region")
		expectRow(t, tb, "total", "due=0 met_on_time=0 met_late=0 breached_open=0 pending=0 share_on_time=null median_hours=null")
		if len(tb.Rows) != 0 {
			t.Errorf("%s: %d rows with nothing due", tb.ID, len(tb.Rows))
		}
	}

	// April: C4 met on time (74 h), C7 pending (due 16 April, as of 10 April).
	april, _ := svc.Period("2026-04", "2026-04")
	rep, err = svc.Compliance(context.Background(), ComplianceQuery{Period: april})
	if err != nil {
		t.Fatal(err)
	}
	pd = findTable(t, rep.Tables, "compliance/preliminary_decision/region")
	expectRow(t, pd, "total", "due=2 met_on_time=1 met_late=0 breached_open=0 pending=1 share_on_time=1 median_hours=74")
	expectRow(t, pd, "mary", "due=1 pending=1 share_on_time=null")
}

// TestComplianceFilters narrows the report by region, agency, version and obligation.
func TestComplianceFilters(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	march, _ := svc.Period("2026-03", "2026-03")
	ctx := context.Background()
	rep, err := svc.Compliance(ctx, ComplianceQuery{Period: march, Region: "dashoguz"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range rep.Tables {
		want := "due=0"
		if tb.Group == "preliminary_decision" {
			want = "due=1 breached_open=1"
		}
		expectRow(t, tb, "total", want)
	}

	rep, err = svc.Compliance(ctx, ComplianceQuery{Period: march, Agency: f.clinic.String()})
	if err != nil {
		t.Fatal(err)
	}
	expectRow(t, findTable(t, rep.Tables, "compliance/referral_answer/agency"), "total", "due=1 breached_open=1")

	rep, err = svc.Compliance(ctx, ComplianceQuery{Period: march, SOPVersion: "2025.1-synthetic"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range rep.Tables {
		if tb.Group != "conclusive_decision" && tb.Total.Get(tb, "due").V != 0 {
			t.Errorf("2025 version: %s has instances", tb.ID)
		}
	}
	expectRow(t, findTable(t, rep.Tables, "compliance/conclusive_decision/sop_version"), "2025.1-synthetic", "due=1")

	rep, err = svc.Compliance(ctx, ComplianceQuery{Period: march, Obligation: "referral_answer"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != 4 || rep.Tables[0].Group != "referral_answer" {
		t.Errorf("referral_answer: tables %v", rep.Tables)
	}

	if _, err := svc.Compliance(ctx, ComplianceQuery{Period: march, Agency: "not-a-uuid"}); err == nil {
		t.Error("a malformed agency ID was accepted")
	}
	var ie *InputError
	if _, err := svc.Compliance(ctx, ComplianceQuery{Period: march, Obligation: "no_such_deadline"}); !errors.As(err, &ie) || ie.Field != "obligation" {
		t.Errorf("an unknown obligation: %v, want an input error on obligation", err)
	}
}

// TestComplianceSuppressed: with the default threshold, the small counts of
// the fixed history are withheld, none can be recomputed, and JSON and CSV
// carry no withheld number.
func TestComplianceSuppressed(t *testing.T) {
	f := newFixture(t)
	svc := f.service(0) // default: 5
	march, _ := svc.Period("2026-03", "2026-03")
	rep, err := svc.Compliance(context.Background(), ComplianceQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Threshold != 5 {
		t.Errorf("threshold = %d", rep.Threshold)
	}
	attackTables(t, rep.Tables)
	checkWithheldAreNull(t, rep.Tables)
	pd := findTable(t, rep.Tables, "compliance/preliminary_decision/region")
	expectRow(t, pd, "total", "due=null met_on_time=null pending=0 share_on_time=null median_hours=null")
	var reasons []string
	for _, s := range pd.Suppressed {
		reasons = append(reasons, s.Row+"/"+s.Column+": "+s.Reason)
	}
	joined := strings.Join(reasons, "\n")
	for _, want := range []string{"total/due: primary: below 5", "total/share_on_time: derived: computed from a suppressed cell",
		"total/median_hours: primary: based on fewer than 5 instances"} {
		if !strings.Contains(joined, want) {
			t.Errorf("suppressed list lacks %q:\n%s", want, joined)
		}
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"due":null`) || strings.Contains(string(data), `"due":3`) {
		t.Errorf("JSON carries a withheld count: %s", data)
	}
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(buf.String()))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	if strings.Join(header, ",") != "group,dimension,key,agency_id,agency_type,due,met_on_time,met_late,breached_open,pending,share_on_time,median_hours,p90_hours,suppressed" {
		t.Errorf("CSV header %v", header)
	}
	for _, rec := range recs[1:] {
		for i := 5; i <= 9; i++ { // the counts
			if rec[i] != "" && rec[i] != "0" {
				t.Errorf("CSV publishes a count %s = %s below the threshold: %v", header[i], rec[i], rec)
			}
		}
	}
}

// TestComplianceLongPeriodInParts: a period of more than a year is read in
// parts (by case) and merged; the figures must be those of the fixed
// history. June 2025 to July 2026, as of 10 April 2026:
// preliminary_decision C1 on time (72 h), C2 late (264 h), C3 open, C4 on
// time (74 h), C5 on time (144 h, 2025 version), C7 pending: median of
// 72, 74, 144, 264 = 109, p90 = 144 + 0.7 × 120 = 228; conclusive_decision
// C5 on time, C1 and C2 pending (due in June).
func TestComplianceLongPeriodInParts(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	p, err := svc.Period("2025-06", "2026-07")
	if err != nil {
		t.Fatal(err)
	}
	if complianceParts < 2 {
		t.Fatalf("complianceParts = %d", complianceParts)
	}
	rep, err := svc.Compliance(context.Background(), ComplianceQuery{Period: p})
	if err != nil {
		t.Fatal(err)
	}
	pd := findTable(t, rep.Tables, "compliance/preliminary_decision/sop_version")
	expectRow(t, pd, "total", "due=6 met_on_time=3 met_late=1 breached_open=1 pending=1 share_on_time=0.6 median_hours=109 p90_hours=228")
	expectRow(t, pd, "2025.1-synthetic", "due=1 met_on_time=1 median_hours=144")
	expectRow(t, pd, "2026.1", "due=5 met_on_time=2 met_late=1 breached_open=1 pending=1")
	expectRow(t, findTable(t, rep.Tables, "compliance/preliminary_decision/region"), "lebap", "due=4 met_on_time=3 met_late=1")
	cd := findTable(t, rep.Tables, "compliance/conclusive_decision/region")
	expectRow(t, cd, "total", "due=3 met_on_time=1 pending=2 median_hours=2616")
	ra := findTable(t, rep.Tables, "compliance/referral_answer/agency")
	expectRow(t, ra, "total", "due=3 met_on_time=2 breached_open=1")
}
