package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// providerSubmit presses a form's button, waits for the page the form
// leads to (its address ends with done=<done>) and answers its
// confirmation, after checking the page with axe-core.
func providerSubmit(t *testing.T, ctx context.Context, button, done, what string) string {
	t.Helper()
	testenv.Must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button))))
	deadline := time.Now().Add(20 * time.Second)
	for {
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.href : ""`))
		if err == nil && strings.Contains(href, "done="+done) {
			break
		}
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s: the page after the form is not shown (%v)\n%s", what, err, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
	testenv.Must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".notice"))))
	checkAccessibility(t, ctx, what)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
	testenv.Must(t, err)
	return text
}

// Two shelters work one referral through their pages, in Turkmen: the Lebap
// shelter, on a 360 px phone, finds the new referral in its inbox with the
// time left to answer, tries to decline it without a reason, then declines
// it for want of a bed; the Ashgabat shelter, on a desktop, finds it in its
// own inbox, accepts it, records progress and completes it. Every page
// passes axe-core; the phone's pages do not scroll sideways.
func TestBrowserProviderDeclineAcceptProgressComplete(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	_, refID := referRightAway(t, sys, "Şu gije ýatmaga ýer gerek.")
	refPath := "/referrals/" + refID
	link := `main a[href="` + refPath + `"]`

	// The Lebap shelter, on a phone.
	lebap := newBrowserTab(t, 360, 740)
	flowSignIn(t, lebap, base, "shelter@lebap-shelter.example")
	var page string
	testenv.Eventually(t, 20*time.Second, "the referral in the Lebap shelter's inbox", func() bool {
		page = flowPage(t, lebap, base, "/referrals?lang=tk", "the Lebap shelter's inbox")
		return strings.Contains(page, "Howpsuz ýaşaýyş ýeri (başpena)")
	})
	wantText(t, "the Lebap shelter's inbox", page, "Siziň jogabyňyza garaşýanlar", "Howpsuz ýaşaýyş ýeri (başpena)", "lebap",
		"Gyssagly", "jogap beriň", "galdy", "12 orundan 12 boş")
	fitsWidth(t, lebap, 360, "the inbox on a phone")
	saveScreenshot(t, lebap, "referrals-inbox-tk-360.png")

	if err := chromedp.Do(lebap, chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("decline-send"))); err != nil {
		t.Fatalf("open the referral from the inbox: %v", err)
	}
	checkAccessibility(t, lebap, "the referral page")
	fitsWidth(t, lebap, 360, "the referral page on a phone")
	page, err := chromedp.Run(lebap, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the referral page", page, "Aýna", "Aýal", "türkmen dili, rus dili", "Şu gije ýatmaga ýer gerek.", "Ugrukdyrmany kabul et", "Ugrukdyrmany ret et")
	if strings.Contains(page, "Berdiýewa") {
		t.Errorf("the referral page shows the family name")
	}
	saveScreenshot(t, lebap, "referral-tk-360.png")

	// Decline without a reason: the error, linked to the reasons.
	flowSteps(t, lebap, "decline without a reason",
		chromedp.SendKeys(chromedp.ID("decline_note"), "Boş orun ýok."),
		chromedp.Click(chromedp.ID("decline-send")), chromedp.WaitVisible(chromedp.CSS(".error-summary")))
	checkAccessibility(t, lebap, "the decline's error")
	fitsWidth(t, lebap, 360, "the referral page with an error on a phone")
	page, err = chromedp.Run(lebap, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the decline's error", page, "Ugrukdyrmany näme üçin ret edýändigiňizi saýlaň")
	typed, err := chromedp.Run(lebap, chromedp.Value(chromedp.ID("decline_note")))
	testenv.Must(t, err)
	if typed != "Boş orun ýok." {
		t.Errorf("the note typed before the error is %q", typed)
	}
	// With a reason: back to the inbox, where it waits no more.
	testenv.Must(t, chromedp.Do(lebap, chromedp.Click(chromedp.ID("reason"))))
	wantText(t, "the decline", providerSubmit(t, lebap, "#decline-send", "decline", "the decline"), "Siz ugrukdyrmany ret etdiňiz")
	page, err = chromedp.Run(lebap, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the inbox after the decline", page, "Boş orun ýok", "Siziň jogabyňyza garaşýan ugrukdyrma ýok.")
	fitsWidth(t, lebap, 360, "the inbox after the decline on a phone")

	// The beds page on the phone.
	flowPage(t, lebap, base, "/referrals/beds?lang=tk", "the beds page")
	fitsWidth(t, lebap, 360, "the beds page on a phone")

	// The Ashgabat shelter, on a desktop, finds it in its inbox.
	ashgabat := newBrowserTab(t, 1200, 900)
	flowSignIn(t, ashgabat, base, "shelter@ashgabat-shelter.example")
	testenv.Eventually(t, 20*time.Second, "the referral in the Ashgabat shelter's inbox", func() bool {
		page = flowPage(t, ashgabat, base, "/referrals?lang=tk", "the Ashgabat shelter's inbox")
		return strings.Contains(page, "Howpsuz ýaşaýyş ýeri (başpena)")
	})
	wantText(t, "the Ashgabat shelter's inbox", page, "Siziň jogabyňyza garaşýanlar", "galdy", "20 orundan 20 boş")
	saveScreenshot(t, ashgabat, "referrals-inbox-tk-1200.png")
	if err := chromedp.Do(ashgabat, chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("accept-send"))); err != nil {
		t.Fatalf("open the referral in Ashgabat: %v", err)
	}
	checkAccessibility(t, ashgabat, "the referral page in Ashgabat")

	// Accept, progress, complete.
	wantText(t, "the acceptance", providerSubmit(t, ashgabat, "#accept-send", "accept", "the acceptance"), "Siz ugrukdyrmany kabul etdiňiz.")
	testenv.Must(t, chromedp.Do(ashgabat, chromedp.SendKeys(chromedp.ID("progress_note"), "Ýerleşdi; duşenbe güni lukmana barar.")))
	wantText(t, "the progress note", providerSubmit(t, ashgabat, "#progress-send", "progress", "the progress note"), "Işiň barşy baradaky belligiňiz ýazyldy.")
	saveScreenshot(t, ashgabat, "referral-accepted-tk-1200.png")
	testenv.Must(t, chromedp.Do(ashgabat, chromedp.Click(chromedp.ID("outcome"))))
	wantText(t, "the completion", providerSubmit(t, ashgabat, "#complete-send", "complete", "the completion"), "Ugrukdyrma tamamlandy.")
	page, err = chromedp.Run(ashgabat, chromedp.Text(chromedp.CSS("main")))
	testenv.Must(t, err)
	wantText(t, "the completed referral", page, "Tamamlandy", "Hyzmat edildi")
	if strings.Contains(page, "Belligi ýaz") {
		t.Errorf("a completed referral still offers a progress note")
	}
	page = flowPage(t, ashgabat, base, "/referrals?state=completed&lang=tk", "the completed referrals")
	wantText(t, "the completed referrals", page, "Tamamlananlar", "Hyzmat edildi")

	// The phone again: the Ashgabat shelter's inbox and completed referral fit.
	phone := newBrowserTab(t, 360, 740)
	flowSignIn(t, phone, base, "shelter@ashgabat-shelter.example")
	flowPage(t, phone, base, "/referrals?lang=tk", "the Ashgabat inbox on a phone")
	fitsWidth(t, phone, 360, "the Ashgabat inbox on a phone")
	flowPage(t, phone, base, refPath+"?lang=tk", "the completed referral on a phone")
	fitsWidth(t, phone, 360, "the completed referral on a phone")
}
