package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestDispatchWebhookIsSignedAndCarriesOnlyAllowedFields(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "breach", "opening_agency")
	rcv := newReceiver(t)
	_, secret, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, rcv.URL+"/nrm/hook")
	testenv.Must(t, err)
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, PublicURL: "https://nrm.example.org/", Log: log, Webhooks: loopbackHooks,
		Channels: []notify.Channel{notify.LogChannel{Log: log}}}

	n, err := d.DeliverOnce(ctx)
	testenv.Must(t, err)
	if n != 1 {
		t.Fatalf("DeliverOnce claimed %d, want 1", n)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	del := got[0]

	// The signature: HMAC-SHA256 with the secret over timestamp + "." + body.
	want := checkSigned(t, del, secret)
	ts := del.header.Get("X-NRM-Timestamp")
	if !notify.VerifySignature(secret, ts, want, del.body, time.Now(), 5*time.Minute) {
		t.Error("VerifySignature refuses a good delivery")
	}
	if notify.VerifySignature(secret, ts, want, append(del.body, ' '), time.Now(), 5*time.Minute) {
		t.Error("VerifySignature accepts a changed body")
	}
	if notify.VerifySignature(secret, ts, want, del.body, time.Now().Add(time.Hour), 5*time.Minute) {
		t.Error("VerifySignature accepts a replay an hour later")
	}
	if h := del.header.Get("X-NRM-Delivery"); h != ids[0] {
		t.Errorf("X-NRM-Delivery = %q, want %q", h, ids[0])
	}
	if ct := del.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	// The body: these fields and no other.
	var body map[string]any
	testenv.Must(t, json.Unmarshal(del.body, &body))
	var keys []string
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if allowed := []string{"case_number", "created_at", "due_at", "id", "kind", "link", "obligation"}; !slices.Equal(keys, allowed) {
		t.Errorf("payload fields = %v, want exactly %v", keys, allowed)
	}
	if body["id"] != ids[0] || body["kind"] != "breach" || body["case_number"] != w.cs.Number ||
		body["obligation"] != "preliminary_decision" || body["link"] != "https://nrm.example.org/cases/"+w.cs.ID.String() {
		t.Errorf("payload = %v", body)
	}
	if due, _ := time.Parse(time.RFC3339, body["due_at"].(string)); !due.Equal(w.t0.Add(72 * time.Hour)) {
		t.Errorf("due_at = %v", body["due_at"])
	}
	noPersonalData(t, "webhook body", string(del.body))

	if s := w.statuses(t)[ids[0]]; s != store.NotificationDelivered {
		t.Errorf("status = %s, want delivered", s)
	}
	line := logs.String()
	if !strings.Contains(line, `"msg":"notification delivered"`) || !strings.Contains(line, ids[0]) ||
		!strings.Contains(line, `"case_number":"`+w.cs.Number+`"`) || !strings.Contains(line, `"recipient_role":"opening_agency"`) ||
		!strings.Contains(line, `"agency_id":"`+w.agency.ID.String()+`"`) {
		t.Errorf("LogChannel line missing or incomplete:\n%s", line)
	}
	noPersonalData(t, "log", line)
	if n, err := d.DeliverOnce(ctx); err != nil || n != 0 || len(rcv.deliveries()) != 1 {
		t.Errorf("a second pass claimed %d (%v) and the receiver has %d deliveries; want nothing more", n, err, len(rcv.deliveries()))
	}
}

func TestDispatchFailingWebhookBacksOffThenDeadLetters(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "escalation", "supervisor")
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusInternalServerError)
	chID, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, rcv.URL)
	testenv.Must(t, err)
	clk := &clock{t: w.t0}
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, PublicURL: "https://nrm.example.org", Log: log, Now: clk.Now, // the production schedule
		Webhooks: loopbackHooks}

	// Attempts at 0, then after 30s, 2m, 10m, 1h and 6h: six in all.
	var offset time.Duration
	for i := 0; i <= len(notify.DefaultBackoff); i++ {
		if i > 0 {
			offset += notify.DefaultBackoff[i-1]
			clk.set(w.t0.Add(offset - time.Second))
			if n, err := d.DeliverOnce(ctx); err != nil || n != 0 {
				t.Fatalf("attempt %d: a pass 1s before the retry is due claimed %d (%v)", i+1, n, err)
			}
		}
		clk.set(w.t0.Add(offset))
		if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d at +%s: claimed %d (%v), want 1", i+1, offset, n, err)
		}
		if hits := len(rcv.deliveries()); hits != i+1 {
			t.Fatalf("attempt %d at +%s: receiver has %d deliveries", i+1, offset, hits)
		}
	}
	if s := w.statuses(t)[ids[0]]; s != store.NotificationDead {
		t.Fatalf("status after the last retry = %s, want dead", s)
	}
	attempts, err := w.st.Attempts(ctx, ids[0])
	testenv.Must(t, err)
	if len(attempts) != 6 {
		t.Fatalf("%d attempts recorded, want 6", len(attempts))
	}
	for i, a := range attempts {
		wantStatus := store.AttemptFailed
		if i == 5 {
			wantStatus = store.AttemptDead
		}
		if a.Attempt != i+1 || a.Status != wantStatus || a.Error != "receiver answered 500" || a.ChannelID == nil || *a.ChannelID != chID {
			t.Errorf("attempt %d = %+v", i+1, a)
		}
		if i < 5 && (a.NextAttemptAt == nil || !a.NextAttemptAt.Equal(a.At.Add(notify.DefaultBackoff[i]))) {
			t.Errorf("attempt %d: next attempt at %v, want %v after %v", i+1, a.NextAttemptAt, notify.DefaultBackoff[i], a.At)
		}
	}
	clk.set(w.t0.Add(48 * time.Hour))
	if n, _ := d.DeliverOnce(ctx); n != 0 {
		t.Errorf("a dead notification was claimed again")
	}

	dead, err := w.st.DeadLetters(ctx, 10)
	testenv.Must(t, err)
	if len(dead) != 1 || dead[0].ID != ids[0] || dead[0].ChannelKind == nil || *dead[0].ChannelKind != "webhook" ||
		dead[0].Attempts == nil || *dead[0].Attempts != 6 || dead[0].Error == nil || *dead[0].Error != "receiver answered 500" {
		t.Fatalf("dead letters = %+v", dead)
	}
	if !strings.Contains(logs.String(), `"msg":"notification dead"`) {
		t.Error("no error line for the dead notification")
	}

	// An administrator retries it once the receiver is fixed.
	rcv.setStatus(http.StatusOK)
	_, err = w.st.RetryDeadLetter(ctx, ids[0], clk.Now())
	testenv.Must(t, err)
	if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
		t.Fatalf("pass after retry claimed %d (%v)", n, err)
	}
	if hits := len(rcv.deliveries()); hits != 7 {
		t.Errorf("receiver has %d deliveries after the retry, want 7", hits)
	}
	if s := w.statuses(t)[ids[0]]; s != store.NotificationDelivered {
		t.Errorf("status after retry = %s, want delivered", s)
	}
	if dead, _ := w.st.DeadLetters(ctx, 10); len(dead) != 0 {
		t.Errorf("dead letters after a successful retry: %+v", dead)
	}
	noPersonalData(t, "log", logs.String())
}

func TestDispatchRunRetriesOnAMillisecondSchedule(t *testing.T) {
	w := newWorld(t)
	ids := w.add(t, "reminder", "opening_agency")
	rcv := newReceiver(t)
	rcv.setStatus(http.StatusServiceUnavailable)
	_, _, err := w.secrets().AddChannel(context.Background(), w.agency.ID, store.ChannelWebhook, rcv.URL)
	testenv.Must(t, err)
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Backoff: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, time.Minute},
		PollInterval: 5 * time.Millisecond, Webhooks: loopbackHooks}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testenv.Eventually(t, 10*time.Second, "two failed attempts", func() bool { return len(rcv.deliveries()) >= 2 })
	rcv.setStatus(http.StatusOK)
	testenv.Eventually(t, 10*time.Second, "delivery on the third attempt", func() bool {
		return w.statuses(t)[ids[0]] == store.NotificationDelivered
	})
	got := rcv.deliveries()
	if len(got) != 3 {
		t.Fatalf("receiver got %d deliveries, want 3", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 50*time.Millisecond {
		t.Errorf("first retry after %s, want at least 50ms", gap)
	}
	if gap := got[2].at.Sub(got[1].at); gap < 100*time.Millisecond {
		t.Errorf("second retry after %s, want at least 100ms", gap)
	}
}

func TestDispatchTwoDispatchersDeliverEachNotificationOnce(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for range 8 {
		ids = append(ids, w.add(t, "breach", "opening_agency", "supervisor", "opening_agency", "supervisor", "opening_agency")...)
	}
	rcv := newReceiver(t)
	rcv.delay = 2 * time.Millisecond // widen the window in which the dispatchers overlap
	_, _, err := w.secrets().AddChannel(context.Background(), w.agency.ID, store.ChannelWebhook, rcv.URL)
	testenv.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		log, _ := newLog()
		d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Batch: 3, PollInterval: time.Millisecond, Webhooks: loopbackHooks}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
	}
	testenv.Eventually(t, 30*time.Second, "every notification delivered", func() bool {
		for _, s := range w.statuses(t) {
			if s != store.NotificationDelivered {
				return false
			}
		}
		return true
	})
	cancel()
	wg.Wait()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.got) != len(ids) {
		t.Errorf("receiver got %d deliveries for %d notifications", len(rcv.got), len(ids))
	}
	for _, id := range ids {
		if rcv.hits[id] != 1 {
			t.Errorf("notification %s delivered %d times, want once", id, rcv.hits[id])
		}
	}
}

func TestDispatchRoleNoAgencyHoldsIsDeadLettered(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	ids := w.add(t, "breach", "child_protection") // no agency of that type exists
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log}
	if n, err := d.DeliverOnce(ctx); err != nil || n != 1 {
		t.Fatalf("claimed %d (%v)", n, err)
	}
	if s := w.statuses(t)[ids[0]]; s != store.NotificationDead {
		t.Fatalf("status = %s, want dead", s)
	}
	dead, err := w.st.DeadLetters(ctx, 10)
	testenv.Must(t, err)
	if len(dead) != 1 || dead[0].ChannelID != nil || dead[0].Error == nil || !strings.Contains(*dead[0].Error, "child_protection") {
		t.Errorf("dead letters = %+v", dead)
	}
	if !strings.Contains(logs.String(), "no agency holds its recipient role") {
		t.Errorf("no log line for the undeliverable notification:\n%s", logs.String())
	}
}

func TestDispatchInAppOnlyIsDeliveredAtOnce(t *testing.T) {
	w := newWorld(t)
	ids := w.add(t, "reminder", "competent_authority", "opening_agency")
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log}
	if n, err := d.DeliverOnce(context.Background()); err != nil || n != 2 {
		t.Fatalf("claimed %d (%v)", n, err)
	}
	for _, id := range ids {
		if s := w.statuses(t)[id]; s != store.NotificationDelivered {
			t.Errorf("%s: status %s, want delivered", id, s)
		}
	}
}

// One pass over a claim that mixes the three cases: the notifications of
// agencies without a channel are settled together, those of an agency with
// a webhook are sent, and one addressed to a role no agency holds is dead.
// Each delivered one reaches the process's own channels once.
func TestDispatchSettlesInAppTogetherBesideChannels(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	hooked := w.add(t, "breach", "opening_agency")
	inApp := w.add(t, "reminder", "competent_authority", "competent_authority", "competent_authority")
	nobody := w.add(t, "breach", "child_protection")
	rcv := newReceiver(t)
	_, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, rcv.URL+"/nrm/hook")
	testenv.Must(t, err)
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: loopbackHooks, Channels: []notify.Channel{notify.LogChannel{Log: log}}}
	if n, err := d.DeliverOnce(ctx); err != nil || n != 5 {
		t.Fatalf("claimed %d (%v), want 5", n, err)
	}
	status := w.statuses(t)
	for _, id := range append(hooked, inApp...) {
		if status[id] != store.NotificationDelivered {
			t.Errorf("%s: status %s, want delivered", id, status[id])
		}
	}
	if status[nobody[0]] != store.NotificationDead {
		t.Errorf("%s: status %s, want dead", nobody[0], status[nobody[0]])
	}
	if got := rcv.deliveries(); len(got) != 1 || got[0].header.Get("X-NRM-Delivery") != hooked[0] {
		t.Errorf("the webhook received %d deliveries, want the opening agency's one", len(got))
	}
	for _, id := range append(hooked, inApp...) {
		c := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"notification delivered"`) && strings.Contains(line, id) {
				c++
			}
		}
		if c != 1 {
			t.Errorf("%s: %d log lines of its delivery, want 1", id, c)
		}
	}
	if n, err := d.DeliverOnce(ctx); err != nil || n != 0 {
		t.Errorf("a second pass claimed %d (%v), want none", n, err)
	}
}
