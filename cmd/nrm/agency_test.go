package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func runNRM(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestFirstAdministrator follows the deployment README on an empty
// database: migrate, the first agency, the first administrator. The
// administrator can then sign in (their password checks out), which no
// step could achieve before `nrm agency add` existed.
func TestFirstAdministrator(t *testing.T) {
	db := testenv.Database(t)
	common := []string{"--database-url", db, "--log-level", "error"}
	const agency = "System administration"
	addAgency := append([]string{"agency", "add", "--name", agency, "--type", "administration", "--region", "ashgabat", "--national"}, common...)

	// Before the migrations: refused with the way forward.
	if code, _, errb := runNRM(t, "", addAgency...); code != 1 || !strings.Contains(errb, "nrm migrate up") {
		t.Errorf("agency add before migrate: exit %d, stderr %q", code, errb)
	}
	// What the Kubernetes init containers run: it waits, and gives up.
	if code, _, errb := runNRM(t, "", append([]string{"migrate", "wait", "--timeout", "3s"}, common...)...); code != 1 || !strings.Contains(errb, "not up to date") {
		t.Errorf("migrate wait before migrate up: exit %d, stderr %q; want 1", code, errb)
	}
	if code, _, errb := runNRM(t, "", append([]string{"migrate", "up"}, common...)...); code != 0 {
		t.Fatalf("migrate up: exit %d: %s", code, errb)
	}
	if code, out, errb := runNRM(t, "", append([]string{"migrate", "wait", "--timeout", "1m"}, common...)...); code != 0 || out != "database is up to date\n" {
		t.Errorf("migrate wait after migrate up: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	code, out, errb := runNRM(t, "", addAgency...)
	if code != 0 || !strings.HasPrefix(out, "created agency ") || !strings.Contains(out, "(System administration, administration)") {
		t.Fatalf("agency add: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	// Once only: the name is taken, and the answer names the agency's ID.
	id := strings.Fields(out)[2]
	if code, _, errb := runNRM(t, "", addAgency...); code != 1 || !strings.Contains(errb, "exists already: "+id) {
		t.Errorf("agency add again: exit %d, stderr %q", code, errb)
	}
	// Bad input: exit 2, nothing created.
	for _, bad := range [][]string{
		{"--name", "X", "--type", "club", "--region", "ashgabat"},
		{"--name", "X", "--type", "ngo", "--region", "atlantis"},
		{"--name", " ", "--type", "ngo", "--region", "lebap"},
		{"--name", "X", "--type", "ngo", "--region", "lebap", "--regions", "mary,moon"},
	} {
		if code, _, errb := runNRM(t, "", append(append([]string{"agency", "add"}, bad...), common...)...); code != 2 || errb == "" {
			t.Errorf("agency add %v: exit %d, stderr %q; want 2", bad, code, errb)
		}
	}

	const password = "kestrel-orbit-meadow-7391"
	code, out, errb = runNRM(t, password+"\n", append([]string{"user", "add", "--email", "admin@example.org", "--role", "admin",
		"--agency", agency, "--name", "First Administrator"}, common...)...)
	if code != 0 || !strings.Contains(out, "(admin, System administration)") {
		t.Fatalf("user add: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	// A frontline officer does not belong in the administration agency.
	if code, _, errb := runNRM(t, password+"\n", append([]string{"user", "add", "--email", "officer@example.org", "--role", "frontline",
		"--agency", agency, "--name", "Officer"}, common...)...); code != 2 || !strings.Contains(errb, "--role") {
		t.Errorf("frontline user in the administration agency: exit %d, stderr %q", code, errb)
	}

	ctx := context.Background()
	st, err := store.Open(ctx, db)
	testenv.Must(t, err)
	defer st.Close()
	agencies, err := st.Agencies(ctx)
	testenv.Must(t, err)
	if len(agencies) != 1 || agencies[0].ID.String() != id || agencies[0].Type != "administration" || !agencies[0].National || agencies[0].Region != "ashgabat" {
		t.Fatalf("agencies: %+v", agencies)
	}
	u, err := st.UserByEmail(ctx, "admin@example.org")
	testenv.Must(t, err)
	if u.Role != string(auth.Admin) || u.AgencyID != agencies[0].ID {
		t.Errorf("administrator: role %s, agency %s", u.Role, u.AgencyID)
	}
	sessions := &auth.Sessions{Store: st, Idle: time.Hour, Max: time.Hour}
	if _, _, p, err := sessions.Login(ctx, "admin@example.org", password); err != nil || p.Role != auth.Admin {
		t.Errorf("the first administrator cannot sign in: %v (%+v)", err, p)
	}
}
