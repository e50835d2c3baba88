package app_test

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// axe-core, vendored from npm (testdata/axe/VERSION, LICENSE): the
// accessibility rules every page reached in a browser test must pass.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// newBrowserTab starts Debian's Chromium, headless, for one test. The
// browser tests are part of the README's test command: without Chromium
// they fail and say how to install it (.ci/run does).
func newBrowserTab(t *testing.T, width, height int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("the browser tests need Debian's Chromium: apt-get install chromium (.ci/run installs it when missing)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the
	// context of that call: no timeout on it, one on what follows.
	if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// A phone's viewport is emulated: headless windows are never narrower
	// than 500 px.
	if width < 500 {
		if err := chromedp.Do(tab, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile)); err != nil {
			t.Fatalf("emulate a %d px phone: %v", width, err)
		}
	}
	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAccessibility runs axe-core on the page the tab shows and fails on
// any serious or critical violation.
func checkAccessibility(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		t.Fatalf("load axe on %s: %v", what, err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s violation %s (%s) at %v", what, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// An officer signs in through the page with the keyboard alone, in
// Turkmen, and finds the case opened earlier on the worklist; every page
// passes axe-core and fits a 360 px phone.
func TestBrowserSignInAndWorklist(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)

	for _, size := range []struct{ w, h int }{{1200, 900}, {360, 740}} {
		ctx := newBrowserTab(t, size.w, size.h)
		// Not signed in: to the sign-in page, and back here after it.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/?lang=tk"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
			t.Fatalf("sign-in page: %v", err)
		}
		heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		testenv.Must(t, err)
		lang, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang"))
		testenv.Must(t, err)
		if heading != "Ulgama girmek" || lang.Value != "tk" {
			t.Errorf("sign-in page: heading %q, lang %q; want the Turkmen page", heading, lang.Value)
		}
		checkAccessibility(t, ctx, "the sign-in page")
		fitsWidth(t, ctx, size.w, "the sign-in page")
		saveScreenshot(t, ctx, fmt.Sprintf("sign-in-tk-%d.png", size.w))

		// The keyboard alone: the skip link first, then the fields in order.
		testenv.Must(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)))
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
		testenv.Must(t, err)
		if focused != "skip-link" {
			t.Errorf("the first Tab reaches %q, want the skip link", focused)
		}
		if err := chromedp.Do(ctx,
			chromedp.Focus(chromedp.ID("email")),
			chromedp.KeyEvent("officer@lebap-police.example"),
			chromedp.KeyEvent(kb.Tab),
			chromedp.KeyEvent(testenv.DemoPassword),
			chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("table")),
		); err != nil {
			t.Fatalf("sign in with the keyboard: %v", err)
		}
		page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		testenv.Must(t, err)
		if !strings.Contains(page, opened.Number) || !strings.Contains(page, "Açyk işler") || !strings.Contains(page, "Kesgitleme") {
			t.Errorf("worklist in Turkmen without the case %s in identification: %s", opened.Number, page)
		}
		checkAccessibility(t, ctx, "the worklist")
		fitsWidth(t, ctx, size.w, "the worklist")

		// The case page, by the worklist's link.
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href="/cases/`+opened.ID+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("table"))); err != nil {
			t.Fatalf("open the case page: %v", err)
		}
		number, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		testenv.Must(t, err)
		if number != opened.Number {
			t.Errorf("case page heading %q, want %s", number, opened.Number)
		}
		checkAccessibility(t, ctx, "the case page")
		fitsWidth(t, ctx, size.w, "the case page")
		saveScreenshot(t, ctx, fmt.Sprintf("case-page-tk-%d.png", size.w))
		if os.Getenv("NRM_SCREENSHOTS") == "1" {
			for _, lang := range []string{"ru", "en"} {
				for name, path := range map[string]string{"worklist": "/", "case-page": "/cases/" + opened.ID} {
					testenv.Must(t, chromedp.Do(ctx, chromedp.Navigate(base+path+"?lang="+lang), chromedp.WaitVisible(chromedp.CSS("main"))))
					saveScreenshot(t, ctx, fmt.Sprintf("%s-%s-%d.png", name, lang, size.w))
				}
			}
		}
	}
}

// fitsWidth fails when the page scrolls sideways at the window's width.
func fitsWidth(t *testing.T, ctx context.Context, width int, what string) {
	t.Helper()
	scroll, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	testenv.Must(t, err)
	if scroll > width {
		t.Errorf("%s is %d px wide in a %d px window", what, scroll, width)
	}
}

// saveScreenshot keeps what the tab shows under docs/screenshots when
// NRM_SCREENSHOTS=1 (the README's pictures come from here); otherwise it
// does nothing.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("NRM_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	testenv.Must(t, err)
	testenv.Must(t, os.MkdirAll("../../docs/screenshots", 0o755))
	testenv.Must(t, os.WriteFile(filepath.Join("../../docs/screenshots", name), png, 0o644))
}
