package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func runAuditCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runAudit(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	url := testenv.Database(t)
	st, err := store.Open(ctx, url)
	testenv.Must(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	flags := []string{"verify", "--database-url", url, "--log-level", "error"}

	if code, out, errb := runAuditCmd(t, flags...); code != 0 || out != "audit chain intact: 0 entries\n" {
		t.Fatalf("empty log: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	for i := range 3 {
		testenv.Must(t, st.Audit(ctx, store.AuditEntry{At: time.Now(), UserID: uuid.New(), Role: "admin",
			AgencyID: uuid.New(), Action: fmt.Sprintf("user.add.%d", i), RequestID: "r"}))
	}
	if code, out, errb := runAuditCmd(t, flags...); code != 0 || out != "audit chain intact: 3 entries\n" {
		t.Fatalf("intact: exit %d, stdout %q, stderr %q", code, out, errb)
	}

	var id int64
	testenv.Must(t, st.DB().Get(&id, `SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1`))
	tx, err := st.DB().Begin()
	testenv.Must(t, err)
	for _, q := range []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`,
		fmt.Sprintf(`UPDATE audit_log SET role = 'twg' WHERE id = %d`, id),
		`ALTER TABLE audit_log ENABLE TRIGGER USER`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Must(t, tx.Commit())
	code, out, errb := runAuditCmd(t, flags...)
	if want := fmt.Sprintf("audit chain broken at entry %d: ", id); code != 1 || !strings.HasPrefix(out, want) {
		t.Fatalf("tampered: exit %d, stdout %q (want prefix %q), stderr %q", code, out, want, errb)
	}
}

func TestAuditUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"verify", "--bogus"}, 2},
		{[]string{"verify", "extra"}, 2},
		{[]string{"--help"}, 0},
		{[]string{"verify", "-h"}, 0},
	} {
		code, out, errb := runAuditCmd(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
		if !strings.Contains(out+errb, "usage:") {
			t.Errorf("%v: no usage printed", c.args)
		}
	}
}
