package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
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
	attackTables(t, rep.Tables, 5)
	checkWithheldAreNull(t, rep.Tables)
	// The total of 5 opened cases was published before filtered answers
	// were protected with this one: the answer for Lebap lists four age
	// bands (each a withheld count, so at least 1), so Lebap has at least
	// 4 of the 5 cases and Dashoguz, the only other region, exactly 1.
	// Nothing but the total is left to withhold in that relation.
	expectRow(t, findTable(t, rep.Tables, "cases/region"), "total", "opened=null presumed=null")
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
			if rec[5] != "" || rec[6] != "withheld: below 5, or protects a withheld count" {
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

// sevenCases is the probe's history: seven cases opened in March 2026,
// five in Lebap, one in Ashgabat, one in Dashoguz, none elsewhere.
func sevenCases(t *testing.T) *fixture {
	f := newBareFixture(t)
	for i, c := range []struct {
		region, sex, band, citizenship, exploitation string
		agency                                       uuid.UUID
	}{
		{"lebap", "female", "21-23", "TM", "labour", f.police},
		{"lebap", "female", "24-26", "TM", "labour", f.police},
		{"lebap", "male", "31-38", "UZ", "sexual", f.police},
		{"lebap", "female", "18-20", "TM", "labour", f.police},
		{"lebap", "male", "27-30", "TM", "labour", f.police},
		{"ashgabat", "female", "18-20", "TM", "sexual", f.authority},
		{"dashoguz", "male", "39-47", "TM", "labour", f.dpolice},
	} {
		f.kase(caseSpec{id: uuid.New(), version: "2026.1", region: c.region, sex: c.sex, band: c.band,
			citizenship: c.citizenship, exploitation: []string{c.exploitation}, agency: c.agency,
			opened: f.at(fmt.Sprintf("2026-03-%02d 10:00", 2+3*i))})
	}
	return f
}

// regionAnswers asks the statistics of every region named.
func regionAnswers(t *testing.T, svc *Service, p Period, regions ...string) []filteredAnswer {
	t.Helper()
	var out []filteredAnswer
	for _, r := range regions {
		rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: p, Region: r})
		if err != nil {
			t.Fatalf("statistics of %s: %v", r, err)
		}
		out = append(out, filteredAnswer{dim: "region", val: r, tables: rep.Tables})
	}
	return out
}

// TestStatisticsSevenCaseAttack replays the probe's attack on the real
// statistics: 7 cases, 5 in Lebap, 1 in Ashgabat, 1 in Dashoguz. Before,
// the answer published the total 7 and Lebap 5 and withheld the other two
// regions: each at least 1 and together 2, so each exactly 1, and the
// other tables then described those two people. Now no answer, nor the
// unfiltered and every regional answer taken together, bounds a withheld
// count to fewer than 4 values.
func TestStatisticsSevenCaseAttack(t *testing.T) {
	f := sevenCases(t)
	svc := f.service(0) // the default threshold, 5
	march, _ := svc.Period("2026-03", "2026-03")
	rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	region := findTable(t, rep.Tables, "cases/region")
	expectRow(t, region, "ashgabat", "opened=null")
	expectRow(t, region, "dashoguz", "opened=null")
	total, lebap := region.Total.Get(region, "opened"), region.Row("lebap").Get(region, "opened")
	if total.Valid && lebap.Valid {
		t.Errorf("total %v and Lebap %v both published: Ashgabat + Dashoguz = %v, each at least 1", total, lebap, total.V-lebap.V)
	}
	attackTables(t, rep.Tables, 5)
	checkWithheldAreNull(t, rep.Tables)

	regions := regionAnswers(t, svc, march, "ahal", "ashgabat", "balkan", "dashoguz", "lebap", "mary")
	for _, a := range regions {
		attackTables(t, a.tables, 5)
		// The filtered total against the unfiltered one.
		ft := findTable(t, a.tables, "cases/region")
		if ftotal := ft.Total.Get(ft, "opened"); a.val == "lebap" && ftotal.Valid && total.Valid {
			t.Errorf("Lebap's answer publishes its total %v beside the unfiltered %v: the rest is %v", ftotal, total, total.V-ftotal.V)
		}
	}
	k := attackAnswers(t, 5, rep.Tables, regions, true)
	for _, r := range []string{"ashgabat", "dashoguz"} {
		if lo, hi := k.interval(t, "all/cases/region/"+r+"/opened"); hi-lo+1 < 4 {
			t.Errorf("%s opened bounded to [%v, %v] by all the answers", r, lo, hi)
		}
	}
	// Differencing two answers at a time, and one against the unfiltered.
	for i := range regions {
		attackAnswers(t, 5, rep.Tables, regions[i:i+1], false)
		for j := i + 1; j < len(regions); j++ {
			attackAnswers(t, 5, rep.Tables, []filteredAnswer{regions[i], regions[j]}, false)
		}
	}
}

// TestStatisticsDifferencing asks the fixed history's statistics without a
// filter and for every region, at the default threshold, over March and
// over the whole history, and attacks them together: what the unfiltered
// answer withholds must not follow from the regional ones, nor the reverse.
func TestStatisticsDifferencing(t *testing.T) {
	f := newFixture(t)
	svc := f.service(0)
	for _, span := range [][2]string{{"2026-03", "2026-03"}, {"2025-11", "2026-04"}} {
		p, _ := svc.Period(span[0], span[1])
		rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: p})
		if err != nil {
			t.Fatal(err)
		}
		regions := regionAnswers(t, svc, p, "ashgabat", "dashoguz", "lebap", "mary")
		attackAnswers(t, 5, rep.Tables, regions, true)
		for i := range regions {
			for j := i + 1; j < len(regions); j++ {
				attackAnswers(t, 5, rep.Tables, []filteredAnswer{regions[i], regions[j]}, false)
			}
		}
		// Every answer is a slice of one pattern: a count the unfiltered
		// answer withholds is withheld where a regional answer shows it.
		region := findTable(t, rep.Tables, "cases/region")
		for _, a := range regions {
			row := region.Row(a.val)
			ft := findTable(t, a.tables, "cases/region")
			for _, c := range caseMeasures {
				if row != nil && row.Get(region, c).Valid != ft.Total.Get(ft, c).Valid {
					t.Errorf("%s %s: %v unfiltered, %v as the region's total", a.val, c, row.Get(region, c), ft.Total.Get(ft, c))
				}
			}
		}
	}
}

// TestStatisticsDifferencingRegionBySex: 43 cases, 20 in Lebap (12 women),
// 13 in Dashoguz (3 women), 10 in Mary (no women). Every unfiltered count
// is large and published; Dashoguz's answer must withhold its 3 women.
// Protected on its own, that answer would withhold them and their
// complement, and the unfiltered 15 women minus Lebap's 12 and Mary's 0
// would give them back. In one cube they stay ambiguous.
func TestStatisticsDifferencingRegionBySex(t *testing.T) {
	f := newBareFixture(t)
	n := 0
	for _, c := range []struct {
		region     string
		women, men int
		agency     uuid.UUID
	}{{"lebap", 12, 8, f.police}, {"dashoguz", 3, 10, f.dpolice}, {"mary", 0, 10, f.police}} {
		for i := range c.women + c.men {
			sex := "male"
			if i < c.women {
				sex = "female"
			}
			n++
			f.kase(caseSpec{id: uuid.New(), version: "2026.1", region: c.region, sex: sex, band: "21-23", citizenship: "TM",
				exploitation: []string{"labour"}, agency: c.agency, opened: f.at(fmt.Sprintf("2026-03-%02d 10:00", 1+n%28))})
		}
	}
	svc := f.service(0)
	march, _ := svc.Period("2026-03", "2026-03")
	rep, err := svc.Statistics(context.Background(), StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	regions := regionAnswers(t, svc, march, "dashoguz", "lebap", "mary")
	expectRow(t, findTable(t, regions[0].tables, "cases/sex"), "female", "opened=null")
	expectRow(t, findTable(t, rep.Tables, "cases/region"), "total", "opened=43")
	attackTables(t, rep.Tables, 5)
	k := attackAnswers(t, 5, rep.Tables, regions, true)
	if lo, hi := k.interval(t, "region=dashoguz/cases/sex/female/opened"); hi-lo+1 < 4 {
		t.Errorf("Dashoguz's women bounded to [%v, %v]", lo, hi)
	}
}

// TestScreeningsClosedAtOnceCountApart: a screening that did not indicate
// trafficking and that no officer forwarded opens and closes at once; it is
// counted as screened_not_opened, never as an opened or a closed case, so
// that probes of the duplicate check do not pass for cases.
func TestScreeningsClosedAtOnceCountApart(t *testing.T) {
	f := newBareFixture(t)
	closed := f.at("2026-03-10 10:00")
	for i := range 3 {
		f.kase(caseSpec{id: uuid.New(), version: "2026.1", region: "lebap", sex: "female", band: "18-20", citizenship: "TM",
			agency: f.police, opened: f.at(fmt.Sprintf("2026-03-%02d 10:00", 2+i))})
	}
	for i := range 2 {
		f.kase(caseSpec{id: uuid.New(), version: "2026.1", region: "lebap", sex: "female", band: "18-20", citizenship: "TM",
			agency: f.police, outcome: "not_indicated", stage: "closed", closed: &closed, reason: "not_identified",
			opened: f.at(fmt.Sprintf("2026-03-%02d 10:00", 10+i))})
	}
	rep, err := f.service(1).Statistics(context.Background(), StatisticsQuery{Period: mustPeriod(t, f, "2026-03")})
	if err != nil {
		t.Fatal(err)
	}
	expectRow(t, findTable(t, rep.Tables, "cases/region"), "total", "opened=3 presumed=3 officer_concern_forwards=0 closed=0 screened_not_opened=2")
	expectRow(t, findTable(t, rep.Tables, "cases/month"), "2026-03", "opened=3 screened_not_opened=2")
	if reasons := findTable(t, rep.Tables, "cases/closure_reason"); reasons.Row("not_identified") != nil {
		t.Errorf("screenings that closed at once are counted as closures: %+v", reasons.Row("not_identified"))
	}
}

func mustPeriod(t *testing.T, f *fixture, month string) Period {
	t.Helper()
	p, err := f.service(1).Period(month, month)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
