package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// dumpDatabase is what a pg_dump of the data would show: every row of every
// table of the public schema, as text.
func dumpDatabase(t *testing.T, st *store.Store) string {
	t.Helper()
	var tables []string
	testenv.Must(t, st.DB().Select(&tables, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`))
	var b strings.Builder
	for _, table := range tables {
		var rows []string
		testenv.Must(t, st.DB().Select(&rows, `SELECT t::text FROM `+table+` t`))
		b.WriteString(table + "\n" + strings.Join(rows, "\n") + "\n")
	}
	return b.String()
}

func TestWebhookSecretIsSealedAtRestAndStillSigns(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	srv := api.New(api.Deps{Store: w.st, Sessions: &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour},
		Log: slog.New(slog.DiscardHandler), Keys: w.keys, Webhooks: loopbackHooks})
	admin := w.signIn(t, srv, w.addAgency(t, "administration"), "admin")
	rcv := newReceiver(t)
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if s := admin.do("POST", "/api/v1/agencies/"+w.agency.ID.String()+"/channels",
		map[string]string{"kind": "webhook", "target": rcv.URL + "/hook"}, &created); s != 201 || len(created.Secret) != 64 {
		t.Fatalf("add webhook: %d %+v", s, created)
	}

	// At rest: neither the secret nor its bytes in any row of any table.
	dump := dumpDatabase(t, w.st)
	if !strings.Contains(dump, created.ID) {
		t.Fatal("the dump does not even hold the channel")
	}
	if strings.Contains(dump, created.Secret) || strings.Contains(dump, hex.EncodeToString([]byte(created.Secret))) {
		t.Error("the webhook secret is in the database in clear")
	}
	var keyID string
	testenv.Must(t, w.st.DB().Get(&keyID, `SELECT secret_key_id FROM agency_channels WHERE id = $1 AND secret IS NULL AND secret_sealed IS NOT NULL`, created.ID))
	if keyID != w.keys.CurrentKeyID() {
		t.Errorf("sealed under %s, want the current master key %s", keyID, w.keys.CurrentKeyID())
	}

	// Still signed with that secret when delivered.
	w.add(t, "breach", "opening_agency")
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: slog.New(slog.DiscardHandler), Webhooks: loopbackHooks}
	if _, err := d.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := rcv.deliveries()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	checkSigned(t, got[0], created.Secret)

	// Copied onto another channel's row, the ciphertext does not open: it is
	// bound to its channel.
	otherID, _, err := w.secrets().AddChannel(ctx, w.other.ID, store.ChannelWebhook, rcv.URL+"/other")
	testenv.Must(t, err)
	_, err = w.st.DB().Exec(`UPDATE agency_channels o SET secret_sealed = c.secret_sealed FROM agency_channels c WHERE o.id = $1 AND c.id = $2`,
		otherID, created.ID)
	testenv.Must(t, err)
	list, err := w.st.Channels(ctx, w.other.ID)
	testenv.Must(t, err)
	if _, err := w.secrets().Open(ctx, &list[0]); !errors.Is(err, crypto.ErrDecrypt) || strings.Contains(err.Error(), created.Secret) {
		t.Errorf("a moved ciphertext: %v, want ErrDecrypt", err)
	}
	// Without the master key it is opaque.
	otherKey := make([]byte, crypto.KeySize)
	rand.Read(otherKey)
	stranger, err := crypto.NewKeyring(crypto.MasterKey{Key: otherKey})
	testenv.Must(t, err)
	mine, err := w.st.Channels(ctx, w.agency.ID)
	testenv.Must(t, err)
	if _, err := (notify.Secrets{Store: w.st, Keys: stranger}).Open(ctx, &mine[0]); !errors.Is(err, crypto.ErrUnknownKeyID) {
		t.Errorf("opened under another master key: %v", err)
	}
}

func TestAddChannelSecrets(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, s1, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, "https://hooks.example.org/nrm")
	testenv.Must(t, err)
	_, s2, err := w.secrets().AddChannel(ctx, w.other.ID, store.ChannelWebhook, "https://hooks.example.org/nrm")
	testenv.Must(t, err)
	if raw, err := hex.DecodeString(s1); err != nil || len(raw) != 32 || s1 == s2 {
		t.Errorf("webhook secrets %q, %q: want 32 random bytes as hex, different", s1, s2)
	}
	if _, none, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelEmail, "duty@police.example.org"); err != nil || none != "" {
		t.Errorf("e-mail channel: secret %q, %v", none, err)
	}
	if _, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, "https://hooks.example.org/nrm"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same webhook twice: %v, want ErrConflict", err)
	}
	if _, _, err := w.secrets().AddChannel(ctx, uuid.New(), store.ChannelWebhook, "https://hooks.example.org/x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown agency: %v, want ErrNotFound", err)
	}
	if _, _, err := (notify.Secrets{Store: w.st}).AddChannel(ctx, w.agency.ID, store.ChannelWebhook, "https://hooks.example.org/y"); err == nil {
		t.Error("a webhook was added without a master key to seal its secret")
	}
	list, err := w.st.Channels(ctx, w.agency.ID)
	testenv.Must(t, err)
	if got, err := w.secrets().Open(ctx, &list[0]); err != nil || got != s1 {
		t.Errorf("Open = %q, %v; want the secret given at creation", got, err)
	}
}

// legacyWebhook writes a webhook as releases before migration 0011 did:
// its secret in clear.
func (w *world) legacyWebhook(t *testing.T, target string) (uuid.UUID, string) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	id, secret := uuid.New(), hex.EncodeToString(b)
	_, err := w.st.DB().Exec(`INSERT INTO agency_channels (id, agency_id, kind, target, secret) VALUES ($1, $2, 'webhook', $3, $4)`,
		id, w.agency.ID, target, secret)
	testenv.Must(t, err)
	return id, secret
}

func (w *world) clearSecrets(t *testing.T) int {
	t.Helper()
	var n int
	testenv.Must(t, w.st.DB().Get(&n, `SELECT count(*) FROM agency_channels WHERE secret IS NOT NULL`))
	return n
}

func TestDispatcherSealsClearSecretsFromBeforeMigration0011(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rcv := newReceiver(t)

	// At first use: a delivery through a channel whose secret is in clear
	// seals it, and is signed with it.
	_, secret := w.legacyWebhook(t, rcv.URL+"/first-use")
	w.add(t, "breach", "opening_agency")
	log, logs := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: loopbackHooks}
	if _, err := d.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rcv.deliveries(); len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	} else {
		checkSigned(t, got[0], secret)
	}
	if n := w.clearSecrets(t); n != 0 {
		t.Errorf("%d clear secrets after first use, want 0", n)
	}

	// At start: Run seals every clear secret, used or not, and logs a count.
	_, idle1 := w.legacyWebhook(t, rcv.URL+"/idle-1")
	_, idle2 := w.legacyWebhook(t, rcv.URL+"/idle-2")
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d.PollInterval = time.Hour
	go func() { defer close(done); d.Run(rctx) }()
	testenv.Eventually(t, 10*time.Second, "clear secrets sealed", func() bool { return w.clearSecrets(t) == 0 })
	cancel()
	<-done
	dump := dumpDatabase(t, w.st)
	for _, s := range []string{secret, idle1, idle2} {
		if strings.Contains(dump, s) {
			t.Errorf("a legacy secret is still in the database in clear")
		}
	}
	if !strings.Contains(logs.String(), `"channels":2`) {
		t.Errorf("no count of sealed secrets in the log:\n%s", logs.String())
	}
	for _, s := range []string{secret, idle1, idle2} {
		if strings.Contains(logs.String(), s) {
			t.Error("a secret is in the log")
		}
	}
	list, err := w.st.Channels(ctx, w.agency.ID)
	testenv.Must(t, err)
	opened := map[string]bool{}
	for i := range list {
		s, err := w.secrets().Open(ctx, &list[i])
		testenv.Must(t, err)
		opened[s] = true
	}
	if !opened[secret] || !opened[idle1] || !opened[idle2] {
		t.Error("a sealed legacy secret does not open to what it was")
	}
	// Idempotent: nothing left to seal.
	if n, err := w.secrets().SealClear(ctx); err != nil || n != 0 {
		t.Errorf("SealClear again = %d, %v", n, err)
	}
}
