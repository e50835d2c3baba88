package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// formulaNames start with every character a spreadsheet may read as the
// start of a formula (OWASP, CSV Injection).
var formulaNames = []string{`=HYPERLINK("http://x","y")`, "@SUM(A1:A9)", "+1+2", "-1+2", "\tTabbed agency", "\rCarriage agency"}

// readCSV parses a report's CSV, skipping its # comment lines.
func readCSV(t *testing.T, data string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return recs
}

// checkNeutralised fails unless every name appears as a cell, quoted by a
// leading ', and never bare.
func checkNeutralised(t *testing.T, recs [][]string, names []string) {
	t.Helper()
	cells := map[string]bool{}
	for _, rec := range recs {
		for _, c := range rec {
			cells[c] = true
		}
	}
	for _, n := range names {
		if !cells["'"+n] {
			t.Errorf("no cell %q", "'"+n)
		}
		if cells[n] {
			t.Errorf("a cell begins with %q: a spreadsheet would run it", n[:1])
		}
	}
}

// TestCSVFormulaInjection: text cells from data (row keys, attributes)
// that begin with =, +, -, @, a tab or a carriage return get a leading ',
// in the wide and the long CSV; numbers the report writes, negative ones
// included, stay as they are; a comment cannot start a line of its own.
func TestCSVFormulaInjection(t *testing.T) {
	p := newProtector(1)
	tb := &Table{ID: "t", Group: "g", Dimension: "agency", Columns: []Column{{Name: "n", Kind: KindCount}, {Name: "h", Kind: KindHours}}}
	tb.Total = newRow("")
	tb.Total.counts["n"] = p.cell(int64(len(formulaNames)))
	for _, name := range formulaNames {
		r := newRow(name, Attr{"agency_type", name})
		r.counts["n"] = p.cell(1)
		r.hours["h"] = hoursVal{v: -3, ok: true, n: 1}
		tb.Rows = append(tb.Rows, r)
	}
	if err := protectTables(p, []*Table{tb}); err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"wide": func(b *bytes.Buffer) error { return writeWideCSV(b, []*Table{tb}, "report\n=1+1") },
		"long": func(b *bytes.Buffer) error { return writeLongCSV(b, []*Table{tb}, "report\r\n@cmd") },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		recs := readCSV(t, buf.String())
		checkNeutralised(t, recs, formulaNames)
		var hours []string
		for _, rec := range recs {
			for _, c := range rec {
				if strings.HasPrefix(c, "-3") || strings.HasPrefix(c, "'-3") {
					hours = append(hours, c)
				}
			}
		}
		if len(hours) != len(formulaNames) || slices.ContainsFunc(hours, func(c string) bool { return c != "-3" }) {
			t.Errorf("%s: the numbers -3 are written %q, want -3 unquoted", name, hours)
		}
		for _, line := range strings.Split(buf.String(), "\n") {
			if strings.HasPrefix(line, "=") || strings.HasPrefix(line, "@") {
				t.Errorf("%s: a comment broke onto a line of its own: %q", name, line)
			}
		}
	}
}

// TestCSVFormulaInjectionReports: agencies named like formulas, in the
// CSV of the compliance report (wide) and of the statistics (long).
func TestCSVFormulaInjectionReports(t *testing.T) {
	f := newFixture(t)
	for i, id := range []uuid.UUID{f.authority, f.police, f.shelter, f.clinic, f.clin2, f.dpolice} {
		f.exec(`UPDATE agencies SET name = $1 WHERE id = $2`, formulaNames[i], id)
	}
	// Dashoguz police owns nothing in the fixed history: one instance more.
	dp := f.dpolice
	c3 := uuid.New()
	f.kase(caseSpec{id: c3, version: "2026.1", region: "dashoguz", sex: "female", band: "18-20", citizenship: "TM",
		agency: f.dpolice, opened: f.at("2026-03-10 10:00")})
	f.obligation(c3, obl{obligation: "child_protection_notified", version: "2026.1", role: "opening_agency", owner: &dp,
		starts: f.at("2026-03-10 10:00"), due: f.at("2026-03-11 10:00"), status: "met", met: ptr(f.at("2026-03-10 12:00"))})
	svc := f.service(1)
	march, _ := svc.Period("2026-03", "2026-03")
	ctx := context.Background()
	comp, err := svc.Compliance(ctx, ComplianceQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := comp.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	checkNeutralised(t, readCSV(t, buf.String()), formulaNames)

	stats, err := svc.Statistics(ctx, StatisticsQuery{Period: march})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := stats.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	// The referral attempts went to the shelter and the two clinics.
	checkNeutralised(t, readCSV(t, buf.String()), formulaNames[2:5])
}

// TestCSVFormulaInjectionExport: every field of the HTCDS export's CSV is
// text from the case record and is neutralised the same way.
func TestCSVFormulaInjectionExport(t *testing.T) {
	x := &HTCDSExport{Attribution: HTCDSAttribution, QuasiIdentifiers: QuasiIdentifiers, Generalisation: Generalisation{Steps: []string{}}}
	x.Records = []Record{{Period: formulaNames[0], Area: formulaNames[1], Gender: formulaNames[2], AgeBand: formulaNames[3],
		Citizenship: []string{formulaNames[4]}, Status: formulaNames[5], Exploitation: []string{"=A", "ForcedLabour"},
		CaseStatus: "+Active", ClosureReason: "-x"}}
	var buf bytes.Buffer
	if err := x.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, buf.String())
	checkNeutralised(t, recs, append(slices.Clone(formulaNames), "=A;ForcedLabour", "+Active", "-x"))
	if !strings.Contains(buf.String(), "a withheld number of records suppressed") {
		t.Errorf("CSV comment without counts:\n%s", buf.String())
	}
}
