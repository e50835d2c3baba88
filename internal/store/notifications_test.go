package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// outboxFixture is a case of agency A with notifications to its roles, and
// a second agency B of type competent_authority.
type outboxFixture struct {
	st   *store.Store
	cs   *store.Case
	a, b *store.Agency
	t0   time.Time
}

func newOutboxFixture(t *testing.T) *outboxFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.Database(t))
	testenv.Must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	a := &store.Agency{Name: "Police " + uuid.NewString()[:8], Type: "law_enforcement", Region: "lebap"}
	testenv.Must(t, st.CreateAgency(ctx, a))
	b := &store.Agency{Name: "Authority " + uuid.NewString()[:8], Type: "competent_authority", Region: "ashgabat", National: true}
	testenv.Must(t, st.CreateAgency(ctx, b))
	u := &store.User{Email: uuid.NewString() + "@example.org", Name: "O", Role: "frontline", AgencyID: a.ID, PasswordHash: "x", Active: true}
	testenv.Must(t, st.CreateUser(ctx, u))
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &store.Case{ID: uuid.New(), AgencyID: a.ID, CreatedBy: u.ID, SOPID: "tm-nrm", SOPVersion: "2026.1", SOPHash: "h",
		Stage: "identification", Sex: "female", AgeBand: "24-26", Citizenship: "TM", Region: "lebap", EncounterContext: "outreach",
		EncounteredAt: now, Indicators: store.Strings{}, Exploitation: store.Strings{}, ScreeningOutcome: "presumed_victim",
		Screening: json.RawMessage(`{}`), OpenedAt: now}
	testenv.Must(t, st.CreateCase(ctx, c, testenv.DummyIdentity(), "TM", 2026))
	return &outboxFixture{st: st, cs: c, a: a, b: b, t0: now}
}

// add writes notifications as a workflow activity does, the nth n seconds
// after t0; those to the role "agency" go to the whole agency A.
func (f *outboxFixture) add(t *testing.T, roles ...string) []string {
	t.Helper()
	var ids []string
	var ns []store.Notification
	for i, role := range roles {
		id := fmt.Sprintf("case-%s/preliminary_decision/1/breach/%s/%d", f.cs.ID, role, i)
		due := f.t0.Add(time.Hour)
		ns = append(ns, store.Notification{ID: id, CaseID: f.cs.ID, Kind: "breach", Obligation: "preliminary_decision",
			ObligationID: "case-x/preliminary_decision/1", RecipientRole: role, DueAt: &due, CreatedAt: f.t0.Add(time.Duration(i) * time.Second)})
		ids = append(ids, id)
	}
	ctx := context.Background()
	testenv.Must(t, f.st.RecordTransition(ctx, store.Transition{CaseID: f.cs.ID, At: f.t0, Notifications: ns}))
	// RecordTransition resolves SOP roles to agencies; a notification to a
	// whole agency names its agency itself.
	_, err := f.st.DB().ExecContext(ctx, `UPDATE notifications SET recipient_agency_id = $1 WHERE recipient_role = 'agency'`, f.a.ID)
	testenv.Must(t, err)
	return ids
}

func idsOf(list []store.NotificationItem) []string {
	out := []string{}
	for _, n := range list {
		out = append(out, n.ID)
	}
	return out
}

// addChannel stores a channel as package notify does: a webhook with an
// opaque stand-in for its sealed secret (notify's tests seal real ones).
func (f *outboxFixture) addChannel(ctx context.Context, agencyID uuid.UUID, kind, target string) (uuid.UUID, error) {
	ch := store.Channel{ID: uuid.New(), AgencyID: agencyID, Kind: kind, Target: target}
	if kind == store.ChannelWebhook {
		keyID := "test-key"
		ch.SecretKeyID, ch.SealedSecret = &keyID, []byte("sealed "+ch.ID.String())
	}
	return ch.ID, f.st.AddChannel(ctx, ch)
}

func TestNotificationChannelsAddAndList(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	hookID, err := f.addChannel(ctx, f.a.ID, store.ChannelWebhook, "https://hooks.example.org/nrm")
	testenv.Must(t, err)
	_, err = f.addChannel(ctx, f.b.ID, store.ChannelWebhook, "https://hooks.example.org/nrm")
	testenv.Must(t, err)
	mailID, err := f.addChannel(ctx, f.a.ID, store.ChannelEmail, "duty@police.example.org")
	testenv.Must(t, err)
	if _, err := f.addChannel(ctx, f.a.ID, store.ChannelWebhook, "https://hooks.example.org/nrm"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same webhook twice: %v, want ErrConflict", err)
	}
	if _, err := f.addChannel(ctx, uuid.New(), store.ChannelEmail, "x@example.org"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown agency: %v, want ErrNotFound", err)
	}
	if _, err := f.addChannel(ctx, f.a.ID, "sms", "+99365000000"); err == nil {
		t.Error("an unknown kind must be refused")
	}
	if err := f.st.AddChannel(ctx, store.Channel{ID: uuid.New(), AgencyID: f.a.ID, Kind: store.ChannelWebhook, Target: "https://hooks.example.org/x"}); err == nil {
		t.Error("a webhook without a sealed secret must be refused")
	}
	if ok, err := f.st.AgencyExists(ctx, f.a.ID); err != nil || !ok {
		t.Errorf("AgencyExists(A) = %v, %v", ok, err)
	}
	if ok, err := f.st.AgencyExists(ctx, uuid.New()); err != nil || ok {
		t.Errorf("AgencyExists(unknown) = %v, %v", ok, err)
	}
	list, err := f.st.Channels(ctx, f.a.ID)
	testenv.Must(t, err)
	if len(list) != 2 || list[0].ID != hookID || list[1].ID != mailID || !list[0].Active || list[0].SecretKeyID == nil ||
		*list[0].SecretKeyID != "test-key" || string(list[0].SealedSecret) != "sealed "+hookID.String() || list[0].ClearSecret != nil ||
		list[1].SecretKeyID != nil || list[1].SealedSecret != nil {
		t.Errorf("channels of A = %+v", list)
	}
	active, err := f.st.ActiveChannels(ctx, f.a.ID)
	testenv.Must(t, err)
	if len(active) != 2 {
		t.Errorf("active channels = %d, want 2", len(active))
	}
}

// TestChannelSecretSealingAndReseal covers the statements behind migration
// 0011's Go step and the rotation: a clear secret from before 0011 is
// replaced once by its sealed form, and sealed secrets move key by key.
func TestChannelSecretSealingAndReseal(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	// A webhook as a release before 0011 wrote it.
	legacy := uuid.New()
	_, err := f.st.DB().ExecContext(ctx, `INSERT INTO agency_channels (id, agency_id, kind, target, secret) VALUES ($1, $2, 'webhook', 'https://hooks.example.org/old', 'cleartext')`,
		legacy, f.a.ID)
	testenv.Must(t, err)
	sealedID, err := f.addChannel(ctx, f.a.ID, store.ChannelWebhook, "https://hooks.example.org/new")
	testenv.Must(t, err)
	clear, err := f.st.ChannelsWithClearSecret(ctx, 10)
	testenv.Must(t, err)
	if len(clear) != 1 || clear[0].ID != legacy || clear[0].ClearSecret == nil || *clear[0].ClearSecret != "cleartext" {
		t.Fatalf("channels with a clear secret = %+v", clear)
	}
	if ok, err := f.st.SealChannelSecret(ctx, legacy, "another", "k1", []byte("x")); err != nil || ok {
		t.Errorf("sealing with a stale clear secret: %v, %v; want nothing done", ok, err)
	}
	if ok, err := f.st.SealChannelSecret(ctx, legacy, "cleartext", "k1", []byte("sealed legacy")); err != nil || !ok {
		t.Fatalf("SealChannelSecret = %v, %v", ok, err)
	}
	if ok, err := f.st.SealChannelSecret(ctx, legacy, "cleartext", "k1", []byte("again")); err != nil || ok {
		t.Errorf("sealing twice: %v, %v; want nothing done", ok, err)
	}
	if clear, _ := f.st.ChannelsWithClearSecret(ctx, 10); len(clear) != 0 {
		t.Errorf("clear secrets left: %+v", clear)
	}
	// The table refuses a row with both forms, or a sealed secret without its key ID.
	if _, err := f.st.DB().ExecContext(ctx, `UPDATE agency_channels SET secret = 'x' WHERE id = $1`, legacy); err == nil {
		t.Error("a row with a clear and a sealed secret was accepted")
	}
	if _, err := f.st.DB().ExecContext(ctx, `UPDATE agency_channels SET secret_key_id = NULL WHERE id = $1`, legacy); err == nil {
		t.Error("a sealed secret without its key ID was accepted")
	}

	toReseal, err := f.st.ChannelSecretsNotUnder(ctx, "k1", 10)
	testenv.Must(t, err)
	if len(toReseal) != 1 || toReseal[0].ID != sealedID {
		t.Fatalf("secrets not under k1 = %+v", toReseal)
	}
	testenv.Must(t, f.st.ResealChannelSecret(ctx, sealedID, "other-key", "k1", []byte("lost race")))
	testenv.Must(t, f.st.ResealChannelSecret(ctx, sealedID, "test-key", "k1", []byte("resealed")))
	if toReseal, _ := f.st.ChannelSecretsNotUnder(ctx, "k1", 10); len(toReseal) != 0 {
		t.Errorf("secrets left to reseal: %+v", toReseal)
	}
	list, err := f.st.Channels(ctx, f.a.ID)
	testenv.Must(t, err)
	for _, ch := range list {
		if want := map[uuid.UUID]string{legacy: "sealed legacy", sealedID: "resealed"}[ch.ID]; string(ch.SealedSecret) != want || *ch.SecretKeyID != "k1" {
			t.Errorf("channel %s: sealed %q under %v, want %q under k1", ch.ID, ch.SealedSecret, *ch.SecretKeyID, want)
		}
	}
}

func TestNotificationInboxScopedByAgencyAndRole(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	ids := f.add(t, "opening_agency", "supervisor", "competent_authority", "agency")
	opening, supervisor, authority, whole := ids[0], ids[1], ids[2], ids[3]

	frontline := store.Recipients{Roles: store.Strings{"agency", "opening_agency", "child_protection"}}
	list, err := f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.a.ID, Recipients: frontline})
	testenv.Must(t, err)
	if got := idsOf(list); len(got) != 2 || got[0] != whole || got[1] != opening {
		t.Errorf("frontline of A sees %v, want [agency-wide, opening_agency] newest first", got)
	}
	if list[0].CaseNumber != f.cs.Number {
		t.Errorf("case number = %q, want %q", list[0].CaseNumber, f.cs.Number)
	}
	list, err = f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.a.ID, Recipients: store.Recipients{All: true}})
	testenv.Must(t, err)
	if got := idsOf(list); len(got) != 3 {
		t.Errorf("supervisor of A sees %v, want the 3 of agency A", got)
	}
	list, err = f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.b.ID, Recipients: store.Recipients{Roles: store.Strings{"agency", "competent_authority"}}})
	testenv.Must(t, err)
	if got := idsOf(list); len(got) != 1 || got[0] != authority {
		t.Errorf("competent authority (agency B) sees %v, want [%s]", got, authority)
	}
	list, err = f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.b.ID, Recipients: store.Recipients{All: true}})
	testenv.Must(t, err)
	if len(list) != 1 {
		t.Errorf("agency B must see none of agency A's: %v", idsOf(list))
	}
	none, err := f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.a.ID})
	testenv.Must(t, err)
	if len(none) != 0 {
		t.Errorf("the zero Recipients must read nothing: %v", idsOf(none))
	}

	// Marking read: another agency's, or a role the caller does not read, is not found.
	at := f.t0.Add(time.Minute)
	if _, err := f.st.MarkNotificationRead(ctx, f.b.ID, store.Recipients{All: true}, supervisor, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("agency B marking A's notification: %v, want ErrNotFound", err)
	}
	if _, err := f.st.MarkNotificationRead(ctx, f.a.ID, frontline, supervisor, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("frontline marking a supervisor's notification: %v, want ErrNotFound", err)
	}
	if _, err := f.st.MarkNotificationRead(ctx, f.a.ID, frontline, "no-such-id", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown ID: %v, want ErrNotFound", err)
	}
	n, err := f.st.MarkNotificationRead(ctx, f.a.ID, frontline, opening, at)
	testenv.Must(t, err)
	if n.ReadAt == nil || !n.ReadAt.Equal(at) || n.CaseNumber != f.cs.Number {
		t.Errorf("marked = %+v", n)
	}
	n, err = f.st.MarkNotificationRead(ctx, f.a.ID, frontline, opening, at.Add(time.Hour))
	testenv.Must(t, err)
	if !n.ReadAt.Equal(at) {
		t.Errorf("marking again moved read_at to %v", n.ReadAt)
	}
	unread, err := f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.a.ID, Recipients: frontline, Unread: true})
	testenv.Must(t, err)
	if got := idsOf(unread); len(got) != 1 || got[0] != whole {
		t.Errorf("unread = %v, want [%s]", got, whole)
	}

	// Paging: one at a time, newest first, with the keyset cursor.
	var paged []string
	var before *store.InboxCursor
	for range 5 {
		page, err := f.st.AgencyNotifications(ctx, store.InboxQuery{AgencyID: f.a.ID, Recipients: store.Recipients{All: true}, Limit: 1, Before: before})
		testenv.Must(t, err)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page[0].ID)
		before = &store.InboxCursor{CreatedAt: page[0].CreatedAt, ID: page[0].ID}
	}
	if len(paged) != 3 || paged[0] != whole || paged[1] != supervisor || paged[2] != opening {
		t.Errorf("pages = %v", paged)
	}
}

func TestOutboxClaimLeasesEachNotificationOnce(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	ids := f.add(t, "opening_agency", "supervisor", "competent_authority")
	now := f.t0
	lease := now.Add(time.Minute)

	tok1, first, err := f.st.ClaimNotifications(ctx, now, lease, 2)
	testenv.Must(t, err)
	if got := idsOf(first); len(got) != 2 || got[0] != ids[0] || got[1] != ids[1] {
		t.Fatalf("first claim = %v, want the 2 oldest", got)
	}
	if first[0].CaseNumber != f.cs.Number || first[0].RecipientAgencyID == nil || *first[0].RecipientAgencyID != f.a.ID {
		t.Errorf("claimed item = %+v", first[0])
	}
	tok2, second, err := f.st.ClaimNotifications(ctx, now, lease, 10)
	testenv.Must(t, err)
	if got := idsOf(second); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("second claim = %v, want only the unclaimed one", got)
	}
	if _, again, err := f.st.ClaimNotifications(ctx, now.Add(59*time.Second), lease, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim within the lease = %v, %v; want none", idsOf(again), err)
	}

	// The first is delivered; the second is retried later; the third's
	// dispatcher dies and its lease runs out.
	ok, err := f.st.MarkNotificationDelivered(ctx, ids[0], tok1, now)
	testenv.Must(t, err)
	if !ok {
		t.Error("delivered with the claim's token: not settled")
	}
	if ok, err := f.st.MarkNotificationDelivered(ctx, ids[1], tok2, now); err != nil || ok {
		t.Errorf("settling with another claim's token = %v, %v; want false", ok, err)
	}
	retryAt := now.Add(10 * time.Minute)
	ok, err = f.st.RescheduleNotification(ctx, ids[1], tok1, retryAt)
	testenv.Must(t, err)
	if !ok {
		t.Error("reschedule with the claim's token: not done")
	}
	tok3, third, err := f.st.ClaimNotifications(ctx, lease, lease.Add(time.Minute), 10)
	testenv.Must(t, err)
	if got := idsOf(third); len(got) != 1 || got[0] != ids[2] {
		t.Fatalf("claim after the lease = %v, want the abandoned one only", got)
	}
	if ok, _ := f.st.MarkNotificationDead(ctx, ids[2], tok2, now); ok {
		t.Error("the dead dispatcher's token still settles after the lease was taken over")
	}
	ok, err = f.st.MarkNotificationDelivered(ctx, ids[2], tok3, lease)
	testenv.Must(t, err)
	if !ok {
		t.Error("taken-over claim: not settled")
	}
	_, fourth, err := f.st.ClaimNotifications(ctx, retryAt, retryAt.Add(time.Minute), 10)
	testenv.Must(t, err)
	if got := idsOf(fourth); len(got) != 1 || got[0] != ids[1] {
		t.Fatalf("claim at the retry time = %v, want the rescheduled one", got)
	}
	all, err := f.st.CaseNotifications(ctx, f.cs.ID)
	testenv.Must(t, err)
	status := map[string]string{}
	for _, n := range all {
		status[n.ID] = n.Status
	}
	if status[ids[0]] != "delivered" || status[ids[1]] != "pending" || status[ids[2]] != "delivered" {
		t.Errorf("statuses = %v", status)
	}
	for _, n := range all {
		if n.ID == ids[0] && (n.DeliveredAt == nil || !n.DeliveredAt.Equal(now)) {
			t.Errorf("delivered_at = %v, want %v", n.DeliveredAt, now)
		}
	}
}

// The in-app notifications of one claim are settled in one transaction:
// those whose claim was taken over after the lease ran out are left to the
// dispatcher that holds them now, and only the others are answered.
func TestOutboxSettlesAClaimTogether(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	ids := f.add(t, "opening_agency", "supervisor", "competent_authority")
	now := f.t0
	lease := now.Add(time.Minute)
	tok1, first, err := f.st.ClaimNotifications(ctx, now, lease, 10)
	testenv.Must(t, err)
	if len(first) != 3 {
		t.Fatalf("claimed %v, want all three", idsOf(first))
	}
	// The first dispatcher stalls past its lease; another takes all three
	// over and settles the second before the first wakes up.
	tok2, again, err := f.st.ClaimNotifications(ctx, lease, lease.Add(time.Minute), 10)
	testenv.Must(t, err)
	if len(again) != 3 {
		t.Fatalf("claimed after the lease %v, want all three", idsOf(again))
	}
	if ok, err := f.st.MarkNotificationDelivered(ctx, ids[1], tok2, lease); err != nil || !ok {
		t.Fatalf("settle with the new claim = %v, %v", ok, err)
	}
	if got, err := f.st.MarkNotificationsDelivered(ctx, ids, tok1, lease); err != nil || len(got) != 0 {
		t.Errorf("settling with the lost claim = %v, %v; want none", got, err)
	}
	settled, err := f.st.MarkNotificationsDelivered(ctx, ids, tok2, lease)
	testenv.Must(t, err)
	slices.Sort(settled)
	want := []string{ids[0], ids[2]}
	slices.Sort(want)
	if !slices.Equal(settled, want) {
		t.Errorf("settled %v, want %v (the second was settled already)", settled, want)
	}
	all, err := f.st.CaseNotifications(ctx, f.cs.ID)
	testenv.Must(t, err)
	for _, n := range all {
		if n.Status != store.NotificationDelivered || n.DeliveredAt == nil || !n.DeliveredAt.Equal(lease) {
			t.Errorf("%s: status %s delivered at %v, want delivered at %v", n.ID, n.Status, n.DeliveredAt, lease)
		}
	}
	if _, next, err := f.st.ClaimNotifications(ctx, lease.Add(time.Hour), lease.Add(2*time.Hour), 10); err != nil || len(next) != 0 {
		t.Errorf("claimable after settling: %v, %v", idsOf(next), err)
	}
	if got, err := f.st.MarkNotificationsDelivered(ctx, nil, tok2, lease); err != nil || len(got) != 0 {
		t.Errorf("settling nothing = %v, %v", got, err)
	}
}

func TestOutboxDeadLetterRetry(t *testing.T) {
	f := newOutboxFixture(t)
	ctx := context.Background()
	ids := f.add(t, "opening_agency", "supervisor")
	now := f.t0
	chID, err := f.addChannel(ctx, f.a.ID, store.ChannelWebhook, "https://hooks.example.org/a")
	testenv.Must(t, err)
	tok, claimed, err := f.st.ClaimNotifications(ctx, now, now.Add(time.Minute), 1)
	testenv.Must(t, err)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	testenv.Must(t, f.st.RecordAttempt(ctx, store.DeliveryAttempt{NotificationID: ids[0], ChannelID: &chID, Attempt: 1, At: now,
		Status: store.AttemptFailed, Error: "receiver answered 500", NextAttemptAt: &now}))
	testenv.Must(t, f.st.RecordAttempt(ctx, store.DeliveryAttempt{NotificationID: ids[0], ChannelID: &chID, Attempt: 2, At: now.Add(time.Second),
		Status: store.AttemptDead, Error: "ü" + fmt.Sprintf("%0600d", 0)}))
	ok, err := f.st.MarkNotificationDead(ctx, ids[0], tok, now)
	testenv.Must(t, err)
	if !ok {
		t.Fatal("not marked dead")
	}

	dead, err := f.st.DeadLetters(ctx, 10)
	testenv.Must(t, err)
	if len(dead) != 1 {
		t.Fatalf("dead letters = %+v, want 1", dead)
	}
	d := dead[0]
	if d.ID != ids[0] || d.CaseNumber != f.cs.Number || d.ChannelID == nil || *d.ChannelID != chID || d.ChannelKind == nil ||
		*d.ChannelKind != "webhook" || d.Attempts == nil || *d.Attempts != 2 || d.Error == nil || len(*d.Error) > 500 || !utf8.ValidString(*d.Error) {
		t.Errorf("dead letter = %+v", d)
	}

	if _, err := f.st.RetryDeadLetter(ctx, ids[1], now); !errors.Is(err, store.ErrConflict) {
		t.Errorf("retrying a pending notification: %v, want ErrConflict", err)
	}
	if _, err := f.st.RetryDeadLetter(ctx, "no-such-id", now); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retrying an unknown notification: %v, want ErrNotFound", err)
	}
	retryAt := now.Add(time.Hour)
	n, err := f.st.RetryDeadLetter(ctx, ids[0], retryAt)
	testenv.Must(t, err)
	if n.Status != "pending" {
		t.Errorf("status after retry = %s", n.Status)
	}
	latest, err := f.st.LatestAttempts(ctx, ids[0])
	testenv.Must(t, err)
	if a := latest[chID]; a.Status != store.AttemptRequeued || a.Attempt != 0 {
		t.Errorf("latest attempt after retry = %+v, want requeued with attempt 0", a)
	}
	if dead, _ := f.st.DeadLetters(ctx, 10); len(dead) != 0 {
		t.Errorf("dead letters after retry = %d", len(dead))
	}
	_, again, err := f.st.ClaimNotifications(ctx, retryAt, retryAt.Add(time.Minute), 10)
	testenv.Must(t, err)
	if got := idsOf(again); len(got) != 2 || got[0] != ids[0] {
		t.Errorf("claim after retry = %v, want the requeued one due again", got)
	}
}
