package app_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// Transfer, reopening and links over HTTP (docs/process.md#transfer,
// #reopening, #linked-cases), against PostgreSQL and the in-process
// Temporal server.

type transferCaseBody struct {
	fullCase
	Region        string  `json:"region"`
	ServiceRegion *string `json:"service_region"`
	ReopenedCount int     `json:"reopened_count"`
	ReTrafficked  bool    `json:"re_trafficked"`
}

type ruleProblem struct {
	Rule   string `json:"rule"`
	Errors []struct {
		Field string `json:"field"`
		Rule  string `json:"rule"`
	} `json:"errors"`
}

func (p ruleProblem) field(name string) string {
	for _, e := range p.Errors {
		if e.Field == name {
			return e.Rule
		}
	}
	return ""
}

// listed reports whether the caller's case list holds the case.
func listed(t *testing.T, c *testenv.Client, id string) bool {
	t.Helper()
	var page struct {
		Cases []struct {
			ID string `json:"id"`
		} `json:"cases"`
	}
	mustStatus(t, "list cases", c.Do(t, "GET", "/api/v1/cases?limit=500", nil, &page), http.StatusOK)
	return slices.ContainsFunc(page.Cases, func(x struct {
		ID string `json:"id"`
	}) bool {
		return x.ID == id
	})
}

func notified(t *testing.T, c *testenv.Client, caseID, kind string) bool {
	t.Helper()
	var page struct {
		Notifications []struct {
			Kind   string `json:"kind"`
			CaseID string `json:"case_id"`
		} `json:"notifications"`
	}
	if c.Do(t, "GET", "/api/v1/notifications?limit=200", nil, &page) != http.StatusOK {
		return false
	}
	for _, n := range page.Notifications {
		if n.Kind == kind && n.CaseID == caseID {
			return true
		}
	}
	return false
}

func eventOf(t *testing.T, c *testenv.Client, base, kind string) map[string]string {
	t.Helper()
	var tl struct {
		Events []struct {
			Type    string            `json:"type"`
			ActorID *string           `json:"actor_id"`
			Data    map[string]string `json:"data"`
		} `json:"events"`
	}
	mustStatus(t, "timeline", c.Do(t, "GET", base+"/timeline", nil, &tl), http.StatusOK)
	var out map[string]string
	for _, e := range tl.Events {
		if e.Type == kind {
			out = e.Data
			if e.ActorID != nil {
				out["actor_id"] = *e.ActorID
			}
		}
	}
	return out
}

// A child's case moves from the Lebap police to the Trust hotline NGO: a
// transfer the procedure refuses changes nothing; the transfer itself takes
// the case off the old agency's list and puts it, with its open deadline
// owned by the agency, on the new one's; both agencies are told; the old
// agency loses access at once. The competent authority then moves it on to
// another region with a region change.
func TestTransferOverHTTP(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	ctx := context.Background()
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	outreach := anon.Login(t, "outreach@hotline.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	decider := anon.Login(t, "decider@authority.example")
	admin := anon.Login(t, "admin@nrm.example")
	agency := func(name string) string {
		a, err := sys.Store.AgencyByName(ctx, name)
		testenv.Must(t, err)
		return a.ID.String()
	}
	lebap, hotline, dashoguzPolice := agency(demo.LebapPolice), agency(demo.Hotline), agency(demo.DashoguzPolice)
	mustStatus(t, "a hotline supervisor", admin.Do(t, "POST", "/api/v1/users", map[string]any{"email": "supervisor@hotline.example",
		"name": "Hotline supervisor", "role": "supervisor", "agency_id": hotline, "password": "a long enough password"}, nil), http.StatusCreated)
	hotlineSupervisor := anon.LoginWith(t, "supervisor@hotline.example", "a long enough password")

	// A child's case: child protection must be notified within 24 hours by the case's agency.
	body := testenv.Screening()
	person := body["person"].(map[string]any)
	delete(person, "birth_date")
	person["age_estimate"] = 15
	delete(body, "consent")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", body, &opened), http.StatusCreated)
	base := "/api/v1/cases/" + opened.ID
	owner := func(c transferCaseBody, obligation string) string {
		o := c.obligation(obligation)
		if o == nil || o.OwnerAgencyID == nil {
			t.Fatalf("no %s obligation with an owner: %+v", obligation, c.Obligations)
		}
		return *o.OwnerAgencyID + "/" + o.Status
	}
	var before transferCaseBody
	mustStatus(t, "read", officer.Do(t, "GET", base, nil, &before), http.StatusOK)
	if got := owner(before, "child_protection_notified"); got != lebap+"/pending" {
		t.Fatalf("child_protection_notified before the transfer: %s, want the Lebap police's, pending", got)
	}
	authorityDeadline := owner(before, "preliminary_decision")
	if !listed(t, officer, opened.ID) || listed(t, outreach, opened.ID) {
		t.Fatalf("before the transfer: in the Lebap list %v, in the hotline's %v", listed(t, officer, opened.ID), listed(t, outreach, opened.ID))
	}

	// Refused, changing nothing.
	count := func(q string, args ...any) int {
		var n int
		testenv.Must(t, sys.Store.DB().GetContext(ctx, &n, q, args...))
		return n
	}
	snapshot := func() string {
		var agencyID string
		testenv.Must(t, sys.Store.DB().GetContext(ctx, &agencyID, `SELECT agency_id::text FROM cases WHERE id = $1`, opened.ID))
		return agencyID + " " + itoa(count(`SELECT count(*) FROM case_events WHERE case_id = $1`, opened.ID)) + " " +
			itoa(count(`SELECT count(*) FROM case_notes WHERE case_id = $1`, opened.ID)) + " " +
			itoa(count(`SELECT count(*) FROM notifications WHERE case_id = $1`, opened.ID)) + " " +
			itoa(count(`SELECT count(*) FROM obligations WHERE case_id = $1 AND owner_agency_id = $2`, opened.ID, lebap))
	}
	unchanged := snapshot()
	transfer := base + "/transfer"
	reason := "The family moved; the hotline NGO follows the child up."
	mustStatus(t, "an officer transfers", officer.Do(t, "POST", transfer, map[string]string{"agency_id": hotline, "reason": reason}, nil), http.StatusForbidden)
	mustStatus(t, "another agency's officer", dashoguz.Do(t, "POST", transfer, map[string]string{"agency_id": hotline, "reason": reason}, nil), http.StatusForbidden)
	for _, c := range []struct {
		name  string
		body  map[string]string
		field string
		rule  string
	}{
		{"an agency outside the region", map[string]string{"agency_id": dashoguzPolice, "reason": reason}, "agency_id", "serves_region"},
		{"a shelter", map[string]string{"agency_id": agency(demo.LebapShelter), "reason": reason}, "agency_id", "owns_cases"},
		{"the competent authority", map[string]string{"agency_id": agency(demo.Authority), "reason": reason}, "agency_id", "owns_cases"},
		{"no such agency", map[string]string{"agency_id": uuid.NewString(), "reason": reason}, "agency_id", "exists"},
		{"not an ID", map[string]string{"agency_id": "hotline", "reason": reason}, "agency_id", "uuid"},
		{"no reason", map[string]string{"agency_id": hotline}, "reason", "required"},
		{"an unknown region", map[string]string{"agency_id": hotline, "reason": reason, "region": "atlantis"}, "region", "oneof"},
		{"an unknown field", map[string]string{"agency_id": hotline, "reason": reason, "priority": "high"}, "priority", "unknown_field"},
	} {
		var p ruleProblem
		if st := supervisor.Do(t, "POST", transfer, c.body, &p); st != http.StatusUnprocessableEntity || p.field(c.field) != c.rule {
			t.Errorf("%s: %d %+v, want 422 naming %s (%s)", c.name, st, p, c.field, c.rule)
		}
	}
	var p ruleProblem
	if st := supervisor.Do(t, "POST", transfer, map[string]string{"agency_id": lebap, "reason": reason}, &p); st != http.StatusConflict || p.Rule != "same_agency" {
		t.Errorf("to its own agency: %d %q, want 409 same_agency", st, p.Rule)
	}
	if got := snapshot(); got != unchanged {
		t.Errorf("refused transfers changed the case: %s, was %s", got, unchanged)
	}

	// The transfer.
	var moved struct {
		ID            string `json:"case_id"`
		AgencyID      string `json:"agency_id"`
		ServiceRegion string `json:"service_region"`
		Stage         string `json:"stage"`
	}
	mustStatus(t, "transfer", supervisor.Do(t, "POST", transfer, map[string]string{"agency_id": hotline, "reason": reason}, &moved), http.StatusOK)
	if moved.ID != opened.ID || moved.AgencyID != hotline || moved.ServiceRegion != "lebap" || moved.Stage != workflows.StageIdentification {
		t.Errorf("transfer answered %+v", moved)
	}

	// Off the old agency's list, on the new one's, with its open deadlines.
	if listed(t, officer, opened.ID) || listed(t, supervisor, opened.ID) || !listed(t, outreach, opened.ID) || !listed(t, hotlineSupervisor, opened.ID) {
		t.Errorf("after the transfer: Lebap lists it %v/%v, the hotline %v/%v", listed(t, officer, opened.ID), listed(t, supervisor, opened.ID),
			listed(t, outreach, opened.ID), listed(t, hotlineSupervisor, opened.ID))
	}
	mustStatus(t, "the old agency reads it", officer.Do(t, "GET", base, nil, nil), http.StatusNotFound)
	mustStatus(t, "the old supervisor's note", supervisor.Do(t, "POST", base+"/notes", map[string]string{"note": "still ours?"}, nil), http.StatusNotFound)
	mustStatus(t, "the old supervisor's transfer", supervisor.Do(t, "POST", transfer, map[string]string{"agency_id": lebap, "reason": reason}, nil), http.StatusNotFound)
	var after transferCaseBody
	mustStatus(t, "the new agency reads it", outreach.Do(t, "GET", base, nil, &after), http.StatusOK)
	if after.AgencyID != hotline || after.ServiceRegion != nil || after.Region != "lebap" {
		t.Errorf("after the transfer: agency %s, service region %v, region %s", after.AgencyID, after.ServiceRegion, after.Region)
	}
	if got := owner(after, "child_protection_notified"); got != hotline+"/pending" {
		t.Errorf("child_protection_notified after the transfer: %s, want the hotline's, pending", got)
	}
	if got := owner(after, "preliminary_decision"); got != authorityDeadline {
		t.Errorf("the competent authority's deadline moved: %s, was %s", got, authorityDeadline)
	}
	if n := count(`SELECT count(*) FROM obligations WHERE case_id = $1 AND owner_agency_id = $2 AND status IN ('pending', 'running')`, opened.ID, lebap); n != 0 {
		t.Errorf("%d open obligations still owned by the old agency", n)
	}
	ev := eventOf(t, outreach, base, "case_transferred")
	if ev == nil || ev["from_agency_id"] != lebap || ev["to_agency_id"] != hotline || ev["note_id"] == "" || ev["from_region"] != "" {
		t.Errorf("case_transferred event %v", ev)
	}
	testenv.Eventually(t, 20*time.Second, "both agencies told", func() bool {
		return notified(t, outreach, opened.ID, "case_transferred") && notified(t, hotlineSupervisor, opened.ID, "case_transferred") &&
			notified(t, officer, opened.ID, "case_transferred_away")
	})
	if notified(t, outreach, opened.ID, "case_transferred_away") || notified(t, officer, opened.ID, "case_transferred") {
		t.Errorf("an agency was told of the other's side of the transfer")
	}
	// The reason is a sealed note, never in the timeline or the audit log; the command is audited.
	if n := count(`SELECT count(*) FROM case_events WHERE case_id = $1 AND data::text LIKE '%family moved%'`, opened.ID) +
		count(`SELECT count(*) FROM case_notes WHERE case_id = $1 AND position(convert_to('family moved', 'UTF8') in body) > 0`, opened.ID) +
		count(`SELECT count(*) FROM audit_log WHERE fields::text LIKE '%family moved%' OR action LIKE '%family moved%'`); n != 0 {
		t.Errorf("the transfer's reason is stored in clear (%d places)", n)
	}
	if n := count(`SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'transfer'`, opened.ID); n != 1 {
		t.Errorf("%d sealed transfer notes, want 1", n)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'command POST /api/v1/cases/:id/transfer'`, opened.ID); n != 1 {
		t.Errorf("%d audit entries of the transfer, want 1", n)
	}

	// The new agency works the case: the guardian meets the deadline it took over.
	mustStatus(t, "guardian", outreach.Do(t, "POST", base+"/guardian", map[string]string{"name": "n", "authority": "a"}, nil), http.StatusOK)
	mustStatus(t, "read", hotlineSupervisor.Do(t, "GET", base, nil, &after), http.StatusOK)
	if got := owner(after, "child_protection_notified"); got != hotline+"/met" {
		t.Errorf("child_protection_notified after the guardian: %s", got)
	}

	// The competent authority moves the case on with the person: to the
	// Dashoguz police, which serves Dashoguz only, with a region change.
	var again struct {
		AgencyID      string `json:"agency_id"`
		ServiceRegion string `json:"service_region"`
	}
	mustStatus(t, "transfer to Dashoguz", decider.Do(t, "POST", transfer, map[string]string{"agency_id": dashoguzPolice,
		"reason": "The child and the family moved to Dashoguz.", "region": "dashoguz"}, &again), http.StatusOK)
	if again.AgencyID != dashoguzPolice || again.ServiceRegion != "dashoguz" {
		t.Errorf("transfer with a region change answered %+v", again)
	}
	var there transferCaseBody
	mustStatus(t, "Dashoguz reads it", dashoguz.Do(t, "GET", base, nil, &there), http.StatusOK)
	if there.ServiceRegion == nil || *there.ServiceRegion != "dashoguz" || there.Region != "lebap" {
		t.Errorf("after the region change: service region %v, region %s (the region of encounter stays)", there.ServiceRegion, there.Region)
	}
	if listed(t, outreach, opened.ID) || !listed(t, dashoguz, opened.ID) {
		t.Errorf("after the second transfer: the hotline lists it %v, Dashoguz %v", listed(t, outreach, opened.ID), listed(t, dashoguz, opened.ID))
	}
	if ev := eventOf(t, dashoguz, base, "case_transferred"); ev["from_region"] != "lebap" || ev["to_region"] != "dashoguz" || ev["actor_id"] == "" {
		t.Errorf("the region change in the timeline: %v", ev)
	}
	// The workflow routes referrals to the new region from now on.
	v, err := sys.Temporal.QueryWorkflow(ctx, workflows.CaseWorkflowID(opened.ID), "", workflows.QueryState)
	testenv.Must(t, err)
	var st workflows.CaseState
	testenv.Must(t, v.Get(&st))
	if st.AgencyID != dashoguzPolice || st.Region != "dashoguz" {
		t.Errorf("the workflow holds agency %s, region %s", st.AgencyID, st.Region)
	}
	// Back to Lebap without naming the region: the Lebap police do not serve Dashoguz.
	if st := decider.Do(t, "POST", transfer, map[string]string{"agency_id": lebap, "reason": reason}, &p); st != http.StatusUnprocessableEntity ||
		p.field("agency_id") != "serves_region" {
		t.Errorf("back to Lebap in the Dashoguz region: %d %+v, want 422 serves_region", st, p)
	}
}

// A case closed by a withdrawal is reopened because the person was
// trafficked again: a new run of its workflow from identification, linked
// to the one before, with the re-trafficking flag counted in the TWG's
// statistics. A case whose retention period has ended, one without an
// identity and an open one are refused, changing nothing.
func TestReopenOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP() // retention: 60 seconds
	cfg.SuppressionThreshold = 2
	sys := testenv.Start(t, cfg)
	ctx := context.Background()
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	twg := anon.Login(t, "twg@twg.example")
	count := func(q string, args ...any) int {
		var n int
		testenv.Must(t, sys.Store.DB().GetContext(ctx, &n, q, args...))
		return n
	}
	closedCase := func() string {
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		mustStatus(t, "withdraw", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/consent/withdraw", map[string]string{"reason": "wants to go home"}, nil), http.StatusOK)
		return "/api/v1/cases/" + c.ID
	}
	// One case waits out its retention period from the start.
	expired := closedCase()
	base := closedCase()
	id := strings.TrimPrefix(base, "/api/v1/cases/")
	reopen := base + "/reopen"

	events := count(`SELECT count(*) FROM case_events WHERE case_id = $1`, id)
	var p ruleProblem
	mustStatus(t, "an officer reopens", officer.Do(t, "POST", reopen, map[string]string{"reason": "re_trafficked"}, nil), http.StatusForbidden)
	if st := decider.Do(t, "POST", reopen, map[string]string{"reason": "bored"}, &p); st != http.StatusUnprocessableEntity || p.field("reason") != "oneof" {
		t.Errorf("unknown reason: %d %+v", st, p)
	}
	var open caseBody
	mustStatus(t, "open another", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &open), http.StatusCreated)
	if st := decider.Do(t, "POST", "/api/v1/cases/"+open.ID+"/reopen", map[string]string{"reason": "new_information"}, &p); st != http.StatusConflict || p.Rule != "not_closed" {
		t.Errorf("reopen an open case: %d %q, want 409 not_closed", st, p.Rule)
	}
	if n := count(`SELECT count(*) FROM case_events WHERE case_id = $1`, id); n != events {
		t.Errorf("refused reopenings recorded %d events", n-events)
	}

	var reopened transferCaseBody
	mustStatus(t, "reopen", supervisor.Do(t, "POST", reopen, map[string]string{"reason": "re_trafficked", "note": "Found again at the Farap border post."}, &reopened), http.StatusOK)
	if reopened.Stage != workflows.StageIdentification || !reopened.ReTrafficked || reopened.ReopenedCount != 1 {
		t.Errorf("reopened: stage %s, re_trafficked %v, reopened %d", reopened.Stage, reopened.ReTrafficked, reopened.ReopenedCount)
	}
	if n := count(`SELECT count(*) FROM cases WHERE id = $1 AND closed_at IS NULL AND closure_reason IS NULL AND re_trafficked`, id); n != 1 {
		t.Errorf("the read model still holds the closure")
	}
	if o := reopened.obligation("preliminary_decision"); o == nil || count(`SELECT count(*) FROM obligations WHERE id = $1`, "case-"+id+"/preliminary_decision/2") != 1 {
		t.Errorf("the identification deadline did not start again: %+v", reopened.Obligations)
	}
	ev := eventOf(t, supervisor, base, "case_reopened")
	if ev["reason"] != "re_trafficked" || ev["stage"] != workflows.StageIdentification || ev["run"] != "2" || ev["note_id"] == "" || ev["previous_run_id"] == "" {
		t.Fatalf("case_reopened event %v", ev)
	}
	// A new run, linked to the one it continues.
	wf := workflows.CaseWorkflowID(id)
	prev, err := sys.Temporal.DescribeWorkflowExecution(ctx, wf, ev["previous_run_id"])
	testenv.Must(t, err)
	cur, err := sys.Temporal.DescribeWorkflowExecution(ctx, wf, "")
	testenv.Must(t, err)
	if prev.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW ||
		cur.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING ||
		cur.WorkflowExecutionInfo.Execution.RunId == ev["previous_run_id"] ||
		cur.WorkflowExecutionInfo.FirstRunId != prev.WorkflowExecutionInfo.FirstRunId {
		t.Errorf("runs: previous %s (%s), current %s (%s)", ev["previous_run_id"], prev.WorkflowExecutionInfo.Status,
			cur.WorkflowExecutionInfo.Execution.RunId, cur.WorkflowExecutionInfo.Status)
	}
	// The new run: a withdrawn consent is not revived; given again, the case goes on.
	mustStatus(t, "refer without consent", officer.Do(t, "POST", base+"/referrals", map[string]string{"service": "shelter"}, &p), http.StatusConflict)
	mustStatus(t, "consent again", officer.Do(t, "POST", base+"/consent", map[string]bool{"referral": true, "data_sharing": true}, nil), http.StatusOK)
	decided(t, decider, base, "preliminary", "positive")
	waitStage(t, officer, base, workflows.StageRecovery)
	if st := decider.Do(t, "POST", reopen, map[string]string{"reason": "re_trafficked"}, &p); st != http.StatusConflict || p.Rule != "not_closed" {
		t.Errorf("reopen the reopened case: %d %q", st, p.Rule)
	}

	// A second re-trafficking, so that the statistics publish the count
	// (counts below the threshold of 2 are withheld).
	second := closedCase()
	mustStatus(t, "reopen the second", decider.Do(t, "POST", second+"/reopen", map[string]string{"reason": "re_trafficked"}, nil), http.StatusOK)
	var stats struct {
		Tables []struct {
			ID    string           `json:"id"`
			Total map[string]*int  `json:"total"`
			Rows  []map[string]any `json:"rows"`
		} `json:"tables"`
	}
	mustStatus(t, "statistics", twg.Do(t, "GET", "/api/v1/reports/statistics", nil, &stats), http.StatusOK)
	found := false
	for _, tb := range stats.Tables {
		if tb.ID != "re_trafficking/month" {
			continue
		}
		found = true
		if tb.Total["re_trafficked"] == nil || *tb.Total["re_trafficked"] != 2 || tb.Total["reopened"] == nil || *tb.Total["reopened"] != 2 {
			t.Errorf("re-trafficking total %v, want 2 reopened", tb.Total)
		}
	}
	if !found {
		t.Errorf("the statistics have no re-trafficking table")
	}

	// A declined screening keeps no identity: nothing to reopen.
	declined := testenv.Screening()
	declined["consent"] = map[string]bool{"referral": false, "data_sharing": false}
	var gone caseBody
	mustStatus(t, "declined", officer.Do(t, "POST", "/api/v1/cases", declined, &gone), http.StatusCreated)
	if st := decider.Do(t, "POST", "/api/v1/cases/"+gone.ID+"/reopen", map[string]string{"reason": "new_information"}, &p); st != http.StatusConflict || p.Rule != "identity_gone" {
		t.Errorf("reopen a declined screening: %d %q, want 409 identity_gone", st, p.Rule)
	}

	// Retention (60 s in this SOP) ends, the identity is destroyed: the case stays closed.
	expiredID := strings.TrimPrefix(expired, "/api/v1/cases/")
	testenv.Eventually(t, 150*time.Second, "the retention period to end", func() bool {
		return count(`SELECT count(*) FROM case_keys WHERE case_id = $1 AND wrapped IS NULL`, expiredID) == 1
	})
	events = count(`SELECT count(*) FROM case_events WHERE case_id = $1`, expiredID)
	if st := supervisor.Do(t, "POST", expired+"/reopen", map[string]string{"reason": "re_trafficked", "note": "too late"}, &p); st != http.StatusConflict || p.Rule != "retention_ended" {
		t.Errorf("reopen after retention: %d %q, want 409 retention_ended", st, p.Rule)
	}
	var still transferCaseBody
	mustStatus(t, "read", supervisor.Do(t, "GET", expired, nil, &still), http.StatusOK)
	if still.Stage != workflows.StageClosed || still.ReopenedCount != 0 || count(`SELECT count(*) FROM case_events WHERE case_id = $1`, expiredID) != events ||
		count(`SELECT count(*) FROM case_notes WHERE case_id = $1 AND kind = 'reopen'`, expiredID) != 0 {
		t.Errorf("a refused reopening changed the case: %+v", still.caseBody)
	}
}

// Links: a duplicate found at screening is linked to the earlier case of
// the same person; across agencies only with the person's consent to data
// sharing in both cases.
func TestLinksOverHTTP(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	ctx := context.Background()
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	decider := anon.Login(t, "decider@authority.example")
	open := func(c *testenv.Client, sharing bool) string {
		body := testenv.Screening()
		body["consent"] = map[string]bool{"referral": true, "data_sharing": sharing}
		var cb caseBody
		mustStatus(t, "open", c.Do(t, "POST", "/api/v1/cases", body, &cb), http.StatusCreated)
		return cb.ID
	}
	earlier := open(officer, true)
	later := open(officer, true)
	elsewhere := open(dashoguz, false)
	links := func(id string) string { return "/api/v1/cases/" + id + "/links" }

	var p ruleProblem
	for _, c := range []struct {
		name string
		body map[string]any
		rule string
	}{
		{"the later case as the earlier", map[string]any{"earlier_case_id": later}, "earlier"},
		{"no such case", map[string]any{"earlier_case_id": uuid.NewString()}, "exists"},
		{"another agency's case", map[string]any{"earlier_case_id": elsewhere}, "exists"},
	} {
		if st := officer.Do(t, "POST", links(earlier), c.body, &p); st != http.StatusUnprocessableEntity || p.field("earlier_case_id") != c.rule {
			t.Errorf("%s: %d %+v, want 422 %s", c.name, st, p, c.rule)
		}
	}
	var l struct {
		CaseID        string    `json:"case_id"`
		EarlierCaseID string    `json:"earlier_case_id"`
		ReTrafficked  bool      `json:"re_trafficked"`
		LinkedAt      time.Time `json:"linked_at"`
	}
	mustStatus(t, "link", officer.Do(t, "POST", links(later), map[string]any{"earlier_case_id": earlier, "re_trafficked": true}, &l), http.StatusCreated)
	if l.CaseID != later || l.EarlierCaseID != earlier || !l.ReTrafficked || l.LinkedAt.IsZero() {
		t.Errorf("link answered %+v", l)
	}
	if st := decider.Do(t, "POST", links(later), map[string]any{"earlier_case_id": earlier}, &p); st != http.StatusConflict || p.Rule != "already_linked" {
		t.Errorf("the same link again: %d %q", st, p.Rule)
	}
	if ev := eventOf(t, officer, "/api/v1/cases/"+later, "case_linked"); ev["earlier_case_id"] != earlier || ev["re_trafficked"] != "true" {
		t.Errorf("the later case's event %v", ev)
	}
	if ev := eventOf(t, officer, "/api/v1/cases/"+earlier, "case_linked"); ev["later_case_id"] != later {
		t.Errorf("the earlier case's event %v", ev)
	}
	var flagged transferCaseBody
	mustStatus(t, "read", officer.Do(t, "GET", "/api/v1/cases/"+later, nil, &flagged), http.StatusOK)
	if !flagged.ReTrafficked {
		t.Errorf("the later case is not flagged as re-trafficking")
	}

	// Across agencies: refused while the Dashoguz case records no consent to data sharing.
	var before int
	testenv.Must(t, sys.Store.DB().GetContext(ctx, &before, `SELECT count(*) FROM case_events WHERE case_id IN ($1, $2)`, elsewhere, earlier))
	if st := decider.Do(t, "POST", links(elsewhere), map[string]any{"earlier_case_id": earlier}, &p); st != http.StatusConflict || p.Rule != "no_data_sharing" {
		t.Errorf("link without consent: %d %q, want 409 no_data_sharing", st, p.Rule)
	}
	var after int
	testenv.Must(t, sys.Store.DB().GetContext(ctx, &after, `SELECT count(*) FROM case_events WHERE case_id IN ($1, $2)`, elsewhere, earlier))
	if after != before {
		t.Errorf("a refused link recorded %d events", after-before)
	}
	mustStatus(t, "consent to sharing", dashoguz.Do(t, "POST", "/api/v1/cases/"+elsewhere+"/consent", map[string]bool{"referral": true, "data_sharing": true}, nil), http.StatusOK)
	mustStatus(t, "link across agencies", decider.Do(t, "POST", links(elsewhere), map[string]any{"earlier_case_id": earlier}, nil), http.StatusCreated)
	if ev := eventOf(t, dashoguz, "/api/v1/cases/"+elsewhere, "case_linked"); ev["earlier_case_id"] != earlier || ev["re_trafficked"] != "false" {
		t.Errorf("the Dashoguz case's event %v", ev)
	}
}
