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
	var out, errs bytes.Buffer
	if code := run([]string{"keys", "rotate", "--database-url", db}, nil, &out, &errs); code != 2 {
		t.Errorf("without --previous-key-file: exit %d, want 2", code)
	}
	errs.Reset()
	code := run([]string{"keys", "rotate", "--database-url", db, "--master-key-file", newKey, "--previous-key-file", oldKey}, nil, &out, &errs)
	if code != 0 || !strings.Contains(out.String(), "re-wrapped 0 case keys") {
		t.Errorf("rotate: exit %d, out %q, err %q", code, out.String(), errs.String())
	}
	if code := run([]string{"keys", "rotate", "--database-url", db, "--master-key-file", filepath.Join(dir, "missing"), "--previous-key-file", oldKey}, nil, &out, &errs); code != 1 {
		t.Errorf("missing key file: exit %d, want 1", code)
	}
}
