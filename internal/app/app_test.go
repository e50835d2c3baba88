package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Rule   string `json:"rule"`
	Errors []struct {
		Field string `json:"field"`
		Rule  string `json:"rule"`
	} `json:"errors"`
}

type caseBody struct {
	ID        string `json:"id"`
	Number    string `json:"number"`
	Stage     string `json:"stage"`
	Child     bool   `json:"child"`
	AgencyID  string `json:"agency_id"`
	Screening *struct {
		Outcome    string          `json:"outcome"`
		Dimensions map[string]bool `json:"dimensions"`
	} `json:"screening"`
	Person *struct {
		GivenName string `json:"given_name"`
		Narrative string `json:"narrative"`
	} `json:"person"`
}

func TestOpenCaseEndToEnd(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")

	var opened caseBody
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open case: status %d", st)
	}
	year := time.Now().In(mustLoc(t, "Asia/Ashgabat")).Year()
	if want := "TM-" + itoa(year) + "-000001"; opened.Number != want {
		t.Errorf("number = %q, want %q", opened.Number, want)
	}
	if opened.Stage != workflows.StageIdentification {
		t.Errorf("stage = %q, want identification (presumed victim with consent)", opened.Stage)
	}
	if opened.Screening == nil || opened.Screening.Outcome != "presumed_victim" {
		t.Fatalf("screening = %+v, want presumed_victim", opened.Screening)
	}
	if opened.Person != nil {
		t.Errorf("the 201 answer must not echo the identity")
	}

	// The second case gets the next number of the year.
	var second caseBody
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &second); st != http.StatusCreated {
		t.Fatalf("open second case: status %d", st)
	}
	if want := "TM-" + itoa(year) + "-000002"; second.Number != want {
		t.Errorf("second number = %q, want %q", second.Number, want)
	}

	// The workflow runs under the case's ID and recorded the opening events.
	ctx := context.Background()
	desc, err := sys.Temporal.DescribeWorkflowExecution(ctx, workflows.CaseWorkflowID(opened.ID), "")
	testenv.Must(t, err)
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Errorf("workflow status = %v, want running", s)
	}
	testenv.Eventually(t, 10*time.Second, "timeline events", func() bool {
		ev, err := sys.Store.Timeline(ctx, uuid.MustParse(opened.ID))
		return err == nil && len(ev) == 3 && ev[0].Type == "case_opened" && ev[2].Type == "consent_given"
	})

	// List and read as the owner: identity present, read audited.
	var list struct {
		Cases []caseBody `json:"cases"`
	}
	if st := officer.Do(t, "GET", "/api/v1/cases", nil, &list); st != http.StatusOK || len(list.Cases) != 2 {
		t.Fatalf("list: status %d, %d cases", st, len(list.Cases))
	}
	if list.Cases[0].Person != nil {
		t.Errorf("lists must carry no identity")
	}
	resp := officer.Raw(t, "GET", "/api/v1/cases/"+opened.ID, nil, http.Header{"X-Request-Id": {"test-request-0001"}})
	resp.Body.Close()
	serverID := resp.Header.Get("X-Request-Id")
	if _, err := uuid.Parse(serverID); err != nil || resp.Header.Get("X-Client-Request-Id") != "test-request-0001" {
		t.Errorf("X-Request-Id %q (want the server's own UUID), X-Client-Request-Id %q (want the client's)", serverID, resp.Header.Get("X-Client-Request-Id"))
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	var got caseBody
	if st := officer.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &got); st != http.StatusOK {
		t.Fatalf("get: status %d", st)
	}
	if got.Person == nil || got.Person.GivenName != "Aýna" || !strings.Contains(got.Person.Narrative, "Istanbul") {
		t.Errorf("owner must see the identity, got %+v", got.Person)
	}
	var audits []struct {
		RequestID       string  `db:"request_id"`
		ClientRequestID *string `db:"client_request_id"`
		Action          string  `db:"action"`
	}
	testenv.Must(t, sys.Store.DB().Select(&audits, `SELECT request_id, client_request_id, action FROM audit_log WHERE case_id = $1 AND action NOT LIKE 'command %' ORDER BY id`, opened.ID))
	if len(audits) != 2 || audits[0].RequestID != serverID || audits[0].ClientRequestID == nil || *audits[0].ClientRequestID != "test-request-0001" ||
		audits[0].Action != "case.identity.read" || audits[1].ClientRequestID != nil {
		t.Errorf("audit rows = %+v, want two identity reads, the first with the server's request ID %s and the client's test-request-0001 apart", audits, serverID)
	}

	// Another agency's officer: 404, not 403, so the case's existence stays hidden.
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	var p problem
	if st := dashoguz.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &p); st != http.StatusNotFound || p.Type != "urn:nrm:problem:not-found" {
		t.Errorf("foreign officer: status %d type %q, want 404 not-found", st, p.Type)
	}
	if st := dashoguz.Do(t, "GET", "/api/v1/cases", nil, &list); st != http.StatusOK || len(list.Cases) != 0 {
		t.Errorf("foreign officer list: status %d, %d cases, want none", st, len(list.Cases))
	}
	// The competent authority is national: it sees the case.
	decider := anon.Login(t, "decider@authority.example")
	if st := decider.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &got); st != http.StatusOK {
		t.Errorf("competent authority: status %d, want 200", st)
	}
	// A provider has no case route: 403.
	shelter := anon.Login(t, "shelter@lebap-shelter.example")
	if st := shelter.Do(t, "GET", "/api/v1/cases/"+opened.ID, nil, &p); st != http.StatusForbidden {
		t.Errorf("provider: status %d, want 403", st)
	}
	if st := shelter.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &p); st != http.StatusForbidden {
		t.Errorf("provider opening a case: status %d, want 403", st)
	}
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")

	var p problem
	if st := anon.Do(t, "GET", "/api/v1/cases", nil, &p); st != http.StatusUnauthorized || p.Type != "urn:nrm:problem:unauthenticated" {
		t.Errorf("no token: status %d type %q", st, p.Type)
	}
	bogus := &testenv.Client{Base: anon.Base, HTTP: anon.HTTP, Token: "not-a-session"}
	if st := bogus.Do(t, "GET", "/api/v1/me", nil, &p); st != http.StatusUnauthorized {
		t.Errorf("bad token: status %d", st)
	}
	resp := officer.Raw(t, "POST", "/api/v1/cases", []byte(`{"person": {`), nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("malformed JSON: status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if st := officer.Do(t, "POST", "/api/v1/cases", []byte(`[1,2]`), &p); st != http.StatusBadRequest {
		t.Errorf("array body: status %d, want 400", st)
	}

	bad := testenv.Screening()
	person := bad["person"].(map[string]any)
	person["given_name"] = ""
	person["sex"] = "x"
	person["birth_date"] = "14.05.2001"
	bad["indicators"] = []string{"false_job_offer", "no_such_indicator"}
	bad["urgent_needs"] = []string{"legal_aid"}
	bad["encounter"].(map[string]any)["region"] = "atlantis"
	if st := officer.Do(t, "POST", "/api/v1/cases", bad, &p); st != http.StatusUnprocessableEntity {
		t.Fatalf("invalid body: status %d, want 422", st)
	}
	fields := map[string]string{}
	for _, e := range p.Errors {
		fields[e.Field] = e.Rule
	}
	for field, rule := range map[string]string{"person.given_name": "required", "person.sex": "oneof", "person.birth_date": "datetime"} {
		if fields[field] != rule {
			t.Errorf("error for %s = %q, want %q (all: %v)", field, fields[field], rule, fields)
		}
	}
	// SOP rules are checked once the shape is right.
	bad = testenv.Screening()
	bad["indicators"] = []string{"false_job_offer", "no_such_indicator"}
	bad["urgent_needs"] = []string{"legal_aid"}
	bad["encounter"].(map[string]any)["region"] = "atlantis"
	delete(bad, "consent")
	if st := officer.Do(t, "POST", "/api/v1/cases", bad, &p); st != http.StatusUnprocessableEntity {
		t.Fatalf("SOP-invalid body: status %d, want 422", st)
	}
	fields = map[string]string{}
	for _, e := range p.Errors {
		fields[e.Field] = e.Rule
	}
	for field, rule := range map[string]string{"indicators[1]": "sop_indicator", "urgent_needs[0]": "sop_urgent", "encounter.region": "oneof", "consent": "required"} {
		if fields[field] != rule {
			t.Errorf("error for %s = %q, want %q (all: %v)", field, fields[field], rule, fields)
		}
	}
	unknown := testenv.Screening()
	unknown["social_security"] = "123"
	if st := officer.Do(t, "POST", "/api/v1/cases", unknown, &p); st != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Rule != "unknown_field" {
		t.Errorf("unknown field: status %d errors %+v", st, p.Errors)
	}
	typed := testenv.Screening()
	typed["person"].(map[string]any)["age_estimate"] = "twenty"
	delete(typed["person"].(map[string]any), "birth_date")
	if st := officer.Do(t, "POST", "/api/v1/cases", typed, &p); st != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "person.age_estimate" {
		t.Errorf("wrong type: status %d errors %+v", st, p.Errors)
	}
	// Too large: the server answers 413 on the declared length, before the
	// body. Sending the headers alone keeps the test from racing the server,
	// which closes the connection rather than read a body it refuses.
	// The server refuses it before any middleware runs; the answer still
	// carries the request ID and the security headers.
	if tooLarge := declareTooLarge(t, sys.APIAddr, officer.Token, cfg.BodyLimit+1); tooLarge.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: status %d, want 413", tooLarge.StatusCode)
	} else {
		for _, h := range []string{"X-Request-ID", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy", "Cache-Control"} {
			if tooLarge.Header.Get(h) == "" {
				t.Errorf("the 413 answer lacks %s", h)
			}
		}
	}
	resp = officer.Raw(t, "POST", "/api/v1/cases", []byte(`{}`), http.Header{"Content-Type": {"text/plain"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: status %d, want 415", resp.StatusCode)
	}

	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM persons)`))
	if n != 0 {
		t.Errorf("refused requests left %d rows behind", n)
	}
}

func TestAuthSessions(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	var p problem
	if st := anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "officer@lebap-police.example", "password": "wrong password!"}, &p); st != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d", st)
	}
	if st := anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.org", "password": "wrong password!"}, &p); st != http.StatusUnauthorized || p.Type != "urn:nrm:problem:bad-credentials" {
		t.Errorf("unknown user: status %d type %s", st, p.Type)
	}
	officer := anon.Login(t, "officer@lebap-police.example")
	var me struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if st := officer.Do(t, "GET", "/api/v1/me", nil, &me); st != http.StatusOK || me.Role != "frontline" || me.Email != "officer@lebap-police.example" {
		t.Errorf("me: status %d %+v", st, me)
	}
	var stored int
	testenv.Must(t, sys.Store.DB().Get(&stored, `SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, officer.Token))
	if stored != 1 {
		t.Errorf("the session must be stored as the SHA-256 of its token")
	}
	var plain int
	testenv.Must(t, sys.Store.DB().Get(&plain, `SELECT count(*) FROM sessions WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'`, officer.Token))
	if plain != 0 {
		t.Errorf("the token itself must not be stored")
	}
	if st := officer.Do(t, "POST", "/api/v1/auth/logout", nil, nil); st != http.StatusNoContent {
		t.Errorf("logout: status %d", st)
	}
	if st := officer.Do(t, "GET", "/api/v1/me", nil, &p); st != http.StatusUnauthorized {
		t.Errorf("after logout: status %d, want 401", st)
	}
	// Idle expiry: a session unused for longer than the idle window is dead.
	idle := anon.Login(t, "officer@lebap-police.example")
	_, err := sys.Store.DB().Exec(`UPDATE sessions SET last_seen_at = now() - $1::interval WHERE token_hash = sha256(convert_to($2, 'UTF8'))`,
		(cfg.SessionIdle + time.Minute).String(), idle.Token)
	testenv.Must(t, err)
	if st := idle.Do(t, "GET", "/api/v1/me", nil, &p); st != http.StatusUnauthorized {
		t.Errorf("idle session: status %d, want 401", st)
	}
	// Absolute expiry.
	old := anon.Login(t, "officer@lebap-police.example")
	_, err = sys.Store.DB().Exec(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, old.Token)
	testenv.Must(t, err)
	if st := old.Do(t, "GET", "/api/v1/me", nil, &p); st != http.StatusUnauthorized {
		t.Errorf("expired session: status %d, want 401", st)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	c := testenv.NewClient(sys)
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if st := c.Do(t, "GET", "/healthz", nil, &body); st != http.StatusOK || body.Status != "ok" {
		t.Errorf("healthz: %d %+v", st, body)
	}
	if st := c.Do(t, "GET", "/readyz", nil, &body); st != http.StatusOK || body.Checks["postgres"] != "ok" || body.Checks["temporal"] != "ok" {
		t.Errorf("readyz: %d %+v", st, body)
	}
	sys.Dev.Stop()
	if st := c.Do(t, "GET", "/readyz", nil, &body); st != http.StatusServiceUnavailable || body.Checks["temporal"] != "unreachable" {
		t.Errorf("readyz with Temporal down: %d %+v", st, body)
	}
}

// TestRestartResumesWorkflows stops the whole dev system and starts it again
// on the same data directory and database: the case's workflow still runs.
func TestRestartResumesWorkflows(t *testing.T) {
	t.Parallel()
	db := testenv.Database(t)
	dataDir := t.TempDir()
	cfg := testenv.Config(t, db, dataDir)
	ctx := context.Background()

	sys, err := app.Start(ctx, cfg, testenv.Logger(t), app.Parts{EmbeddedTemporal: true, Migrate: true, Worker: true, API: true})
	testenv.Must(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			sys.Stop()
		}
	})
	_, err = demoSeed(sys)
	testenv.Must(t, err)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	if st := officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened); st != http.StatusCreated {
		t.Fatalf("open: %d", st)
	}
	sys.Stop()
	stopped = true

	again := testenv.Start(t, cfg)
	desc, err := again.Temporal.DescribeWorkflowExecution(ctx, workflows.CaseWorkflowID(opened.ID), "")
	testenv.Must(t, err)
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("after restart, workflow status = %v, want running", s)
	}
	// The worker of the new process picks the workflow up (finishing what the
	// first process may have left in flight) and answers its query.
	var state workflows.CaseState
	testenv.Eventually(t, 20*time.Second, "the resumed workflow's state", func() bool {
		resp, err := again.Temporal.QueryWorkflow(ctx, workflows.CaseWorkflowID(opened.ID), "", workflows.QueryState)
		return err == nil && resp.Get(&state) == nil && state.Stage == workflows.StageIdentification
	})
	if state.CaseID != opened.ID || state.Seq != 3 {
		t.Errorf("state after restart = %+v", state)
	}
	// And the same login still works: sessions live in PostgreSQL.
	var me struct {
		Email string `json:"email"`
	}
	officer.Base = "http://" + again.APIAddr
	if st := officer.Do(t, "GET", "/api/v1/me", nil, &me); st != http.StatusOK {
		t.Errorf("session after restart: status %d", st)
	}
}

// declareTooLarge sends POST /api/v1/cases headers declaring a body of n
// bytes, without the body, and returns the answer (its body read).
func declareTooLarge(t *testing.T, addr, token string, n int) *http.Response {
	t.Helper()
	resp, _ := rawPost(t, addr, "/api/v1/cases", token, nil, nil, n)
	return resp
}
