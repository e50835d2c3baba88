package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The TWG's pages in a browser, on a seeded history, on a desktop in
// English and on a 360 px phone in Russian and in Turkmen: /twg shows its charts and
// tables, whose numbers are the API's with the withheld cells marked;
// /twg/simulate shows a loaded version's simulation and an uploaded file's
// problems. Every page passes axe-core and none scrolls sideways.
func TestBrowserTWGPages(t *testing.T) {
	t.Parallel()
	sys := startTWGSystem(t)
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "twg@twg.example")
	comp := getReport(t, api, "/api/v1/reports/compliance?"+twgPeriod)
	broken := filepath.Join(t.TempDir(), "proposed.yaml")
	good, err := os.ReadFile("../../sop/tm-nrm-2026.2.yaml")
	testenv.Must(t, err)
	testenv.Must(t, os.WriteFile(broken, []byte(strings.Replace(string(good), "obligations:", "surprise_key: 1\nobligations:", 1)), 0o644))

	for _, v := range []struct {
		width, height  int
		lang           string
		suppressed     string
		simulate, line string
	}{
		{1200, 900, "en", "suppressed", "SOP simulation", "Line "},
		{360, 740, "ru", "скрыто", "Моделирование СОП", "Строка "},
		{360, 740, "tk", "gizlenen", "SOP simulýasiýasy", "Setir "},
	} {
		what := func(page string) string { return page + " at " + itoa(v.width) + " px in " + v.lang }
		ctx := newBrowserTab(t, v.width, v.height)
		flowSignIn(t, ctx, base, "twg@twg.example")

		text := flowPage(t, ctx, base, "/twg?lang="+v.lang+"&"+twgPeriod, what("/twg"))
		wantText(t, what("/twg"), text, v.suppressed)
		fitsWidth(t, ctx, v.width, what("/twg"))
		// The charts are drawn, withheld bars hatched.
		bars, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.querySelectorAll("svg.twg-chart rect").length,
			document.querySelectorAll("svg.twg-chart rect.twg-hatch").length,
			Math.round(document.querySelector("svg.twg-chart").getBoundingClientRect().height)]`))
		testenv.Must(t, err)
		if bars[0] == 0 || bars[1] == 0 || bars[2] < 50 {
			t.Errorf("%s: %d bars, %d hatched, the first chart %d px high", what("/twg"), bars[0], bars[1], bars[2])
		}
		// The tables as the browser shows them: the API's numbers, and
		// withheld cells say so.
		for _, tb := range comp.Tables {
			if !strings.HasSuffix(tb.ID, "/region") && !strings.HasSuffix(tb.ID, "/agency_type") {
				continue
			}
			id := "twg-compliance-" + strings.ReplaceAll(strings.TrimPrefix(tb.ID, "compliance/"), "/", "-")
			cells, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll("#`+id+` tr[data-key] td")].map(td =>
				[td.closest("tr").dataset.key, td.dataset.column, td.dataset.value, td.innerText.trim()])`))
			testenv.Must(t, err)
			rows := map[string]map[string]string{}
			for _, c := range cells {
				if rows[c[0]] == nil {
					rows[c[0]] = map[string]string{}
				}
				rows[c[0]][c[1]] = c[2]
				if c[2] == "suppressed" && c[3] != v.suppressed {
					t.Errorf("%s: a withheld cell of %s reads %q", what("/twg"), id, c[3])
				}
			}
			compareTable(t, what(tb.ID), rows, tb, complianceCols, complianceCounts)
		}
		saveScreenshot(t, ctx, "twg-"+v.lang+"-"+itoa(v.width)+".png")

		text = flowPage(t, ctx, base, "/twg/simulate?lang="+v.lang+"&sop_version=2026.2&"+twgPeriod, what("/twg/simulate"))
		wantText(t, what("/twg/simulate"), text, v.simulate, "2026.2")
		fitsWidth(t, ctx, v.width, what("/twg/simulate"))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.twg-data").length`))
		testenv.Must(t, err)
		if n == 0 {
			t.Errorf("%s: no table", what("/twg/simulate"))
		}

		// A proposed file with a problem: the error summary, the line.
		flowSteps(t, ctx, what("upload"),
			chromedp.SetUploadFiles(chromedp.ID("sop_file"), []string{broken}),
			chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".error-summary")))
		checkAccessibility(t, ctx, what("the upload's errors"))
		fitsWidth(t, ctx, v.width, what("the upload's errors"))
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		testenv.Must(t, err)
		wantText(t, what("the upload's errors"), text, v.line, "surprise_key")
		saveScreenshot(t, ctx, "twg-simulate-"+v.lang+"-"+itoa(v.width)+".png")
	}
}
