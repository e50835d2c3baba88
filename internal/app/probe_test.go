package app_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// Regression tests for the findings of a black-box security probe (issue
// "Close what a black-box security probe found"): each fails if its finding
// comes back.

func agencyByName(t *testing.T, admin *testenv.Client, name string) string {
	t.Helper()
	var list struct {
		Agencies []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"agencies"`
	}
	mustStatus(t, "agencies", admin.Do(t, "GET", "/api/v1/agencies", nil, &list), http.StatusOK)
	for _, a := range list.Agencies {
		if a.Name == name {
			return a.ID
		}
	}
	t.Fatalf("no agency %q", name)
	return ""
}

// Finding 10: roles only in agencies of their kind, e-mail addresses that
// cannot pass for another, and always an active administrator.
func TestAdministrationGuards(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	admin := anon.Login(t, "admin@nrm.example")
	hotline, twg, shelter, adminAgency := agencyByName(t, admin, demo.Hotline), agencyByName(t, admin, demo.TWGSecretariat),
		agencyByName(t, admin, demo.LebapShelter), agencyByName(t, admin, demo.SysAdmin)
	users := func() int {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM users`))
		return n
	}
	before := users()
	newUser := func(email, role, agency string) map[string]string {
		return map[string]string{"email": email, "name": "New Colleague", "role": role, "agency_id": agency, "password": "a long enough passphrase"}
	}
	for name, tc := range map[string]struct {
		body  map[string]string
		field string
		rule  string
	}{
		"competent authority in an NGO": {newUser("ca@hotline.example", "competent_authority", hotline), "role", "agency_type"},
		"admin in the TWG":              {newUser("root@twg.example", "admin", twg), "role", "agency_type"},
		"frontline in a shelter":        {newUser("cop@lebap-shelter.example", "frontline", shelter), "role", "agency_type"},
		"zero-width space":              {newUser("admin\u200b@nrm.example", "admin", adminAgency), "email", "email"},
		"Cyrillic homoglyph":            {newUser("аdmin@nrm.example", "admin", adminAgency), "email", "email"},
		"case variant of an address":    {newUser("ADMIN@nrm.example", "admin", adminAgency), "email", "unique"},
		"full-width variant":            {newUser("ａｄｍｉｎ@nrm.example", "admin", adminAgency), "email", "unique"},
	} {
		var p problem
		if st := admin.Do(t, "POST", "/api/v1/users", tc.body, &p); st != http.StatusUnprocessableEntity || len(p.Errors) != 1 ||
			p.Errors[0].Field != tc.field || p.Errors[0].Rule != tc.rule {
			t.Errorf("%s: %d %+v, want 422 %s/%s", name, st, p.Errors, tc.field, tc.rule)
		}
	}
	if n := users(); n != before {
		t.Errorf("%d users after refused requests, want %d", n, before)
	}

	// Administrators do not deactivate themselves.
	var me struct {
		ID string `json:"id"`
	}
	mustStatus(t, "me", admin.Do(t, "GET", "/api/v1/me", nil, &me), http.StatusOK)
	var p problem
	if st := admin.Do(t, "POST", "/api/v1/users/"+me.ID+"/deactivate", nil, &p); st != http.StatusConflict || p.Rule != "self_deactivation" {
		t.Errorf("self-deactivation: %d %q, want 409 self_deactivation", st, p.Rule)
	}
	// Two administrators deactivating each other at once: one stays.
	var second struct {
		ID string `json:"id"`
	}
	body := newUser("second-admin@nrm.example", "admin", adminAgency)
	mustStatus(t, "second admin", admin.Do(t, "POST", "/api/v1/users", body, &second), http.StatusCreated)
	other := anon.LoginWith(t, body["email"], body["password"])
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, pair := range [][2]any{{admin, second.ID}, {other, me.ID}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = pair[0].(*testenv.Client).Do(t, "POST", "/api/v1/users/"+pair[1].(string)+"/deactivate", nil, nil)
		}()
	}
	wg.Wait()
	var active int
	testenv.Must(t, sys.Store.DB().Get(&active, `SELECT count(*) FROM users WHERE role = 'admin' AND active`))
	if active != 1 {
		t.Errorf("%d active administrators after a mutual deactivation (answers %v), want 1", active, codes)
	}
	// The store refuses the last one whoever asks.
	var last uuid.UUID
	testenv.Must(t, sys.Store.DB().Get(&last, `SELECT id FROM users WHERE role = 'admin' AND active`))
	if err := sys.Store.DeactivateUser(t.Context(), last, time.Now()); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("deactivating the last administrator: %v, want ErrLastAdmin", err)
	}
}

// Findings 7 and 11: headers and bodies the server cannot store faithfully
// are refused with a clear answer, never a 500, and change nothing.
func TestUnreadableInputIsRefused(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	count := func() int {
		var n int
		testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM cases`))
		return n
	}
	// Go's client refuses to send such headers: write the request by hand.
	body := mustJSON(t, testenv.Screening())
	for _, key := range []string{"k\xff\xfe", "key with spaces", "tab\tkey", strings.Repeat("k", 129), "nul\x01key"} {
		resp, answer := rawPost(t, sys.APIAddr, "/api/v1/cases", officer.Token, map[string]string{"Idempotency-Key": key}, body, -1)
		if status := resp.StatusCode; status != http.StatusUnprocessableEntity || !strings.Contains(answer, "Idempotency-Key") {
			t.Errorf("Idempotency-Key %q: %d %s, want 422 naming the header", key, status, answer)
		}
	}
	screening := string(mustJSON(t, testenv.Screening()))
	for name, tc := range map[string]struct {
		body        string
		contentType string
		status      int
		field       string
	}{
		"invalid UTF-8 in a name": {replaceOnce(screening, `"Aýna"`, "\"A\xffna\""), "application/json", http.StatusUnprocessableEntity, "person.given_name"},
		"duplicate key":           {replaceOnce(screening, `"person":{`, `"person":{"given_name":"Other",`), "application/json", http.StatusUnprocessableEntity, "person.given_name"},
		"UTF-16 declared":         {screening, "application/json; charset=utf-16", http.StatusUnsupportedMediaType, ""},
	} {
		resp := officer.Raw(t, "POST", "/api/v1/cases", []byte(tc.body), http.Header{"Content-Type": {tc.contentType}})
		var p problem
		decodeJSON(t, resp, &p)
		if resp.StatusCode != tc.status || (tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field)) {
			t.Errorf("%s: %d %+v, want %d naming %q", name, resp.StatusCode, p.Errors, tc.status, tc.field)
		}
	}
	if n := count(); n != 0 {
		t.Errorf("%d cases after refused requests, want 0", n)
	}
}

func replaceOnce(s, old, new string) string {
	i := strings.Index(s, old)
	if i < 0 {
		panic("replaceOnce: " + old + " not found")
	}
	return s[:i] + new + s[i+len(old):]
}

type duplicateAnswer struct {
	caseBody
	PossibleDuplicate *struct {
		Cases []struct {
			ID     string `json:"id"`
			Number string `json:"number"`
		} `json:"cases"`
	} `json:"possible_duplicate"`
}

type notificationAnswer struct {
	Notifications []struct {
		Kind              string  `json:"kind"`
		CaseID            string  `json:"case_id"`
		RelatedCaseID     *string `json:"related_case_id"`
		RelatedCaseNumber *string `json:"related_case_number"`
	} `json:"notifications"`
}

// Finding 3: an officer of another agency screening a known document number
// learns nothing about the earlier case; the competent authority is told,
// and a burst of screenings that close at once alerts the supervisors.
func TestDuplicateCheckIsNoOracle(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	lebap := anon.Login(t, "officer@lebap-police.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	decider := anon.Login(t, "decider@authority.example")
	admin := anon.Login(t, "admin@nrm.example")
	sup := map[string]string{"email": "supervisor@dashoguz-police.example", "name": "Dashoguz supervisor", "role": "supervisor",
		"agency_id": agencyByName(t, admin, demo.DashoguzPolice), "password": "a long enough passphrase"}
	mustStatus(t, "add supervisor", admin.Do(t, "POST", "/api/v1/users", sup, nil), http.StatusCreated)
	supervisor := anon.LoginWith(t, sup["email"], sup["password"])

	var earlier caseBody
	mustStatus(t, "open", lebap.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &earlier), http.StatusCreated)

	// The probe: only the document number, nothing the SOP's rule supports.
	probe := func(n int) map[string]any {
		body := testenv.Screening()
		body["person"] = map[string]any{"document_number": "I-AŞ 123456", "sex": "female", "citizenship": "TM",
			"given_name": "P" + strconv.Itoa(n)}
		body["indicators"] = []string{}
		body["urgent_needs"] = []string{}
		body["exploitation"] = []string{}
		body["narrative"] = ""
		delete(body, "consent")
		return body
	}
	resp := dashoguz.Raw(t, "POST", "/api/v1/cases", probe(0), nil)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	testenv.Must(t, err)
	mustStatus(t, "probe", resp.StatusCode, http.StatusCreated)
	var answer duplicateAnswer
	testenv.Must(t, json.Unmarshal(raw, &answer))
	if answer.PossibleDuplicate != nil || strings.Contains(string(raw), earlier.ID) || strings.Contains(string(raw), earlier.Number) ||
		strings.Contains(string(raw), "Lebap") || strings.Contains(string(raw), "duplicate") {
		t.Errorf("the probing officer learns of the earlier case: %s", raw)
	}
	// The competent authority is told which two cases to reconcile.
	var inbox notificationAnswer
	mustStatus(t, "authority's notifications", decider.Do(t, "GET", "/api/v1/notifications", nil, &inbox), http.StatusOK)
	found := false
	for _, n := range inbox.Notifications {
		if n.Kind == "possible_duplicate" && n.CaseID == answer.ID && n.RelatedCaseID != nil && *n.RelatedCaseID == earlier.ID &&
			n.RelatedCaseNumber != nil && *n.RelatedCaseNumber == earlier.Number {
			found = true
		}
	}
	if !found {
		t.Errorf("the competent authority was not notified of the possible duplicate: %+v", inbox.Notifications)
	}
	// Neither officer's agency is.
	var officers notificationAnswer
	mustStatus(t, "dashoguz notifications", supervisor.Do(t, "GET", "/api/v1/notifications", nil, &officers), http.StatusOK)
	for _, n := range officers.Notifications {
		if n.Kind == "possible_duplicate" || n.RelatedCaseID != nil {
			t.Errorf("the probing agency is told of the duplicate: %+v", n)
		}
	}

	// A burst of screenings that close at once: each is audited, and the
	// supervisors of the officer's agency are alerted once the burst is made.
	for i := 1; i < 5; i++ {
		mustStatus(t, "probe", dashoguz.Do(t, "POST", "/api/v1/cases", probe(i), nil), http.StatusCreated)
	}
	var audited int
	testenv.Must(t, sys.Store.DB().Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'case.screening.closed_at_once'`))
	if audited != 5 {
		t.Errorf("%d audit rows of screenings that closed at once, want 5", audited)
	}
	mustStatus(t, "dashoguz notifications", supervisor.Do(t, "GET", "/api/v1/notifications", nil, &officers), http.StatusOK)
	bursts := 0
	for _, n := range officers.Notifications {
		if n.Kind == "screening_burst" {
			bursts++
		}
	}
	if bursts != 1 {
		t.Errorf("%d screening_burst alerts to the supervisor after 5 probes, want 1: %+v", bursts, officers.Notifications)
	}
}

// rawPost sends a POST over a bare connection, its headers written byte
// for byte (Go's client refuses some that a probe sends), declaring a body
// of length bytes (-1: the length of body) and sending body; it returns the
// answer and its body.
func rawPost(t *testing.T, addr, path, token string, headers map[string]string, body []byte, length int) (*http.Response, string) {
	t.Helper()
	if length < 0 {
		length = len(body)
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	testenv.Must(t, err)
	defer conn.Close()
	testenv.Must(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n",
		path, addr, token, length)
	for k, v := range headers {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("\r\n")
	_, err = conn.Write(append([]byte(b.String()), body...))
	testenv.Must(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	testenv.Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, string(data)
}
