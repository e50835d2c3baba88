package app_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// offlineNet cuts the network of a tab and of the screening form's
// service worker (whose own fetches the tab's emulation does not reach),
// or gives it back, through the DevTools protocol.
type offlineNet struct {
	tab     context.Context
	base    string
	workers map[target.ID]context.Context
}

func (n *offlineNet) set(t *testing.T, offline bool) {
	t.Helper()
	rule := network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}}}
	targets, err := chromedp.Targets(n.tab)
	testenv.Must(t, err)
	found := false
	for _, ti := range targets {
		if ti.Type != "service_worker" || ti.URL != n.base+"/sw.js" {
			continue
		}
		found = true
		w, ok := n.workers[ti.TargetID]
		if !ok {
			w, _ = chromedp.NewContext(n.tab, chromedp.WithTargetID(ti.TargetID))
			n.workers[ti.TargetID] = w
		}
		if _, err := chromedp.Call(w, network.EmulateNetworkConditionsByRule, rule); err != nil {
			t.Fatalf("emulate the service worker's network (offline %v): %v", offline, err)
		}
	}
	if !found && offline {
		t.Fatalf("no service worker runs for the screening form")
	}
	if _, err := chromedp.Call(n.tab, network.EmulateNetworkConditionsByRule, rule); err != nil {
		t.Fatalf("emulate the tab's network (offline %v): %v", offline, err)
	}
	// navigator.onLine and the online/offline events.
	if _, err := chromedp.Call(n.tab, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatalf("emulate navigator.onLine (offline %v): %v", offline, err)
	}
}

// offlineEval runs a script that answers a promise.
func offlineEval[T any](t *testing.T, ctx context.Context, what, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// offlineStorage is everything the origin keeps in the browser, binary
// fields written byte for byte: IndexedDB, localStorage, sessionStorage
// and the service worker's caches.
const offlineStorage = `(async () => {
  const bytes = v => Array.from(new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer), b => String.fromCharCode(b)).join("");
  const replacer = (k, v) => (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) ? bytes(v) : v;
  const out = [];
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((ok, ko) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
    for (const name of db.objectStoreNames) {
      const all = await new Promise((ok, ko) => { const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
      out.push(info.name + "/" + name + ": " + JSON.stringify(all, replacer));
    }
    db.close();
  }
  out.push("localStorage: " + JSON.stringify(localStorage), "sessionStorage: " + JSON.stringify(sessionStorage));
  for (const k of await caches.keys()) {
    const c = await caches.open(k);
    for (const req of await c.keys()) out.push("cache " + req.url + ": " + await (await c.match(req)).text());
  }
  return out.join("\n");
})()`

// offlineQueued counts the screenings waiting in the device's queue.
const offlineQueued = `new Promise((ok, ko) => {
  const r = indexedDB.open("nrm-offline");
  r.onupgradeneeded = () => r.transaction.abort();
  r.onerror = () => ok(0);
  r.onsuccess = () => { const db = r.result; const c = db.transaction("queue").objectStore("queue").count();
    c.onsuccess = () => { db.close(); ok(c.result); }; c.onerror = () => ko(c.error); };
})`

var offlineCaseLink = regexp.MustCompile(`^/cases/([0-9a-f-]{36})$`)

// An officer without a connection: the screening form loaded once online
// comes from the service worker, is filled and sent; the screening is
// kept on the device, encrypted (nothing of the person readable in any of
// the browser's storage), listed as waiting to send and kept across a
// reload; when the connection returns it becomes exactly one case, and a
// send repeated because its answer was lost opens no second one. A
// session that ended meanwhile: the queue survives signing in again and
// is sent then. A screening the server refuses waits to be corrected and
// goes back into the form; signing out erases what still waits.
func TestBrowserOfflineScreening(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	api := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	ctx := newBrowserTab(t, 1200, 900)
	net := &offlineNet{tab: ctx, base: base, workers: map[target.ID]context.Context{}}
	flowSignIn(t, ctx, base, "officer@lebap-police.example")
	countCases := func() []caseBody {
		var list struct {
			Cases []caseBody `json:"cases"`
		}
		mustStatus(t, "list the cases", api.Do(t, "GET", "/api/v1/cases", nil, &list), http.StatusOK)
		return list.Cases
	}
	// queued counts the screenings the device keeps; a page that is being
	// replaced (the form just sent) is asked again once the next one stands.
	queued := func() int {
		t.Helper()
		var n int
		var err error
		for range 50 {
			if n, err = chromedp.Run(ctx, chromedp.Evaluate[int](offlineQueued, chromedp.EvalAwaitPromise)); err == nil {
				return n
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("count the queue: %v", err)
		return 0
	}
	// waitQueued waits until the device keeps n screenings (the page after
	// keeping one says so too, but so did the page before it).
	waitQueued := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for queued() != n {
			if time.Now().After(deadline) {
				t.Fatalf("the device keeps %d screenings, want %d", queued(), n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		flowSteps(t, ctx, "the page after keeping one", chromedp.WaitVisible(chromedp.CSS(`[data-note="queued"]`)))
	}

	// 1. Online, once: the service worker installs and keeps the form.
	flowSteps(t, ctx, "the form online", chromedp.Navigate(base+"/cases/new?lang=tk"), chromedp.WaitVisible(chromedp.ID("given_name")))
	testenv.Eventually(t, 15*time.Second, "the service worker keeps the form", func() bool {
		return offlineEval[bool](t, ctx, "the service worker", `(async () => !!navigator.serviceWorker.controller &&
			(await Promise.all((await caches.keys()).map(async k => !!(await (await caches.open(k)).match("/cases/new"))))).some(Boolean))()`)
	})

	// The kept copy ages: as if it had been opened in 2001.
	offlineEval[bool](t, ctx, "age the kept form", `(async () => {
		for (const k of await caches.keys()) { const c = await caches.open(k); const r = await c.match("/cases/new"); if (!r) continue;
			const html = (await r.text()).replace(/(name="occurred_year"[^>]*value=")\d{4}/, "$12001");
			await c.put("/cases/new", new Response(html, {headers: r.headers})); }
		return true; })()`)
	zone, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("offline"), "data-zone"))
	testenv.Must(t, err)
	loc, err := time.LoadLocation(zone.Value)
	testenv.Must(t, err)

	// 2. Offline: the form comes from the service worker, proposing now as
	// the encounter's time.
	net.set(t, true)
	flowSteps(t, ctx, "the form offline", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("offline-cached")))
	cached, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("offline-cached")))
	testenv.Must(t, err)
	wantText(t, "the form served offline", cached, "Aragatnaşyk ýok", "nusgasy")
	if year := screeningValue(t, ctx, "occurred_year"); year != strconv.Itoa(time.Now().In(loc).Year()) {
		t.Errorf("the kept form proposes the encounter in %s, not now", year)
	}
	checkAccessibility(t, ctx, "the screening form offline")

	// 3. Filled and sent: kept on the device, waiting to send.
	fill := func(given, place string) {
		t.Helper()
		flowSteps(t, ctx, "fill the form offline",
			chromedp.SendKeys(chromedp.ID("given_name"), given), chromedp.SendKeys(chromedp.ID("family_name"), "Annayewa"),
			chromedp.Click(chromedp.ID("sex")), chromedp.SendKeys(chromedp.ID("citizenship"), "TM"),
			chromedp.SetValue(chromedp.ID("region"), "lebap"), chromedp.SendKeys(chromedp.ID("place"), place),
			chromedp.Click(chromedp.ID("context")), chromedp.SendKeys(chromedp.ID("age_estimate"), "24"+kb.Tab),
			// No preview without a connection: both consent paths are open.
			chromedp.WaitVisible(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent")), chromedp.Click(chromedp.ID("consent_data_sharing")),
			chromedp.Click(chromedp.CSS(`input[name="indicators"][value="false_job_offer"]`)),
			chromedp.Click(chromedp.CSS(`input[name="indicators"][value="deceived_about_wages"]`)),
			chromedp.Click(chromedp.CSS(`input[name="indicators"][value="excessive_hours"]`)),
			chromedp.Click(chromedp.CSS(`input[name="indicators"][value="documents_withheld"]`)),
		)
	}
	fill("Merjen", "Kerki bazary")
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("screening-result")))
	testenv.Must(t, err)
	wantText(t, "the result without a connection", result, "Aragatnaşyk ýok")
	flowSteps(t, ctx, "send the form offline", chromedp.ScrollIntoView(chromedp.ID("screening-submit")), chromedp.Click(chromedp.ID("screening-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-note="queued"]`)), chromedp.WaitVisible(chromedp.ID("offline-queue")))
	queue, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("offline-queue")))
	testenv.Must(t, err)
	wantText(t, "the queue", queue, "Iberilmegine garaşýar", "garaşýan deslapky barlaglar: 1", "welaýat lebap")
	if strings.Contains(queue, "Merjen") || strings.Contains(queue, "Annayewa") {
		t.Errorf("the queue shows the person's name: %q", queue)
	}
	if given := screeningValue(t, ctx, "given_name"); given != "" {
		t.Errorf("after keeping it, the form still shows %q: the next screening must start empty", given)
	}
	checkAccessibility(t, ctx, "the form with a screening waiting to send")
	saveScreenshot(t, ctx, "screening-offline-queue-tk-1200.png")
	fitsWidth(t, ctx, 1200, "the form with a screening waiting to send")

	// 4. It survives a reload, and nothing of the person is in clear.
	flowSteps(t, ctx, "reload offline", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("offline-queue")))
	if n := queued(); n != 1 {
		t.Fatalf("after a reload the device keeps %d screenings, want 1", n)
	}
	stored := offlineEval[string](t, ctx, "read the browser's storage", offlineStorage)
	for _, clear := range []string{"Merjen", "Annayewa", "Kerki"} {
		if strings.Contains(stored, clear) {
			t.Errorf("%q is in clear in the browser's storage", clear)
		}
	}
	if !strings.Contains(stored, `"region":"lebap"`) || !strings.Contains(stored, `"sealed"`) {
		t.Errorf("the queue does not hold the sealed screening with its region:\n%.2000s", stored)
	}
	// A copy of the record, to play a send whose answer was lost.
	record := offlineEval[string](t, ctx, "copy the record", `NRMOffline.all().then(rs => JSON.stringify(rs.map(r =>
		Object.assign({}, r, {sealed: {ephemeral: Array.from(r.sealed.ephemeral), iv: Array.from(r.sealed.iv), data: Array.from(new Uint8Array(r.sealed.data))}}))))`)
	if n := len(countCases()); n != 0 {
		t.Fatalf("offline, %d cases were opened", n)
	}

	// 5. The connection returns, the page open: exactly one case.
	net.set(t, false)
	flowSteps(t, ctx, "send when online", chromedp.WaitVisible(chromedp.CSS(`[data-note="sent"]`)), chromedp.WaitNotVisible(chromedp.ID("offline-queue")))
	list := countCases()
	if len(list) != 1 {
		t.Fatalf("the queue opened %d cases, want 1", len(list))
	}
	sent, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-note="sent"]`)))
	testenv.Must(t, err)
	wantText(t, "the sent note", sent, "iberildi: 1", list[0].Number)
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-note="sent"] a`), "href"))
	testenv.Must(t, err)
	if m := offlineCaseLink.FindStringSubmatch(href.Value); m == nil || m[1] != list[0].ID {
		t.Errorf("the sent note links to %q, want /cases/%s", href.Value, list[0].ID)
	}
	var opened caseBody
	mustStatus(t, "the opened case", api.Do(t, "GET", "/api/v1/cases/"+list[0].ID, nil, &opened), http.StatusOK)
	if opened.Person == nil || opened.Person.GivenName != "Merjen" {
		t.Errorf("the case opened from the queue holds %+v, want Merjen", opened.Person)
	}
	if n := queued(); n != 0 {
		t.Errorf("after sending, the device keeps %d screenings", n)
	}

	// 6. The same screening again, as after a send whose answer was lost:
	// its own key opens no second case.
	offlineEval[bool](t, ctx, "put the record back", `Promise.all(JSON.parse(`+"`"+record+"`"+`).map(r => NRMOffline.put(Object.assign(r, {sealed: {
		ephemeral: new Uint8Array(r.sealed.ephemeral), iv: new Uint8Array(r.sealed.iv), data: new Uint8Array(r.sealed.data).buffer}})))).then(() => true)`)
	flowSteps(t, ctx, "send it again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-note="sent"]`)))
	again, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-note="sent"]`)))
	testenv.Must(t, err)
	wantText(t, "the repeated send", again, list[0].Number)
	if n := len(countCases()); n != 1 {
		t.Errorf("a repeated send opened %d cases, want 1", n)
	}

	// 7. Taken offline while the session ends: the queue survives signing in again.
	net.set(t, true)
	flowSteps(t, ctx, "the form offline again", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("offline-cached")))
	fill("Bahar", "Kerki")
	flowSteps(t, ctx, "send the second form offline", chromedp.ScrollIntoView(chromedp.ID("screening-submit")), chromedp.Click(chromedp.ID("screening-submit")),
		chromedp.WaitVisible(chromedp.CSS(`[data-note="queued"]`)))
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("end the session: %v", err)
	}
	net.set(t, false)
	flowSteps(t, ctx, "the form without a session", chromedp.Navigate(base+"/cases/new?lang=tk"), chromedp.WaitVisible(chromedp.ID("email")))
	if n := queued(); n != 1 {
		t.Fatalf("on the sign-in page the device keeps %d screenings, want 1", n)
	}
	flowSteps(t, ctx, "sign in again", chromedp.SendKeys(chromedp.ID("email"), "officer@lebap-police.example"),
		chromedp.SendKeys(chromedp.ID("password"), testenv.DemoPassword+kb.Enter), chromedp.WaitVisible(chromedp.CSS(`[data-note="sent"]`)))
	if n := len(countCases()); n != 2 {
		t.Errorf("after signing in again the device opened %d cases in all, want 2", n)
	}
	if n := queued(); n != 0 {
		t.Errorf("after signing in again the device keeps %d screenings", n)
	}

	// 8. Two screenings the server refuses (no answers but a name): they
	// wait to be corrected; one goes back into the form; signing out
	// erases the other.
	net.set(t, true)
	flowSteps(t, ctx, "the form offline, third time", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("offline-cached")))
	for i, name := range []string{"Jeren", "Aýsoltan"} {
		flowSteps(t, ctx, "send an incomplete form offline", chromedp.SendKeys(chromedp.ID("given_name"), name),
			chromedp.ScrollIntoView(chromedp.ID("screening-submit")), chromedp.Click(chromedp.ID("screening-submit")))
		waitQueued(i + 1)
	}
	net.set(t, false)
	flowSteps(t, ctx, "refused when sent", chromedp.WaitVisible(chromedp.CSS(".offline-queue__open")))
	deadline := time.Now().Add(10 * time.Second)
	for offlineEval[int](t, ctx, "refused", `Promise.resolve(document.querySelectorAll(".offline-queue__open").length)`) != 2 {
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("offline")))
			t.Fatalf("the two screenings are not both waiting to be corrected:\n%s", page)
		}
		time.Sleep(100 * time.Millisecond)
	}
	queue, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("offline-queue")))
	testenv.Must(t, err)
	wantText(t, "the refused screenings", queue, "Kabul edilmedi", "Formada açmak")
	checkAccessibility(t, ctx, "the form with refused screenings")
	flowSteps(t, ctx, "open one in the form", chromedp.Click(chromedp.CSS(".offline-queue__open")), chromedp.WaitVisible(chromedp.CSS(`[data-note="opened"]`)))
	if given := screeningValue(t, ctx, "given_name"); given != "Jeren" {
		t.Errorf("the refused screening opened in the form shows %q, want Jeren", given)
	}
	if n := queued(); n != 1 {
		t.Errorf("after opening one in the form the device keeps %d, want 1", n)
	}
	flowSteps(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form[data-signout] button`)), chromedp.WaitVisible(chromedp.ID("email")))
	if n := queued(); n != 0 {
		t.Errorf("after signing out the device keeps %d screenings", n)
	}
	if regs := offlineEval[int](t, ctx, "service workers", `navigator.serviceWorker.getRegistrations().then(r => r.length)`); regs != 0 {
		t.Errorf("after signing out %d service workers remain", regs)
	}
	if kept := offlineEval[int](t, ctx, "caches", `caches.keys().then(k => k.length)`); kept != 0 {
		t.Errorf("after signing out %d caches remain (the officer's form)", kept)
	}
	if n := len(countCases()); n != 2 {
		t.Errorf("in all %d cases were opened, want 2", n)
	}
}
