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

	"github.com/google/uuid"
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
	attackTables(t, rep.Tables, 5)
	checkWithheldAreNull(t, rep.Tables)
	pd := findTable(t, rep.Tables, "compliance/preliminary_decision/region")
	expectRow(t, pd, "total", "due=null met_on_time=null pending=0 share_on_time=null median_hours=null")
	var reasons []string
	for _, s := range pd.Suppressed {
		reasons = append(reasons, s.Row+"/"+s.Column+": "+s.Reason)
	}
	joined := strings.Join(reasons, "\n")
	// The times go with the withheld counts of their row (they count the
	// same instances): "fewer than 5 instances" would bound them.
	for _, want := range []string{"total/due: withheld: below 5, or protects a withheld count",
		"total/share_on_time: derived: computed from a suppressed cell",
		"total/median_hours: derived: computed from a suppressed cell"} {
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

// complianceAnswers asks the compliance report filtered to each value.
func complianceAnswers(t *testing.T, svc *Service, p Period, dim string, values ...string) []filteredAnswer {
	t.Helper()
	var out []filteredAnswer
	for _, v := range values {
		q := ComplianceQuery{Period: p}
		switch dim {
		case "region":
			q.Region = v
		case "agency":
			q.Agency = v
		case "sop_version":
			q.SOPVersion = v
		}
		rep, err := svc.Compliance(context.Background(), q)
		if err != nil {
			t.Fatalf("compliance by %s %s: %v", dim, v, err)
		}
		out = append(out, filteredAnswer{dim: dim, val: v, tables: rep.Tables})
	}
	return out
}

// TestComplianceDifferencing asks the fixed history's compliance report
// unfiltered and filtered to every region, agency and SOP version, at the
// default threshold, and attacks all the answers together (the answer for
// region r shows agency a's row that the answer for agency a shows as
// region r's: the same count). A report filtered two ways at once is
// refused: it would publish cells of a finer cube than the one protected.
func TestComplianceDifferencing(t *testing.T) {
	f := newFixture(t)
	svc := f.service(0)
	ctx := context.Background()
	for _, span := range [][2]string{{"2026-03", "2026-03"}, {"2025-06", "2026-07"}} {
		p, _ := svc.Period(span[0], span[1])
		rep, err := svc.Compliance(ctx, ComplianceQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		var answers []filteredAnswer
		answers = append(answers, complianceAnswers(t, svc, p, "region", "ashgabat", "dashoguz", "lebap", "mary")...)
		answers = append(answers, complianceAnswers(t, svc, p, "sop_version", "2025.1-synthetic", "2026.1")...)
		var agencies []string
		for _, id := range []uuid.UUID{f.police, f.dpolice, f.authority, f.shelter, f.clinic, f.clin2} {
			agencies = append(agencies, id.String())
		}
		answers = append(answers, complianceAnswers(t, svc, p, "agency", agencies...)...)
		for _, a := range answers {
			attackTables(t, a.tables, 5)
		}
		attackAnswers(t, 5, rep.Tables, answers, true)
	}

	march, _ := svc.Period("2026-03", "2026-03")
	var ie *InputError
	_, err := svc.Compliance(ctx, ComplianceQuery{Period: march, Region: "lebap", Agency: f.police.String()})
	if !errors.As(err, &ie) || ie.Rule != "one_filter" {
		t.Errorf("region and agency at once: %v, want an input error", err)
	}
	_, err = svc.Compliance(ctx, ComplianceQuery{Period: march, Region: "lebap", SOPVersion: "2026.1", Obligation: "referral_answer"})
	if !errors.As(err, &ie) || ie.Rule != "one_filter" {
		t.Errorf("region and version at once: %v, want an input error", err)
	}
	if _, err := svc.Compliance(ctx, ComplianceQuery{Period: march, Region: "lebap", Obligation: "referral_answer"}); err != nil {
		t.Errorf("a filter and an obligation: %v", err)
	}
}

// TestComplianceSameAgencyNames: an agency named "unassigned" and the
// instances no agency owns are two rows, told apart by the agency's ID
// wherever a row is named (the withheld cells, the audit, which would
// otherwise read them as one count with two values and refuse).
func TestComplianceSameAgencyNames(t *testing.T) {
	f := newFixture(t)
	f.exec(`UPDATE agencies SET name = 'unassigned' WHERE id = $1`, f.clinic)
	c := uuid.New()
	f.kase(caseSpec{id: c, version: "2026.1", region: "lebap", sex: "male", band: "31-38", citizenship: "TM",
		agency: f.police, opened: f.at("2026-03-09 10:00")})
	f.obligation(c, obl{obligation: "preliminary_decision", version: "2026.1", role: "competent_authority",
		starts: f.at("2026-03-09 10:00"), due: f.at("2026-03-17 00:00"), status: "breached", breached: ptr(f.at("2026-03-17 00:00"))})
	f.obligation(c, obl{id: "case-x/referral_answer/1", obligation: "referral_answer", version: "2026.1", role: "service_provider",
		starts: f.at("2026-03-09 12:00"), due: f.at("2026-03-09 16:00"), status: "breached", breached: ptr(f.at("2026-03-09 16:00"))})
	for _, threshold := range []int{1, 5} {
		svc := f.service(threshold)
		march, _ := svc.Period("2026-03", "2026-03")
		rep, err := svc.Compliance(context.Background(), ComplianceQuery{Period: march})
		if err != nil {
			t.Fatal(err)
		}
		attackTables(t, rep.Tables, threshold)
		ra := findTable(t, rep.Tables, "compliance/referral_answer/agency")
		names := map[string]bool{}
		for _, r := range ra.Rows {
			names[rowName(ra, r)] = true
		}
		if !names["unassigned ("+f.clinic.String()+")"] || !names["unassigned ()"] {
			t.Errorf("rows %v, want the clinic and the unassigned instances apart", names)
		}
	}
}
