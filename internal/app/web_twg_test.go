package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/synthetic"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The TWG's pages on a small synthetic history: 400 cases from January
// 2025 to 20 March 2026, read over April 2025 – March 2026. Every deadline
// of that history fell due months before the tests run, so the reports do
// not change between the page and the API's answer.
const (
	twgFrom = "2025-04"
	twgTo   = "2026-03"
	// twgPeriod is the query of that period.
	twgPeriod = "from=" + twgFrom + "&to=" + twgTo
)

// startTWGSystem starts a system with the small synthetic history.
func startTWGSystem(t *testing.T) *app.System {
	t.Helper()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	_, err := synthetic.Seed(context.Background(), sys.Store, sys.SOPs, synthetic.Options{Cases: 400, Seed: 11,
		From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Now: time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)})
	testenv.Must(t, err)
	return sys
}

var (
	twgTableRE = regexp.MustCompile(`(?s)<table class="table twg-data[^"]*" id="([^"]+)">(.*?)</table>`)
	twgRowRE   = regexp.MustCompile(`(?s)<tr data-key="([^"]*)">(.*?)</tr>`)
	twgCellRE  = regexp.MustCompile(`data-column="([^"]+)" data-value="([^"]*)"`)
	twgHrefRE  = regexp.MustCompile(`href="([^"]+)"`)
)

// pageTables reads every figure table of a page: by table ID, row key and
// column, the value the cell carries (the API's number, "" for none,
// "suppressed" for a withheld one).
func pageTables(page string) map[string]map[string]map[string]string {
	out := map[string]map[string]map[string]string{}
	for _, tm := range twgTableRE.FindAllStringSubmatch(page, -1) {
		rows := map[string]map[string]string{}
		for _, rm := range twgRowRE.FindAllStringSubmatch(tm[2], -1) {
			cells := map[string]string{}
			for _, cm := range twgCellRE.FindAllStringSubmatch(rm[2], -1) {
				cells[cm[1]] = html.UnescapeString(cm[2])
			}
			rows[html.UnescapeString(rm[1])] = cells
		}
		out[tm[1]] = rows
	}
	return out
}

// apiNumber writes a report's JSON value as the page's data-value does.
func apiNumber(v any) (string, bool) {
	f, ok := v.(float64)
	if !ok {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// compareTable checks that the page's table shows exactly the API table's
// rows and values for cols: a null is "suppressed" where the API lists it
// as withheld (and always for counts), no value otherwise.
func compareTable(t *testing.T, what string, page map[string]map[string]string, api reportTable, cols []string, counts map[string]bool) {
	t.Helper()
	if page == nil {
		t.Errorf("%s: no such table on the page", what)
		return
	}
	withheld := map[[2]string]bool{}
	for _, s := range api.Suppressed {
		withheld[[2]string{s.Row, s.Column}] = true
	}
	rows := map[string]map[string]any{"total": api.Total}
	names := map[string]string{"total": "total"}
	for _, r := range api.Rows {
		key, _ := r[api.Dimension].(string)
		rows[key], names[key] = r, key
		if id, _ := r["agency_id"].(string); id != "" && withheldRow(api, key+" ("+id+")") {
			names[key] = key + " (" + id + ")"
		}
	}
	if len(page) != len(rows) {
		t.Errorf("%s: %d rows on the page, %d in the API's answer", what, len(page), len(rows))
	}
	for key, r := range rows {
		got, ok := page[key]
		if !ok {
			t.Errorf("%s: row %q is missing from the page", what, key)
			continue
		}
		for _, col := range cols {
			want, isNumber := apiNumber(r[col])
			switch {
			case isNumber:
			case withheld[[2]string{names[key], col}] || counts[col]:
				want = "suppressed"
			default:
				want = ""
			}
			if got[col] != want {
				t.Errorf("%s, row %q, %s: page %q, API %v (want %q)", what, key, col, got[col], r[col], want)
			}
		}
	}
}

func withheldRow(api reportTable, name string) bool {
	for _, s := range api.Suppressed {
		if s.Row == name {
			return true
		}
	}
	return false
}

var (
	complianceCols   = []string{"due", "met_on_time", "met_late", "breached_open", "pending", "share_on_time", "median_hours", "p90_hours"}
	complianceCounts = map[string]bool{"due": true, "met_on_time": true, "met_late": true, "breached_open": true, "pending": true}
	caseCols         = []string{"opened", "presumed", "identified_preliminary", "identified_conclusive", "closed"}
	serviceCols      = []string{"sent", "accepted", "redirected", "unrouted", "acceptance_rate", "median_answer_hours", "p90_answer_hours"}
	serviceCounts    = map[string]bool{"sent": true, "accepted": true, "redirected": true, "unrouted": true}
)

type apiReport struct {
	Threshold int           `json:"suppression_threshold"`
	Tables    []reportTable `json:"tables"`
}

func getReport(t *testing.T, c *testenv.Client, path string) apiReport {
	t.Helper()
	var rep apiReport
	mustStatus(t, path, c.Do(t, "GET", path, nil, &rep), http.StatusOK)
	return rep
}

// csvOf fetches a CSV through the page's session and reads it by row key
// and column, with its Content-Disposition.
func csvOf(t *testing.T, b *browser, href string) (map[string]map[string]string, string) {
	t.Helper()
	resp, body := b.do(t, "GET", href, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%s: %d %s", href, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := csv.NewReader(strings.NewReader(body))
	r.Comment = '#'
	recs, err := r.ReadAll()
	testenv.Must(t, err)
	out := map[string]map[string]string{}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, col := range recs[0][1:] {
			row[col] = rec[i+1]
		}
		out[rec[0]] = row
	}
	return out, resp.Header.Get("Content-Disposition")
}

// TestTWGDashboard: /twg shows the numbers the API's reports answer for the
// same filters — the compliance report by agency type, region, SOP version
// and agency, each month's report, the cases by month and the referrals by
// service —; withheld cells say "suppressed", in the tables and as hatched
// bars; every table's CSV is the table; the HTCDS export is a link the
// page's session may follow; combined compliance filters and a bad month
// are field errors; other roles get the 403 page.
func TestTWGDashboard(t *testing.T) {
	t.Parallel()
	sys := startTWGSystem(t)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "twg@twg.example")
	b := signInPages(t, base, "twg@twg.example", testenv.DemoPassword)

	resp, page := b.do(t, "GET", "/twg?lang=en&"+twgPeriod, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/twg: %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || strings.Contains(page, " style=") ||
		strings.Contains(page, "<style") || regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) {
		t.Errorf("the page has inline style or script (CSP %q)", csp)
	}
	if gz := gzipSize(t, page); gz > 120*1024 {
		t.Errorf("/twg weighs %d bytes compressed", gz)
	}
	tables := pageTables(page)
	comp := getReport(t, api, "/api/v1/reports/compliance?"+twgPeriod)
	if comp.Threshold != 5 || !strings.Contains(page, "Counts from 1 to 4 are not published (suppression threshold 5)") {
		t.Errorf("the threshold (%d) is not stated on the page", comp.Threshold)
	}
	suppressedInAPI := 0
	obligations := map[string]bool{}
	for _, tb := range comp.Tables {
		parts := strings.Split(tb.ID, "/") // compliance/<obligation>/<dimension>
		obligations[parts[1]] = true
		compareTable(t, tb.ID, tables["twg-compliance-"+parts[1]+"-"+parts[2]], tb, complianceCols, complianceCounts)
		suppressedInAPI += len(tb.Suppressed)
	}
	if len(obligations) < 5 || suppressedInAPI == 0 {
		t.Fatalf("the history gives %d obligations and %d withheld cells: too few to test", len(obligations), suppressedInAPI)
	}
	// Each month's report is the row of its month.
	for _, month := range []string{"2025-06", "2026-01"} {
		rep := getReport(t, api, "/api/v1/reports/compliance?from="+month+"&to="+month)
		for o := range obligations {
			tb := findTable(t, rep.Tables, "compliance/"+o+"/region")
			monthRows := tables["twg-compliance-"+o+"-month"]
			if len(monthRows) != 12 {
				t.Errorf("%s by month: %d rows, want 12", o, len(monthRows))
			}
			compareTable(t, o+" in "+month, map[string]map[string]string{"total": monthRows[month]},
				reportTable{Dimension: "month", Total: tb.Total, Suppressed: tb.Suppressed}, complianceCols, complianceCounts)
		}
	}
	stats := getReport(t, api, "/api/v1/reports/statistics?"+twgPeriod)
	compareTable(t, "cases by month", tables["twg-cases-month"], findTable(t, stats.Tables, "cases/month"), caseCols,
		map[string]bool{"opened": true, "presumed": true, "identified_preliminary": true, "identified_conclusive": true, "closed": true})
	compareTable(t, "referrals by service", tables["twg-referrals-service"], findTable(t, stats.Tables, "referrals/service"), serviceCols, serviceCounts)
	compareTable(t, "cases by country of exploitation", tables["twg-cases-country"], findTable(t, stats.Tables, "cases/exploitation_country"), caseCols,
		map[string]bool{"opened": true, "presumed": true, "identified_preliminary": true, "identified_conclusive": true, "closed": true})
	if len(tables["twg-cases-country"]) < 4 || !strings.Contains(page, "Türkiye") && !strings.Contains(page, "Turkey") {
		t.Errorf("cases by country: %d rows, or no country named on the page", len(tables["twg-cases-country"]))
	}
	compareTable(t, "re-trafficking by month", tables["twg-re-trafficking-month"], findTable(t, stats.Tables, "re_trafficking/month"),
		[]string{"re_trafficked", "reopened", "linked"}, map[string]bool{"re_trafficked": true, "reopened": true, "linked": true})

	// Withheld cells say so, in words, and are drawn hatched.
	cells := regexp.MustCompile(`data-value="suppressed">([^<]*)</td>`).FindAllStringSubmatch(page, -1)
	if len(cells) == 0 {
		t.Fatal("no cell of the page is marked suppressed")
	}
	for _, c := range cells {
		if c[1] != "suppressed" {
			t.Fatalf("a withheld cell reads %q", c[1])
		}
	}
	if strings.Count(page, `<svg class="twg-chart"`) < len(obligations)+2 || !strings.Contains(page, `fill="url(#twg-hatch)"`) ||
		!strings.Contains(page, "Suppressed (hatched)") {
		t.Errorf("charts: %d, hatched bars: %v", strings.Count(page, `<svg class="twg-chart"`), strings.Contains(page, `fill="url(#twg-hatch)"`))
	}
	if n := strings.Count(page, "<caption"); n < 5*len(obligations)+2 {
		t.Errorf("%d tables with a caption", n)
	}

	// Every table's CSV is the table.
	links := regexp.MustCompile(`href="(/twg/(?:compliance|statistics)/[^"]+\.csv[^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(links) != len(tables) {
		t.Errorf("%d CSV links for %d tables", len(links), len(tables))
	}
	checked := 0
	for _, l := range links {
		href := html.UnescapeString(l[1])
		u, err := url.Parse(href)
		testenv.Must(t, err)
		if u.Query().Get("from") != twgFrom || u.Query().Get("to") != twgTo {
			t.Errorf("CSV link %s lacks the page's period", href)
		}
		var id string
		switch {
		case strings.HasPrefix(u.Path, "/twg/compliance/"):
			p := strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.Path, "/twg/compliance/"), ".csv"), "/")
			id = "twg-compliance-" + p[0] + "-" + p[1]
		case u.Path == "/twg/statistics/cases_month.csv":
			id = "twg-cases-month"
		case u.Path == "/twg/statistics/referrals_service.csv":
			id = "twg-referrals-service"
		case u.Path == "/twg/statistics/cases_country.csv":
			id = "twg-cases-country"
		case u.Path == "/twg/statistics/re_trafficking_month.csv":
			id = "twg-re-trafficking-month"
		}
		if !strings.HasSuffix(id, "-region") && !strings.HasSuffix(id, "-month") && !strings.HasPrefix(id, "twg-referrals") &&
			id != "twg-cases-country" {
			continue // enough to read: one kind of table of each obligation, and the statistics
		}
		got, disposition := csvOf(t, b, href)
		if !strings.HasPrefix(disposition, `attachment; filename="nrm-`) {
			t.Errorf("%s: Content-Disposition %q", href, disposition)
		}
		want := tables[id]
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, the table has %d", href, len(got), len(want))
		}
		for key, cells := range want {
			for col, v := range cells {
				if got[key][col] != v {
					t.Errorf("%s, row %s, %s: CSV %q, table %q", href, key, col, got[key][col], v)
				}
			}
		}
		checked++
	}
	if checked < len(obligations)+2 {
		t.Errorf("only %d CSVs read", checked)
	}

	// The HTCDS export: a link the page's session follows.
	var export string
	for _, m := range twgHrefRE.FindAllStringSubmatch(page, -1) {
		if h := html.UnescapeString(m[1]); strings.HasPrefix(h, "/api/v1/exports/htcds?") && strings.Contains(h, "format=csv") {
			export = h
		}
	}
	if export == "" || !strings.Contains(export, "from="+twgFrom) {
		t.Fatalf("no HTCDS export link for the period: %q", export)
	}
	if resp, body := b.do(t, "GET", export, nil, nil); resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(body, "# ") {
		t.Errorf("HTCDS export through the page's session: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// A filter: the region's slice, as the API answers it.
	_, lebap := b.do(t, "GET", "/twg?lang=en&region=lebap&"+twgPeriod, nil, nil)
	lebapTables := pageTables(lebap)
	for _, tb := range getReport(t, api, "/api/v1/reports/compliance?region=lebap&"+twgPeriod).Tables {
		parts := strings.Split(tb.ID, "/")
		compareTable(t, "lebap "+tb.ID, lebapTables["twg-compliance-"+parts[1]+"-"+parts[2]], tb, complianceCols, complianceCounts)
	}
	compareTable(t, "lebap cases by month", lebapTables["twg-cases-month"],
		findTable(t, getReport(t, api, "/api/v1/reports/statistics?region=lebap&"+twgPeriod).Tables, "cases/month"), caseCols,
		map[string]bool{"opened": true, "presumed": true, "identified_preliminary": true, "identified_conclusive": true, "closed": true})

	// Two compliance filters at once: the API's 422 one_filter, in words on
	// the field, with what was chosen kept.
	resp, page = b.do(t, "GET", "/twg?lang=en&region=lebap&sop_version=2026.1&"+twgPeriod, nil, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#sop_version"`) ||
		!strings.Contains(page, "Choose only one of region, agency and SOP version") || !strings.Contains(page, `id="sop_version-error"`) ||
		!strings.Contains(page, `<option value="lebap" selected>`) || strings.Contains(page, "twg-data") {
		t.Errorf("combined filters: %d\n%s", resp.StatusCode, page)
	}
	if code := api.Do(t, "GET", "/api/v1/reports/compliance?region=lebap&sop_version=2026.1", nil, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("the API answers combined filters with %d", code)
	}
	resp, page = b.do(t, "GET", "/twg?lang=en&from=2025-13", nil, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#from"`) || !strings.Contains(page, "Enter a month as year and month") {
		t.Errorf("a bad month: %d", resp.StatusCode)
	}
	// In Russian, the withheld cells say so too.
	if _, ru := b.do(t, "GET", "/twg?lang=ru&"+twgPeriod, nil, nil); !strings.Contains(ru, `data-value="suppressed">скрыто</td>`) {
		t.Errorf("the Russian page does not mark withheld cells")
	}

	// Other roles: the 403 page, also for the downloads and the simulation.
	for _, email := range []string{"officer@lebap-police.example", "decider@authority.example"} {
		other := signInPages(t, base, email, testenv.DemoPassword)
		for _, path := range []string{"/twg?lang=en", "/twg/simulate?lang=en", "/twg/statistics/cases_month.csv?lang=en",
			"/twg/compliance/preliminary_decision/region.csv?lang=en"} {
			resp, page := other.do(t, "GET", path, nil, nil)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "These figures are for the Technical Working Group only.") {
				t.Errorf("%s %s: %d", email, path, resp.StatusCode)
			}
		}
	}
	if resp, _ := newBrowser(t, base).do(t, "GET", "/twg", nil, nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("/twg without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// postFile sends a multipart form with one file, as the upload form does.
func postFile(t *testing.T, b *browser, path string, fields url.Values, file string, content []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			testenv.Must(t, w.WriteField(k, v))
		}
	}
	fw, err := w.CreateFormFile(file, "proposed.yaml")
	testenv.Must(t, err)
	_, err = fw.Write(content)
	testenv.Must(t, err)
	testenv.Must(t, w.Close())
	req, err := http.NewRequest("POST", b.base+path, &body)
	testenv.Must(t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.c.Do(req)
	testenv.Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, string(data)
}

// TestTWGSimulation: /twg/simulate shows the API's simulation under a
// loaded version side by side with the recorded deadlines; an uploaded
// SOP file with problems shows each with its line number, as `nrm sop
// validate` finds them; a valid proposed file is simulated.
func TestTWGSimulation(t *testing.T) {
	t.Parallel()
	sys := startTWGSystem(t)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "twg@twg.example")
	b := signInPages(t, base, "twg@twg.example", testenv.DemoPassword)

	resp, page := b.do(t, "GET", "/twg/simulate?lang=en&sop_version=2026.2&"+twgPeriod, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/twg/simulate: %d\n%s", resp.StatusCode, page)
	}
	var sim struct {
		Cases any         `json:"cases"`
		Table reportTable `json:"table"`
	}
	mustStatus(t, "simulate", api.Do(t, "GET", "/api/v1/reports/simulate?sop_version=2026.2&"+twgPeriod, nil, &sim), http.StatusOK)
	tables := pageTables(page)
	measures := []string{"instances", "met_on_time", "met_late", "breached_open", "pending", "share_on_time", "median_hours", "p90_hours"}
	withheld := map[[2]string]bool{}
	for _, s := range sim.Table.Suppressed {
		withheld[[2]string{s.Row, s.Column}] = true
	}
	if len(sim.Table.Rows) == 0 {
		t.Fatal("the simulation has no rows")
	}
	for _, r := range sim.Table.Rows {
		o, version := r["obligation"].(string), r["version"].(string)
		col := "candidate"
		if version == "recorded" {
			col = "recorded"
		}
		pt := tables["twg-sim-"+o]
		if pt == nil {
			t.Errorf("no table for %s", o)
			continue
		}
		for _, m := range measures {
			want, ok := apiNumber(r[m])
			if !ok {
				want = ""
				if withheld[[2]string{o + "/" + version, m}] || m == "instances" || m == "met_on_time" || m == "met_late" ||
					m == "breached_open" || m == "pending" {
					want = "suppressed"
				}
			}
			if got := pt[m][col]; got != want {
				t.Errorf("simulation %s %s %s: page %q, API %v", o, col, m, got, r[m])
			}
		}
	}
	if n, ok := apiNumber(sim.Cases); ok && !strings.Contains(page, `data-value="`+n+`"`) {
		t.Errorf("cases replayed %s not on the page", n)
	}
	if !strings.Contains(page, "Recorded deadlines") || !strings.Contains(page, "Version 2026.2") {
		t.Errorf("the sides are not named")
	}
	// Its CSV holds the same figures.
	got, _ := csvOf(t, b, "/twg/simulate.csv?sop_version=2026.2&"+twgPeriod)
	if len(got) == 0 {
		t.Errorf("empty simulation CSV")
	}

	// A proposed file with problems: each with its line number.
	csrf := csrfOf(t, page)
	good, err := os.ReadFile("../../sop/tm-nrm-2026.2.yaml")
	testenv.Must(t, err)
	lines := strings.Split(string(good), "\n")
	at := slices.Index(lines, "obligations:")
	if at < 0 {
		t.Fatal("no obligations in the SOP file")
	}
	broken := strings.Join(append(append(append([]string{}, lines[:at]...), "surprise_key: true"), lines[at:]...), "\n")
	broken = strings.Replace(broken, "due: ", "due: 3 fortnights # ", 1)
	_, perr := sop.Parse("proposed.yaml", []byte(broken))
	var se *sop.Error
	if perr == nil || !errors.As(perr, &se) || len(se.Problems) < 2 {
		t.Fatalf("the broken file validates: %v", perr)
	}
	fields := url.Values{"csrf": {csrf}, "from": {twgFrom}, "to": {twgTo}}
	resp, page = postFile(t, b, "/twg/simulate?lang=en", fields, "sop_file", []byte(broken))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `href="#sop_file"`) ||
		!strings.Contains(page, "The SOP file has "+itoa(len(se.Problems))+" problems") {
		t.Fatalf("a broken SOP file: %d\n%s", resp.StatusCode, page)
	}
	for _, p := range se.Problems {
		if p.Line <= 1 || !strings.Contains(page, "Line "+itoa(p.Line)+":</strong>") || !strings.Contains(page, html.EscapeString(p.Message)) {
			t.Errorf("problem %s is not on the page with its line", p)
		}
	}
	if strings.Contains(page, `id="twg-sim-result"`) {
		t.Errorf("a broken file was simulated")
	}
	// No file, and a file too large.
	if resp, page := postFile(t, b, "/twg/simulate?lang=en", fields, "other", []byte("x")); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "Choose a SOP file to upload") {
		t.Errorf("no file: %d", resp.StatusCode)
	}
	if resp, page := postFile(t, b, "/twg/simulate?lang=en", fields, "sop_file", bytes.Repeat([]byte("# long\n"), 40000)); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(page, "The file is larger than 256 KB") {
		t.Errorf("a large file: %d", resp.StatusCode)
	}
	// Without the session's CSRF token, nothing is read.
	if resp, _ := postFile(t, b, "/twg/simulate?lang=en", url.Values{"from": {twgFrom}}, "sop_file", good); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an upload without the CSRF token: %d", resp.StatusCode)
	}
	// A valid proposal: simulated under its own version.
	proposal := strings.Replace(string(good), `version: "2026.2"`, `version: "2026.9"`, 1)
	if proposal == string(good) {
		t.Fatal("no version line in the SOP file")
	}
	resp, page = postFile(t, b, "/twg/simulate?lang=en", fields, "sop_file", []byte(proposal))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "the uploaded version 2026.9") || len(pageTables(page)) == 0 {
		t.Errorf("a valid proposal: %d\n%s", resp.StatusCode, page)
	}
}

func gzipLen(data []byte) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	w.Close()
	return buf.Len()
}

// BenchmarkTWGPage times /twg over loopback on a synthetic history of
// NRM_TWG_BENCH_CASES cases (default 100,000; seeding takes a few
// minutes). The months that are over are kept first, as the worker's
// housekeeping does; the first request of each page then builds its reports
// from them (logged), and the sub-benchmark's requests reuse the page's
// answers (ns/op).
//
//	go test -run '^$' -bench TWGPage -benchtime 20x -timeout 30m ./internal/app/
func BenchmarkTWGPage(b *testing.B) {
	n := 100_000
	if s := os.Getenv("NRM_TWG_BENCH_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	cfg := testenv.Config(b, testenv.Database(b), b.TempDir())
	sys := testenv.Start(b, cfg)
	res, err := synthetic.Seed(context.Background(), sys.Store, sys.SOPs, synthetic.Options{Cases: n, Seed: 42, Batch: 5000})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %s", res)
	// What the worker's housekeeping does every ten minutes: the months
	// that are over are built and kept before the TWG asks for them.
	start := time.Now()
	months, err := (&reports.Service{Store: sys.Store, SOPs: sys.SOPs}).KeepMonths(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("housekeeping built and kept %d months in %s", months, time.Since(start).Round(time.Millisecond))
	base := "http://" + sys.APIAddr
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"email": {"twg@twg.example"}, "password": {testenv.DemoPassword}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func(b *testing.B, path string) (time.Duration, []byte) {
		start := time.Now()
		resp, err := client.Get(base + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d\n%s", path, resp.StatusCode, body)
		}
		return time.Since(start), body
	}
	for _, path := range []string{"/twg?lang=en", "/twg?lang=en&region=lebap", "/twg?lang=en&from=2025-01&to=2026-11"} {
		cold, body := get(b, path)
		b.Logf("%s on %d cases: first request (every report built from the kept months) %s, %d bytes of HTML (%d compressed)", path, n,
			cold.Round(time.Millisecond), len(body), gzipLen(body))
	}
	b.Run("warm", func(b *testing.B) {
		for range b.N {
			get(b, "/twg?lang=en")
		}
	})
}
