package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// htcdsPicklists reads the picklist values of HTCDS 2.0 from the copy of
// field-standards-2.0.csv in testdata (CC BY 4.0, see its README), by field name.
func htcdsPicklists(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "htcds", "field-standards-2.0.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, rec := range recs {
		if len(rec) < 7 || rec[6] == "" {
			continue
		}
		vals := []string{}
		if len(rec) > 9 {
			for _, v := range strings.Split(rec[9], "\n") {
				if v = strings.TrimSpace(v); v != "" {
					vals = append(vals, v)
				}
			}
		}
		out[rec[6]] = vals
	}
	return out
}

// TestExportHTCDSFields checks the export's HTCDS shape on the fixed
// history: real field names and picklist values, ISO codes, the licence's
// attribution, and no identity.
func TestExportHTCDSFields(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	svc.K = 1
	march, _ := svc.Period("2026-03", "2026-03")
	x, err := svc.HTCDS(context.Background(), ExportQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if x.Cases.V != 5 || len(x.Records) != 5 || x.Suppressed != (Value{V: 0, Valid: true}) || x.Generalisation.Level != 0 {
		t.Fatalf("cases %v records %d suppressed %v level %d", x.Cases, len(x.Records), x.Suppressed, x.Generalisation.Level)
	}
	picklists := htcdsPicklists(t)
	for _, fld := range ExportFields {
		_, known := picklists[fld.Name]
		if fld.Standard != known {
			t.Errorf("field %s: htcds=%v but the standard %s it", fld.Name, fld.Standard, map[bool]string{true: "has", false: "lacks"}[known])
		}
	}
	in := func(field, v string) {
		t.Helper()
		if !slices.Contains(picklists[field], v) {
			t.Errorf("%s value %q is not in the HTCDS picklist %v", field, v, picklists[field])
		}
	}
	for _, r := range x.Records {
		in(FieldGender, r.Gender)
		in(FieldStatus, r.Status)
		in(FieldCaseStatus, r.CaseStatus)
		for _, e := range r.Exploitation {
			in(FieldExploitation, e)
		}
		for _, c := range r.Citizenship {
			if len(c) != 2 || strings.ToUpper(c) != c {
				t.Errorf("citizenship %q is not ISO 3166 alpha-2", c)
			}
		}
		if r.Period != "2026-03" || !strings.HasPrefix(r.Area, "TM-") {
			t.Errorf("period %q area %q", r.Period, r.Area)
		}
	}
	// C8: forwarded on concern, consent withdrawn, closed.
	want := Record{Period: "2026-03", Area: "TM-L", Gender: "Masculine", AgeBand: "27-30", Citizenship: []string{"TM"},
		Status: "PossibleVictimOfTrafficking", Exploitation: []string{}, CaseStatus: "Closed", ClosureReason: "consent_withdrawn",
		Location: []string{}, Countries: []string{}}
	found := false
	for _, r := range x.Records {
		if r.AgeBand == "27-30" {
			found = true
			a, _ := json.Marshal(r)
			b, _ := json.Marshal(want)
			if string(a) != string(b) {
				t.Errorf("C8 record\n got %s\nwant %s", a, b)
			}
		}
	}
	if !found {
		t.Error("no record of C8")
	}
	data, _ := json.Marshal(x)
	for _, bad := range []string{f.police.String(), "case-", "T-", "narrative", "given_name"} {
		if strings.Contains(string(data), bad) {
			t.Errorf("export contains %q", bad)
		}
	}
	if !strings.Contains(x.Attribution, "HTCDS") || !strings.Contains(x.Attribution, "IOM") || !strings.Contains(x.Attribution, "CC BY 4.0") {
		t.Errorf("attribution %q", x.Attribution)
	}
	var buf bytes.Buffer
	if err := x.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "# Human Trafficking Case Data Standard (HTCDS) by IOM, licensed under CC BY 4.0") {
		t.Errorf("CSV starts %q", buf.String()[:80])
	}
	r := csv.NewReader(&buf)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "nrm_RegistrationPeriod,nrm_RegistrationArea,prs_Gender,nrm_AgeBandAtRegistration,prs_Citizenship,vic_TraffickingStatus,vic_TypeOfExploitation,cas_Status,cas_ReasonForCaseClosure,vic_LocationOfExploitation,hte_Country" || len(recs) != 6 {
		t.Errorf("CSV %v", recs)
	}
}

// TestExportKAnonymousSmall: with k = 2 the five March cases are all
// unique until the ladder's end (year, country, child/adult), where C1 and
// C3 (women, TM, 18+) form the only class of two; the other three are
// suppressed and counted.
func TestExportKAnonymousSmall(t *testing.T) {
	f := newFixture(t)
	svc := f.service(1)
	svc.K = 2
	march, _ := svc.Period("2026-03", "2026-03")
	x, err := svc.HTCDS(context.Background(), ExportQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	if x.Generalisation.Level != 4 || x.Suppressed.V != 3 || len(x.Records) != 2 {
		t.Fatalf("level %d suppressed %v records %d", x.Generalisation.Level, x.Suppressed, len(x.Records))
	}
	for _, r := range x.Records {
		if r.Period != "2026" || r.Area != "TM" || r.AgeBand != "18+" || r.Gender != "Feminine" {
			t.Errorf("record %+v", r)
		}
	}
	CheckKAnonymous(t, x)
}

// CheckKAnonymous fails unless every combination of the export's
// quasi-identifiers occurs at least K times.
func CheckKAnonymous(t testing.TB, x *HTCDSExport) {
	t.Helper()
	n := map[string]int{}
	for _, r := range x.Records {
		n[r.quasi()]++
	}
	for q, c := range n {
		if c < x.K {
			t.Errorf("quasi-identifiers %q occur %d times, fewer than k = %d", strings.ReplaceAll(q, "\x00", " | "), c, x.K)
		}
	}
	if x.Cases.Valid != x.Suppressed.Valid || x.Cases.Valid && float64(len(x.Records))+x.Suppressed.V != x.Cases.V {
		t.Errorf("records %d + suppressed %v != cases %v", len(x.Records), x.Suppressed, x.Cases)
	}
}

// TestExportCountsFollowStatistics: the export's number of cases is the
// statistics' count of cases opened; where the statistics withhold it
// (Dashoguz's single March case, at the default threshold), the export
// does not state it either, nor the records it suppressed.
func TestExportCountsFollowStatistics(t *testing.T) {
	f := newFixture(t)
	svc := f.service(0)
	march, _ := svc.Period("2026-03", "2026-03")
	x, err := svc.HTCDS(context.Background(), ExportQuery{Period: march, Region: "dashoguz"})
	if err != nil {
		t.Fatal(err)
	}
	if x.Cases.Valid || x.Suppressed.Valid || len(x.Records) != 0 {
		t.Errorf("Dashoguz: cases %v, suppressed %v, %d records; want both withheld and no record", x.Cases, x.Suppressed, len(x.Records))
	}
	data, _ := json.Marshal(x)
	if !strings.Contains(string(data), `"cases":null`) || !strings.Contains(string(data), `"suppressed_records":null`) {
		t.Errorf("JSON: %s", data)
	}
	CheckKAnonymous(t, x)
	var buf bytes.Buffer
	if err := x.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "of 1 records") {
		t.Errorf("CSV states the count:\n%s", buf.String())
	}
}
