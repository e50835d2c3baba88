package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
)

// TestStatisticsHandComputed checks the March 2026 statistics of the fixed
// history (threshold 1: nothing withheld).
//
// Opened in March: C1, C2, C3, C4, C8 (5); presumed: all but C8 (4); C8 was
// forwarded on an officer's concern (1). Positive preliminary decisions in
// March: C1, C2 (C4's is in April, C5's in December); positive conclusive:
// C5. Closed in March: C8 (consent withdrawn).
func TestStatisticsHandComputed(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	march, _ := svc.Period("2026-03", "2026-03")
	rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	region := findTable(t, rep.Tables, "cases/region")
	expectRow(t, region, "total", "opened=5 presumed=4 officer_concern_forwards=1 identified_preliminary=2 identified_conclusive=1 closed=1")
	expectRow(t, region, "lebap", "opened=4 presumed=3 officer_concern_forwards=1 identified_preliminary=2 identified_conclusive=1 closed=1")
	expectRow(t, region, "dashoguz", "opened=1 presumed=1 officer_concern_forwards=0 identified_preliminary=0 closed=0")
	expectRow(t, findTable(t, rep.Tables, "cases/month"), "2026-03", "opened=5 identified_preliminary=2 closed=1")
	sex := findTable(t, rep.Tables, "cases/sex")
	expectRow(t, sex, "female", "opened=3 presumed=3 identified_preliminary=1 identified_conclusive=1 closed=0")
	expectRow(t, sex, "male", "opened=2 presumed=1 officer_concern_forwards=1 identified_preliminary=1 closed=1")
	expectRow(t, findTable(t, rep.Tables, "cases/age_band"), "9-17", "opened=1 presumed=1")
	expectRow(t, findTable(t, rep.Tables, "cases/citizenship"), "UZ", "opened=1 identified_preliminary=1")
	expl := findTable(t, rep.Tables, "cases/exploitation")
	expectRow(t, expl, "labour", "opened=2 identified_preliminary=1 identified_conclusive=1")
	expectRow(t, expl, "sexual", "opened=1 identified_preliminary=1")
	expectRow(t, expl, "forced_begging", "opened=1")
	expectRow(t, expl, "not_recorded", "opened=1 officer_concern_forwards=1 closed=1")
	reasons := findTable(t, rep.Tables, "cases/closure_reason")
	expectRow(t, reasons, "consent_withdrawn", "closed=1")
	expectRow(t, reasons, "total", "closed=1")
	if len(reasons.Rows) != 1 {
		t.Errorf("closure reasons: %d rows", len(reasons.Rows))
	}

	// Referrals: R1 (shelter) accepted in 1 h; R2 (medical) expired with the
	// clinic, redirected, accepted by clinic 2 in 1 h.
	svcTable := findTable(t, rep.Tables, "referrals/service")
	expectRow(t, svcTable, "shelter", "sent=1 accepted=1 redirected=0 redirections=0 unrouted=0 acceptance_rate=1 median_answer_hours=1")
	expectRow(t, svcTable, "medical", "sent=1 accepted=1 redirected=1 redirections=1 unrouted=0 median_answer_hours=1")
	expectRow(t, svcTable, "total", "sent=2 accepted=2 redirected=1 redirections=1 acceptance_rate=1 p90_answer_hours=1")
	ag := findTable(t, rep.Tables, "referrals/agency")
	expectRow(t, ag, "Lebap clinic", "received=1 accepted=0 expired=1 acceptance_rate=0 median_answer_hours=null")
	expectRow(t, ag, "Ashgabat clinic", "received=1 accepted=1 acceptance_rate=1 median_answer_hours=1")
	expectRow(t, ag, "total", "received=3 accepted=2 declined=0 expired=1 withdrawn=0 open=0 acceptance_rate=0.6667")

	// Filtered to one region.
	rep, err = svc.Statistics(context.Background(), StatisticsQuery{Period: march, Region: "dashoguz"})
	if err != nil {
		t.Fatal(err)
	}
	expectRow(t, findTable(t, rep.Tables, "cases/region"), "total", "opened=1 presumed=1 closed=0")
	expectRow(t, findTable(t, rep.Tables, "referrals/service"), "total", "sent=0")
}

// TestStatisticsSuppressed: at the default threshold the small counts are
// withheld everywhere, nothing can be recomputed, and the CSV is empty
// where the JSON is null.
func TestStatisticsSuppressed(t *testing.T) {
	f := newFixture(t)
	svc := f.service(5)
	march, _ := svc.Period("2026-03", "2026-03")
	rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	attackTables(t, rep.Tables)
	checkWithheldAreNull(t, rep.Tables)
	expectRow(t, findTable(t, rep.Tables, "cases/region"), "total", "opened=5 presumed=null")
	var buf bytes.Buffer
	if err := rep.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(&buf)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "group,table,dimension,key,measure,value,suppressed" {
		t.Errorf("header %v", recs[0])
	}
	found := false
	for _, rec := range recs[1:] {
		if rec[1] == "cases/region" && rec[3] == "total" && rec[4] == "presumed" {
			found = true
			if rec[5] != "" || rec[6] != "primary: below 5" {
				t.Errorf("presumed total: %v", rec)
			}
		}
		if rec[4] != "sent" && rec[4] != "opened" && rec[4] != "received" && rec[5] != "" && rec[5] != "0" && !strings.Contains(rec[4], "rate") && !strings.Contains(rec[4], "hours") {
			t.Errorf("a count below 5 is published: %v", rec)
		}
	}
	if !found {
		t.Error("no presumed total in the CSV")
	}
}
