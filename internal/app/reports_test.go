package app_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// reportTable is the JSON shape of one protected table of a report.
type reportTable struct {
	ID         string           `json:"id"`
	Dimension  string           `json:"dimension"`
	Rows       []map[string]any `json:"rows"`
	Total      map[string]any   `json:"total"`
	Suppressed []struct {
		Row, Column, Reason string
	} `json:"suppressed"`
}

func findTable(t *testing.T, tables []reportTable, id string) reportTable {
	t.Helper()
	for _, tb := range tables {
		if tb.ID == id {
			return tb
		}
	}
	t.Fatalf("no table %s", id)
	return reportTable{}
}

// TestReportsOverHTTP: the TWG reads the compliance report, the statistics,
// the simulation and the HTCDS export of cases opened through the API, as
// JSON and CSV; what it reads names no case; bad parameters are 422s.
func TestReportsOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	twg := anon.Login(t, "twg@twg.example")

	// Six cases: one over the suppression threshold of 5, so the totals show.
	const opened = 6
	var numbers, ids []string
	for range opened {
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		numbers, ids = append(numbers, c.Number), append(ids, c.ID)
	}

	var stats struct {
		Threshold int           `json:"suppression_threshold"`
		Tables    []reportTable `json:"tables"`
	}
	resp := twg.Raw(t, "GET", "/api/v1/reports/statistics", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	mustStatus(t, "statistics", resp.StatusCode, http.StatusOK)
	for _, secret := range append(numbers, ids...) {
		if strings.Contains(string(body), secret) {
			t.Fatalf("the statistics name case %s", secret)
		}
	}
	decodeJSON(t, &http.Response{Body: io.NopCloser(strings.NewReader(string(body)))}, &stats)
	if stats.Threshold != 5 {
		t.Errorf("suppression threshold %d, want the default 5", stats.Threshold)
	}
	byRegion := findTable(t, stats.Tables, "cases/region")
	if got := byRegion.Total["opened"]; got != float64(opened) {
		t.Errorf("cases opened in total: %v, want %d", got, opened)
	}
	var lebap map[string]any
	for _, r := range byRegion.Rows {
		if r["region"] == "lebap" {
			lebap = r
		}
	}
	if lebap == nil || lebap["opened"] != float64(opened) {
		t.Errorf("Lebap row %v, want %d opened", lebap, opened)
	}

	var comp struct {
		Tables []reportTable `json:"tables"`
	}
	mustStatus(t, "compliance", twg.Do(t, "GET", "/api/v1/reports/compliance", nil, &comp), http.StatusOK)
	// Every deadline of the SOP has its tables, even with nothing due yet.
	for _, o := range sys.SOPs.All()[0].Obligations {
		if o.Kind == sop.KindProtected {
			continue
		}
		if tb := findTable(t, comp.Tables, "compliance/"+o.ID+"/region"); tb.Total == nil {
			t.Errorf("obligation %s: no total", o.ID)
		}
	}

	// CSV, in long form after # comment lines: the same total.
	resp = twg.Raw(t, "GET", "/api/v1/reports/statistics?format=csv", nil, nil)
	r := csv.NewReader(resp.Body)
	r.Comment = '#'
	rows, err := r.ReadAll()
	resp.Body.Close()
	mustStatus(t, "statistics csv", resp.StatusCode, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("CSV content type %q", ct)
	}
	if err != nil || len(rows) < 2 || strings.Join(rows[0], ",") != "group,table,dimension,key,measure,value,suppressed" {
		t.Fatalf("CSV: %d rows, %v", len(rows), err)
	}
	var csvTotal string
	for _, row := range rows {
		if row[1] == "cases/region" && row[3] == "total" && row[4] == "opened" {
			csvTotal = row[5]
		}
	}
	if csvTotal != itoa(opened) {
		t.Errorf("CSV total opened %q, want %d", csvTotal, opened)
	}

	// The export: six cases cannot be 11-anonymous, so no record is released.
	var x struct {
		Attribution string           `json:"attribution"`
		K           int              `json:"k"`
		Cases       int              `json:"cases"`
		Suppressed  int              `json:"suppressed_records"`
		Records     []map[string]any `json:"records"`
	}
	resp = twg.Raw(t, "GET", "/api/v1/exports/htcds", nil, nil)
	decodeJSON(t, resp, &x)
	mustStatus(t, "export", resp.StatusCode, http.StatusOK)
	if x.K != 11 || x.Cases != opened || x.Suppressed != opened || len(x.Records) != 0 {
		t.Errorf("export k %d cases %d suppressed %d records %d, want 11 %d %d 0", x.K, x.Cases, x.Suppressed, len(x.Records), opened, opened)
	}
	if !strings.Contains(x.Attribution, "CC BY 4.0") || !strings.Contains(resp.Header.Get("Link"), "creativecommons.org/licenses/by/4.0") {
		t.Errorf("attribution %q, Link %q", x.Attribution, resp.Header.Get("Link"))
	}

	// The simulation against a loaded version.
	version := sys.SOPs.All()[0].Version
	var sim struct {
		Candidate string       `json:"candidate"`
		Cases     int          `json:"cases"`
		Table     *reportTable `json:"table"`
	}
	mustStatus(t, "simulate", twg.Do(t, "GET", "/api/v1/reports/simulate?sop_version="+version, nil, &sim), http.StatusOK)
	if sim.Candidate != version || sim.Table == nil {
		t.Errorf("simulation %+v", sim)
	}

	for _, bad := range []struct{ path, field string }{
		{"/api/v1/reports/statistics?from=2026-13", "from"},
		{"/api/v1/reports/compliance?format=xml", "format"},
		{"/api/v1/reports/compliance?from=2026-06&to=2026-01", "from"},
		{"/api/v1/reports/compliance?obligation=no-such-obligation", "obligation"},
		{"/api/v1/reports/simulate?sop_version=no-such-version", "sop_version"},
	} {
		var p problem
		st := twg.Do(t, "GET", bad.path, nil, &p)
		if st != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
			t.Errorf("%s: %d %+v, want 422", bad.path, st, p)
			continue
		}
		if p.Errors[0].Field != bad.field {
			t.Errorf("%s: error on %q, want %q", bad.path, p.Errors[0].Field, bad.field)
		}
	}
}
