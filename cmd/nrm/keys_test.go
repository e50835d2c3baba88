package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestKeysRotateCommand(t *testing.T) {
	db := testenv.Database(t)
	st, err := store.Open(context.Background(), db)
	testenv.Must(t, err)
	_, err = st.Migrate(context.Background())
	testenv.Must(t, err)
	st.Close()
	dir := t.TempDir()
	write := func(name string) string {
		k := make([]byte, 32)
		rand.Read(k)
		p := filepath.Join(dir, name)
		testenv.Must(t, os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600))
		return p
	}
	newKey, oldKey := write("new.key"), write("old.key")
	load := func(paths ...string) *crypto.Keyring {
		var keys []crypto.MasterKey
		for _, p := range paths {
			k, err := crypto.LoadMasterKey("", p)
			testenv.Must(t, err)
			keys = append(keys, k)
		}
		r, err := crypto.NewKeyring(keys[0], keys[1:]...)
		testenv.Must(t, err)
		return r
	}
	// Webhook secrets under the old key: one sealed, one still in clear as
	// releases before migration 0011 stored it.
	ctx := context.Background()
	st, err = store.Open(ctx, db)
	testenv.Must(t, err)
	defer st.Close()
	agency := &store.Agency{Name: "Police", Type: "law_enforcement", Region: "lebap"}
	testenv.Must(t, st.CreateAgency(ctx, agency))
	sealedID, sealedSecret, err := notify.Secrets{Store: st, Keys: load(oldKey)}.AddChannel(ctx, agency.ID, store.ChannelWebhook, "https://hooks.example.org/a")
	testenv.Must(t, err)
	clearID, clearSecret := uuid.New(), "legacy-secret-in-clear"
	_, err = st.DB().Exec(`INSERT INTO agency_channels (id, agency_id, kind, target, secret) VALUES ($1, $2, 'webhook', 'https://hooks.example.org/b', $3)`,
		clearID, agency.ID, clearSecret)
	testenv.Must(t, err)

	var out, errs bytes.Buffer
	if code := run([]string{"keys", "rotate", "--database-url", db}, nil, &out, &errs); code != 2 {
		t.Errorf("without --previous-key-file: exit %d, want 2", code)
	}
	errs.Reset()
	code := run([]string{"keys", "rotate", "--database-url", db, "--master-key-file", newKey, "--previous-key-file", oldKey}, nil, &out, &errs)
	if code != 0 || !strings.Contains(out.String(), "re-wrapped 0 case keys and 2 webhook secrets") {
		t.Errorf("rotate: exit %d, out %q, err %q", code, out.String(), errs.String())
	}
	// Afterwards the new key alone opens both secrets.
	onlyNew := load(newKey)
	channels, err := st.Channels(ctx, agency.ID)
	testenv.Must(t, err)
	want := map[uuid.UUID]string{sealedID: sealedSecret, clearID: clearSecret}
	for i := range channels {
		ch := &channels[i]
		if ch.ClearSecret != nil || ch.SecretKeyID == nil || *ch.SecretKeyID != onlyNew.CurrentKeyID() {
			t.Errorf("channel %s after rotation: clear %v, key %v", ch.ID, ch.ClearSecret != nil, ch.SecretKeyID)
			continue
		}
		if got, err := (notify.Secrets{Store: st, Keys: onlyNew}).Open(ctx, ch); err != nil || got != want[ch.ID] {
			t.Errorf("channel %s with the new key only: %v", ch.ID, err)
		}
	}
	out.Reset()
	if code := run([]string{"keys", "rotate", "--database-url", db, "--master-key-file", newKey, "--previous-key-file", oldKey}, nil, &out, &errs); code != 0 ||
		!strings.Contains(out.String(), "0 webhook secrets") {
		t.Errorf("second rotate: exit %d, out %q", code, out.String())
	}
	if code := run([]string{"keys", "rotate", "--database-url", db, "--master-key-file", filepath.Join(dir, "missing"), "--previous-key-file", oldKey}, nil, &out, &errs); code != 1 {
		t.Errorf("missing key file: exit %d, want 1", code)
	}
}
