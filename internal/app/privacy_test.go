package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestCanaryIdentityStaysEncrypted opens cases with unique markers in every
// identity field, the narrative and the notes; a full pg_dump and the JSON
// history of every Temporal workflow contain none of them, while the API
// still returns them to the permitted user.
func TestCanaryIdentityStaysEncrypted(t *testing.T) {
	t.Parallel()
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump is needed (Debian package postgresql-client): %v", err)
	}
	db := testenv.Database(t)
	cfg := testenv.Config(t, db, t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")

	mark := "CANARY" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	markers := map[string]string{}
	var caseIDs []string
	for i := 0; i < 2; i++ {
		m := func(field string) string {
			v := mark + field + string(rune('A'+i))
			markers[field+string(rune('A'+i))] = v
			return v
		}
		body := testenv.Screening()
		p := body["person"].(map[string]any)
		p["given_name"], p["family_name"], p["phone"], p["document_number"] = m("given"), m("family"), m("phone"), m("document")
		body["encounter"].(map[string]any)["place"] = m("place")
		body["narrative"] = m("narrative")
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", body, &c), http.StatusCreated)
		mustStatus(t, "decide", decider.Do(t, "POST", "/api/v1/cases/"+c.ID+"/decisions",
			map[string]string{"kind": "preliminary", "outcome": "positive", "reason": m("reason")}, nil), http.StatusCreated)
		mustStatus(t, "refer", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals",
			map[string]any{"service": "shelter", "note": m("note")}, nil), http.StatusCreated)
		caseIDs = append(caseIDs, c.ID)
		// The permitted user still reads the identity.
		var got caseBody
		mustStatus(t, "read", officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, &got), http.StatusOK)
		if got.Person == nil || got.Person.GivenName != markers["given"+string(rune('A'+i))] {
			t.Fatalf("the owner no longer reads the identity: %+v", got.Person)
		}
	}

	u, _ := url.Parse(db)
	dump, err := exec.Command(pgDump, "--no-owner", "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), strings.TrimPrefix(u.Path, "/")).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("COPY public.persons")) {
		t.Fatalf("the dump holds no persons table: is it the right database?")
	}
	for field, m := range markers {
		if bytes.Contains(dump, []byte(m)) {
			t.Errorf("marker of %s found in pg_dump", field)
		}
	}

	// Every workflow's JSON history, decoded only as far as Temporal stores it.
	ctx := context.Background()
	list, err := sys.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: cfg.TemporalNamespace, PageSize: 1000})
	testenv.Must(t, err)
	if len(list.Executions) < 4 {
		t.Fatalf("found %d workflows, want the two cases and their referrals", len(list.Executions))
	}
	for _, ex := range list.Executions {
		iter := sys.Temporal.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			testenv.Must(t, err)
			js, err := protojson.Marshal(ev)
			testenv.Must(t, err)
			if bytes.Contains(js, []byte(mark)) {
				t.Errorf("a marker reached the history of %s (event %d)", ex.Execution.WorkflowId, ev.EventId)
			}
		}
	}
	if len(caseIDs) != 2 {
		t.Fatalf("opened %d cases", len(caseIDs))
	}
}

// TestShreddingAndRotation: after `keys rotate` every case still decrypts
// and the old master key opens no data key; shredding a case removes its
// identity and leaves its anonymised record.
func TestShreddingAndRotation(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var a, b caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &a), http.StatusCreated)
	// The same person again in the same agency: the officer is shown the
	// agency's own earlier case.
	var dup duplicateAnswer
	mustStatus(t, "open again", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &dup), http.StatusCreated)
	if dup.PossibleDuplicate == nil || len(dup.PossibleDuplicate.Cases) != 1 || dup.PossibleDuplicate.Cases[0].ID != a.ID ||
		dup.PossibleDuplicate.Cases[0].Number != a.Number {
		t.Errorf("possible duplicate %+v, want the agency's own case %s", dup.PossibleDuplicate, a.Number)
	}
	other := testenv.Screening()
	other["person"].(map[string]any)["given_name"] = "Other"
	other["person"].(map[string]any)["document_number"] = "X-1"
	mustStatus(t, "open another", officer.Do(t, "POST", "/api/v1/cases", other, &b), http.StatusCreated)

	// Rotate: a new master key becomes current, the old one stays readable until done.
	ctx := context.Background()
	oldKey := sys.Keys
	newKey := crypto.MasterKey{Key: bytes.Repeat([]byte{7}, crypto.KeySize)}
	newKey.ID = crypto.KeyID(newKey.Key)
	oldMaster, err := crypto.LoadMasterKey("", cfg.DataDir+"/master.key")
	testenv.Must(t, err)
	during, err := crypto.NewKeyring(newKey, oldMaster)
	testenv.Must(t, err)
	v := &identity.Vault{Store: sys.Store, Keys: during}
	moved, err := v.Rotate(ctx)
	testenv.Must(t, err)
	if moved != 3 {
		t.Errorf("rotated %d case keys, want 3", moved)
	}
	after, err := crypto.NewKeyring(newKey)
	testenv.Must(t, err)
	onlyNew := &identity.Vault{Store: sys.Store, Keys: after}
	onlyOld := &identity.Vault{Store: sys.Store, Keys: oldKey}
	for _, id := range []string{a.ID, dup.ID, b.ID} {
		p, err := onlyNew.Open(ctx, uuid.MustParse(id))
		if err != nil || p.Narrative == "" {
			t.Errorf("case %s after rotation: %v", id, err)
		}
		if _, err := onlyOld.Open(ctx, uuid.MustParse(id)); err == nil {
			t.Errorf("the old master key still opens case %s", id)
		}
	}
	// Blind indexes were recomputed under the new key.
	if ids, err := onlyNew.PossibleDuplicates(ctx, mustOpen(t, onlyNew, a.ID), uuid.MustParse(a.ID), cases.DuplicatesChecked); err != nil || len(ids) != 1 {
		t.Errorf("duplicates after rotation: %v %v", ids, err)
	}

	// Shred one case: the identity is gone, the anonymised case stays.
	testenv.Must(t, onlyNew.Shred(ctx, uuid.MustParse(a.ID), time.Now()))
	if _, err := onlyNew.Open(ctx, uuid.MustParse(a.ID)); err != identity.ErrGone {
		t.Errorf("after shredding: %v, want ErrGone", err)
	}
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM cases WHERE id = $1 AND sex = 'female' AND age_band <> ''`, a.ID))
	if n != 1 {
		t.Errorf("shredding must keep the anonymised case")
	}
}

func mustOpen(t *testing.T, v *identity.Vault, id string) identity.Person {
	p, err := v.Open(context.Background(), uuid.MustParse(id))
	testenv.Must(t, err)
	return *p
}
