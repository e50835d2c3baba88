package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func (w *world) admin(t *testing.T) (*notify.Admin, auth.Principal) {
	t.Helper()
	home := w.addAgency(t, "administration")
	u := w.addUser(t, home, "admin")
	hooks := &notify.WebhookPolicy{Resolver: newFakeDNS(map[string]string{"hooks.example.org": "93.184.215.14"})}
	return &notify.Admin{Store: w.st, Keys: w.keys, Webhooks: hooks}, auth.Principal{UserID: u.ID, Role: auth.Admin, AgencyID: home.ID}
}

// The service audits the retry of a dead letter (with its case) and the
// addition of a channel, with the caller and both request IDs; refused
// commands leave no row.
func TestAdminAuditsRetriesAndChannels(t *testing.T) {
	w := newWorld(t)
	a, p := w.admin(t)
	ctx := context.Background()
	ri := notify.RequestInfo{RequestID: "req-1", ClientRequestID: "client-1"}

	pending := w.add(t, "breach", "opening_agency")[0]
	if _, err := a.RetryDeadLetter(ctx, p, ri, pending); !errors.Is(err, notify.ErrNotDead) {
		t.Errorf("retry of a pending notification: %v, want ErrNotDead", err)
	}
	if _, err := a.RetryDeadLetter(ctx, p, ri, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retry of an unknown notification: %v, want store.ErrNotFound", err)
	}
	dead := w.add(t, "breach", "child_protection")[0] // no such agency: dead at once
	testenv.Must(t, deliverAll(w))
	letters, err := a.DeadLetters(ctx, 10)
	testenv.Must(t, err)
	if len(letters) != 1 || letters[0].ID != dead {
		t.Fatalf("dead letters = %+v, want %s", letters, dead)
	}
	n, err := a.RetryDeadLetter(ctx, p, ri, dead)
	testenv.Must(t, err)
	if n.ID != dead || n.Status != "pending" {
		t.Errorf("retried = %s %s, want %s pending", n.ID, n.Status, dead)
	}

	if _, err := a.Channels(ctx, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("channels of an unknown agency: %v, want store.ErrNotFound", err)
	}
	if err := a.CheckAgency(ctx, w.agency.ID); err != nil {
		t.Errorf("CheckAgency of an existing agency: %v", err)
	}
	var te *notify.TargetError
	if _, _, err := a.AddChannel(ctx, p, ri, w.agency.ID, "webhook", "http://hooks.example.org/nrm"); !errors.As(err, &te) || te.Rule != "https" {
		t.Errorf("plain http webhook: %v, want a TargetError (https)", err)
	}
	ch, secret, err := a.AddChannel(ctx, p, ri, w.agency.ID, "webhook", "https://hooks.example.org/nrm")
	testenv.Must(t, err)
	if ch.AgencyID != w.agency.ID || ch.Kind != "webhook" || !ch.Active || len(secret) != 64 {
		t.Errorf("added channel = %+v with a secret of %d characters", ch, len(secret))
	}
	if _, _, err := a.AddChannel(ctx, p, ri, w.agency.ID, "webhook", "https://hooks.example.org/nrm"); !errors.Is(err, notify.ErrDuplicateChannel) {
		t.Errorf("the same webhook again: %v, want ErrDuplicateChannel", err)
	}
	list, err := a.Channels(ctx, w.agency.ID)
	testenv.Must(t, err)
	if len(list) != 1 || list[0].ID != ch.ID {
		t.Errorf("channels = %+v, want the one added", list)
	}

	rows := testenv.AuditRows(t, w.st)
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action)
		if r.UserID != p.UserID || r.Role != "admin" || r.AgencyID != p.AgencyID || r.RequestID != "req-1" || r.ClientRequestID != "client-1" {
			t.Errorf("audit row %+v, want the administrator's with both request IDs", r)
		}
	}
	if got := strings.Join(actions, " "); got != "notification_retry channel_add" {
		t.Fatalf("audited actions: %s", got)
	}
	if rows[0].CaseID == nil || *rows[0].CaseID != w.cs.ID || rows[1].CaseID != nil {
		t.Errorf("case of the audit rows: %v, %v; want the dead letter's case, then none", rows[0].CaseID, rows[1].CaseID)
	}
}

// When the audit row cannot be written the command answers the error,
// although the change stands.
func TestAdminReturnsAnAuditItCannotWrite(t *testing.T) {
	w := newWorld(t)
	a, p := w.admin(t)
	ctx := context.Background()
	_, err := w.st.DB().Exec(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$;
		CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();`)
	testenv.Must(t, err)
	if _, _, err := a.AddChannel(ctx, p, notify.RequestInfo{}, w.agency.ID, "email", "duty@police.example.org"); err == nil ||
		!strings.Contains(err.Error(), "audit refused by the test") {
		t.Errorf("add channel with the audit log refusing: %v, want the audit's error", err)
	}
	list, err := a.Channels(ctx, w.agency.ID)
	testenv.Must(t, err)
	if len(list) != 1 {
		t.Errorf("%d channels, want the one added", len(list))
	}
}
