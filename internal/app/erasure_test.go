package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestErasureOrderedByAuthority: the competent authority orders a person's
// identity erased (issue 5). The data key, the person and the blind indexes
// go in one transaction with a timeline event naming the reason and the
// order; the anonymised case, its stage and the statistics stay; a second
// order is refused (409 already_erased); the retention shredding that comes
// later still succeeds.
func TestErasureOrderedByAuthority(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	ctx := context.Background()
	db := sys.Store.DB()
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	foreignOfficer := anon.Login(t, "officer@dashoguz-police.example")
	const authorityEmail = "decider@authority.example"
	decider := anon.Login(t, authorityEmail)

	mark := "ERASE" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	body := testenv.Screening()
	body["person"].(map[string]any)["given_name"] = mark
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", body, &opened), http.StatusCreated)
	base := "/api/v1/cases/" + opened.ID
	// A second case that must keep its identity.
	var other caseBody
	mustStatus(t, "open other", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &other), http.StatusCreated)

	// Let the workflow settle the stage before comparing it.
	var before caseBody
	testenv.Eventually(t, 30*time.Second, "stage past screening", func() bool {
		before = caseBody{}
		return decider.Do(t, "GET", base, nil, &before) == http.StatusOK && before.Stage != "" && before.Stage != "screening"
	})
	if before.Person == nil || before.Person.GivenName != mark {
		t.Fatalf("the authority does not read the identity before erasure: %+v", before.Person)
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		testenv.Must(t, db.Get(&n, q, args...))
		return n
	}
	casesBefore := count(`SELECT count(*) FROM cases`)
	var anonBefore string
	testenv.Must(t, db.Get(&anonBefore, `SELECT concat_ws('|', sex, age_band, citizenship, region, indicators::text, screening_outcome) FROM cases WHERE id = $1`, opened.ID))
	if count(`SELECT count(*) FROM person_index WHERE case_id = $1`, opened.ID) == 0 {
		t.Fatalf("the case has no blind index to remove: the test proves nothing")
	}

	erasure := base + "/erasure"
	valid := map[string]string{"reason": "court_order", "order": "No. 12/2026-A"}

	// Other roles may not; nor may another agency (the role gate comes first).
	mustStatus(t, "frontline erasure", officer.Do(t, "POST", erasure, valid, nil), http.StatusForbidden)
	mustStatus(t, "foreign frontline erasure", foreignOfficer.Do(t, "POST", erasure, valid, nil), http.StatusForbidden)

	// Bad bodies: 422, and nothing changes.
	for name, bad := range map[string]any{
		"unknown reason":  map[string]string{"reason": "because", "order": "12/2026"},
		"order newline":   map[string]string{"reason": "court_order", "order": "12/2026\nAýna Berdiýewa"},
		"order 33 chars":  map[string]string{"reason": "court_order", "order": strings.Repeat("1", 33)},
		"order a name":    map[string]string{"reason": "court_order", "order": "BERDIYEWA-2001-05-14"},
		"order in words":  map[string]string{"reason": "court_order", "order": "Ayna 12/2026"},
		"order no digit":  map[string]string{"reason": "court_order", "order": "ABC/DEF"},
		"order spaced":    map[string]string{"reason": "court_order", "order": "12 2026"},
		"order cyrillic":  map[string]string{"reason": "court_order", "order": "АЙНА-12"},
		"order free text": map[string]string{"reason": "court_order", "order": "Aýna, born 2001-05-14 (+99365000000)"},
		"order blank":     map[string]string{"reason": "court_order", "order": ""},
		"missing order":   map[string]string{"reason": "court_order"},
		"missing reason":  map[string]string{"order": "12/2026"},
		"empty":           map[string]string{},
		"unknown field":   map[string]string{"reason": "court_order", "order": "12/2026", "note": "x"},
	} {
		var p struct {
			Errors []struct{ Field, Rule string } `json:"errors"`
		}
		if st := decider.Do(t, "POST", erasure, bad, &p); st != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
			t.Errorf("%s: status %d errors %+v, want 422 with errors", name, st, p.Errors)
		}
	}
	var still caseBody
	mustStatus(t, "read after bad bodies", decider.Do(t, "GET", base, nil, &still), http.StatusOK)
	if still.Person == nil || still.Person.GivenName != mark {
		t.Fatalf("a refused erasure changed the identity: %+v", still.Person)
	}
	if n := count(`SELECT count(*) FROM case_keys WHERE case_id = $1 AND wrapped IS NOT NULL`, opened.ID); n != 1 {
		t.Fatalf("a refused erasure destroyed the key")
	}

	// Unknown or malformed case IDs: 404, whatever the body.
	mustStatus(t, "random case", decider.Do(t, "POST", "/api/v1/cases/"+uuid.NewString()+"/erasure", valid, nil), http.StatusNotFound)
	mustStatus(t, "random case, bad body", decider.Do(t, "POST", "/api/v1/cases/"+uuid.NewString()+"/erasure", map[string]string{}, nil), http.StatusNotFound)
	mustStatus(t, "malformed case ID", decider.Do(t, "POST", "/api/v1/cases/not-a-uuid/erasure", valid, nil), http.StatusNotFound)

	// The erasure.
	var erased caseBody
	mustStatus(t, "erase", decider.Do(t, "POST", erasure, valid, &erased), http.StatusOK)
	if erased.ID != opened.ID || erased.Person != nil || erased.Stage != before.Stage {
		t.Errorf("erasure answered %+v, want the case in stage %s without a person", erased, before.Stage)
	}
	for _, c := range []*testenvClient{{"authority", decider}, {"owner", officer}} {
		resp := c.c.Raw(t, "GET", base, nil, nil)
		var raw map[string]json.RawMessage
		decodeJSON(t, resp, &raw)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s reads the erased case: %d", c.name, resp.StatusCode)
		}
		if _, ok := raw["person"]; ok && string(raw["person"]) != "null" {
			t.Errorf("%s still reads a person: %s", c.name, raw["person"])
		}
		all, _ := json.Marshal(raw)
		if strings.Contains(string(all), mark) {
			t.Errorf("%s still reads the marker", c.name)
		}
		var after caseBody
		testenv.Must(t, json.Unmarshal(all, &after))
		if after.Stage != before.Stage {
			t.Errorf("%s: stage %s after erasure, was %s", c.name, after.Stage, before.Stage)
		}
	}
	if n := count(`SELECT count(*) FROM persons WHERE case_id = $1`, opened.ID); n != 0 {
		t.Errorf("the persons row survived the erasure")
	}
	if n := count(`SELECT count(*) FROM person_index WHERE case_id = $1`, opened.ID); n != 0 {
		t.Errorf("%d blind indexes survived the erasure", n)
	}
	if n := count(`SELECT count(*) FROM case_keys WHERE case_id = $1 AND wrapped IS NULL AND key_id IS NULL AND destroyed_at IS NOT NULL`, opened.ID); n != 1 {
		t.Errorf("the case's key was not destroyed")
	}
	if n := count(`SELECT count(*) FROM persons WHERE case_id = $1`, other.ID); n != 1 {
		t.Errorf("the erasure touched another case's person")
	}
	var otherRead caseBody
	mustStatus(t, "read other", decider.Do(t, "GET", "/api/v1/cases/"+other.ID, nil, &otherRead), http.StatusOK)
	if otherRead.Person == nil || otherRead.Person.GivenName == "" {
		t.Errorf("the other case lost its identity")
	}

	// The anonymised record and the statistics stay.
	if n := count(`SELECT count(*) FROM cases`); n != casesBefore {
		t.Errorf("cases: %d after erasure, %d before", n, casesBefore)
	}
	var anonAfter string
	testenv.Must(t, db.Get(&anonAfter, `SELECT concat_ws('|', sex, age_band, citizenship, region, indicators::text, screening_outcome) FROM cases WHERE id = $1`, opened.ID))
	if anonAfter != anonBefore {
		t.Errorf("anonymised record changed: %q → %q", anonBefore, anonAfter)
	}

	// The timeline records the order, by the authority, and nothing personal.
	authority, err := sys.Store.UserByEmail(ctx, authorityEmail)
	testenv.Must(t, err)
	var tl struct {
		Events []struct {
			ID      string            `json:"id"`
			Seq     int               `json:"seq"`
			Type    string            `json:"type"`
			ActorID *string           `json:"actor_id"`
			Data    map[string]string `json:"data"`
		} `json:"events"`
	}
	mustStatus(t, "timeline", decider.Do(t, "GET", base+"/timeline", nil, &tl), http.StatusOK)
	found, maxSeq := 0, 0
	for _, e := range tl.Events {
		if e.Type != "identity_erased" {
			maxSeq = max(maxSeq, e.Seq)
			continue
		}
		found++
		if e.Data["reason"] != "court_order" || e.Data["order"] != "No. 12/2026-A" || len(e.Data) != 2 {
			t.Errorf("erasure event data %v", e.Data)
		}
		if e.ActorID == nil || *e.ActorID != authority.ID.String() {
			t.Errorf("erasure event actor %v, want %s", e.ActorID, authority.ID)
		}
		if e.ID != "case-"+opened.ID+"/erasure" || e.Seq <= maxSeq {
			t.Errorf("erasure event id %s seq %d (max before %d)", e.ID, e.Seq, maxSeq)
		}
	}
	if found != 1 {
		t.Errorf("%d identity_erased events, want 1", found)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'case.identity.erase' AND case_id = $1 AND user_id = $2`, opened.ID, authority.ID); n != 1 {
		t.Errorf("%d audit entries of the erasure, want 1", n)
	}

	// A second order: 409 already_erased, and no second event.
	var p struct {
		Rule string `json:"rule"`
	}
	if st := decider.Do(t, "POST", erasure, map[string]string{"reason": "data_subject_request", "order": "13/2026"}, &p); st != http.StatusConflict || p.Rule != "already_erased" {
		t.Errorf("second erasure: %d rule %q, want 409 already_erased", st, p.Rule)
	}
	if n := count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND type = 'identity_erased'`, opened.ID); n != 1 {
		t.Errorf("%d erasure events after the refused second order", n)
	}

	// The retention timer firing later still succeeds (shredding is idempotent).
	testenv.Must(t, sys.Store.DestroyCaseKey(ctx, uuid.MustParse(opened.ID), time.Now()))
	if n := count(`SELECT count(*) FROM case_keys WHERE case_id = $1 AND wrapped IS NULL`, opened.ID); n != 1 {
		t.Errorf("the key came back")
	}

	// The case lives on: its workflow still takes a command without free text.
	mustStatus(t, "refer after erasure", officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter"}, nil), http.StatusCreated)
}

type testenvClient struct {
	name string
	c    *testenv.Client
}
