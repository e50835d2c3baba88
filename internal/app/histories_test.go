package app_test

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// -record-histories rewrites workflows/testdata/histories from these runs;
// without it the scenarios still run, as integration tests of each SOP path.
// referralHistory is the referral whose history the referral scenario saves.
var referralHistory string

var recordHistories = flag.Bool("record-histories", false, "write the scenario histories to workflows/testdata/histories")

type actors struct {
	officer, supervisor, decider, reviewer, lebapShelter, ashgabatShelter *testenv.Client
}

type scenario struct {
	name   string
	body   func() map[string]any
	steps  func(t *testing.T, a actors, base string)
	wantAt string // the stage the case ends in
}

func decideBody(kind, outcome string) map[string]string {
	return map[string]string{"kind": kind, "outcome": outcome, "reason": "reason"}
}

func mustStatus(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d", what, got, want)
	}
}

func waitStage(t *testing.T, c *testenv.Client, base, stage string) {
	t.Helper()
	testenv.Eventually(t, 40*time.Second, "stage "+stage, func() bool {
		var cb caseBody
		return c.Do(t, "GET", base, nil, &cb) == http.StatusOK && cb.Stage == stage
	})
}

func waitObligation(t *testing.T, c *testenv.Client, base, name, status string) {
	t.Helper()
	testenv.Eventually(t, 40*time.Second, name+" "+status, func() bool {
		var fc fullCase
		c.Do(t, "GET", base, nil, &fc)
		o := fc.obligation(name)
		return o != nil && o.Status == status
	})
}

func decided(t *testing.T, c *testenv.Client, base, kind, outcome string) string {
	t.Helper()
	var d struct {
		ID string `json:"id"`
	}
	mustStatus(t, "decide "+kind+" "+outcome, c.Do(t, "POST", base+"/decisions", decideBody(kind, outcome), &d), http.StatusCreated)
	return d.ID
}

var scenarios = []scenario{
	{name: "referral_redirected_completed", wantAt: workflows.StageClosed, steps: func(t *testing.T, a actors, base string) {
		var ref struct{ ID string }
		mustStatus(t, "refer", a.officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter", "note": "n"}, &ref), http.StatusCreated)
		mustStatus(t, "decline", a.lebapShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/decline", map[string]string{"reason": "no_capacity"}, nil), http.StatusOK)
		testenv.Eventually(t, 20*time.Second, "the redirect", func() bool {
			return a.ashgabatShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/accept", nil, nil) == http.StatusOK
		})
		mustStatus(t, "progress", a.ashgabatShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/progress", map[string]string{"note": "ok"}, nil), http.StatusOK)
		mustStatus(t, "complete", a.ashgabatShelter.Do(t, "POST", "/api/v1/referrals/"+ref.ID+"/complete", map[string]string{"outcome": "service_provided"}, nil), http.StatusOK)
		mustStatus(t, "withdraw consent", a.officer.Do(t, "POST", base+"/consent/withdraw", map[string]string{"reason": "r"}, nil), http.StatusOK)
		referralHistory = ref.ID
	}},
	{name: "adult_full_path", wantAt: workflows.StageClosed, steps: func(t *testing.T, a actors, base string) {
		decided(t, a.decider, base, "preliminary", "positive")
		waitStage(t, a.officer, base, workflows.StageAssistance) // the recovery period ends
		decided(t, a.decider, base, "conclusive", "positive")
		mustStatus(t, "closure", a.officer.Do(t, "POST", base+"/closure", map[string]string{"reason": "reintegrated"}, nil), http.StatusOK)
		mustStatus(t, "approve", a.supervisor.Do(t, "POST", base+"/closure/approve", nil, nil), http.StatusOK)
		mustStatus(t, "follow-up", a.officer.Do(t, "POST", base+"/follow-up", nil, nil), http.StatusOK)
	}},
	{name: "negative_confirmed", wantAt: workflows.StageClosed, steps: func(t *testing.T, a actors, base string) {
		id := decided(t, a.decider, base, "preliminary", "negative")
		mustStatus(t, "self-review", a.decider.Do(t, "POST", base+"/decisions/"+id+"/review", map[string]any{"confirm": true, "reason": "r"}, nil), http.StatusConflict)
		mustStatus(t, "review", a.reviewer.Do(t, "POST", base+"/decisions/"+id+"/review", map[string]any{"confirm": true, "reason": "r"}, nil), http.StatusOK)
	}},
	{name: "negative_overturned_then_withdrawn", wantAt: workflows.StageClosed, steps: func(t *testing.T, a actors, base string) {
		id := decided(t, a.decider, base, "preliminary", "negative")
		mustStatus(t, "overturn", a.reviewer.Do(t, "POST", base+"/decisions/"+id+"/review", map[string]any{"confirm": false, "reason": "r"}, nil), http.StatusOK)
		mustStatus(t, "extend", a.decider.Do(t, "POST", base+"/recovery/extend", map[string]any{"days": 14, "reason": "r"}, nil), http.StatusOK)
		mustStatus(t, "withdraw", a.officer.Do(t, "POST", base+"/consent/withdraw", map[string]string{"reason": "r"}, nil), http.StatusOK)
	}},
	{name: "consent_declined", wantAt: workflows.StageClosed, body: func() map[string]any {
		b := testenv.Screening()
		b["consent"] = map[string]bool{"referral": false, "data_sharing": false}
		return b
	}},
	{name: "child_deadlines_missed_closure_rejected", wantAt: workflows.StageClosed, body: func() map[string]any {
		b := testenv.Screening()
		p := b["person"].(map[string]any)
		delete(p, "birth_date")
		p["age_estimate"] = 15
		delete(b, "consent")
		return b
	}, steps: func(t *testing.T, a actors, base string) {
		waitObligation(t, a.officer, base, "child_protection_notified", "breached")
		mustStatus(t, "guardian", a.officer.Do(t, "POST", base+"/guardian", map[string]string{"name": "n", "authority": "a"}, nil), http.StatusOK)
		waitObligation(t, a.officer, base, "preliminary_decision", "breached")
		decided(t, a.decider, base, "preliminary", "positive")
		mustStatus(t, "closure", a.officer.Do(t, "POST", base+"/closure", map[string]string{"reason": "transferred_abroad"}, nil), http.StatusOK)
		mustStatus(t, "reject", a.supervisor.Do(t, "POST", base+"/closure/reject", map[string]string{"note": "not yet"}, nil), http.StatusOK)
		mustStatus(t, "closure again", a.officer.Do(t, "POST", base+"/closure", map[string]string{"reason": "transferred_abroad"}, nil), http.StatusOK)
		mustStatus(t, "approve", a.supervisor.Do(t, "POST", base+"/closure/approve", nil, nil), http.StatusOK)
		mustStatus(t, "follow-up", a.officer.Do(t, "POST", base+"/follow-up", nil, nil), http.StatusOK)
	}},
}

// TestSOPPathsOverHTTP drives every path of the SOP against the in-process
// Temporal server with the seconds-scale SOP, as agencies would.
func TestSOPPathsOverHTTP(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP()
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	a := actors{
		officer:         anon.Login(t, "officer@lebap-police.example"),
		supervisor:      anon.Login(t, "supervisor@lebap-police.example"),
		decider:         anon.Login(t, "decider@authority.example"),
		reviewer:        anon.Login(t, "reviewer@authority.example"),
		lebapShelter:    anon.Login(t, "shelter@lebap-shelter.example"),
		ashgabatShelter: anon.Login(t, "shelter@ashgabat-shelter.example"),
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			body := testenv.Screening()
			if sc.body != nil {
				body = sc.body()
			}
			var c caseBody
			mustStatus(t, "open", a.officer.Do(t, "POST", "/api/v1/cases", body, &c), http.StatusCreated)
			base := "/api/v1/cases/" + c.ID
			if sc.steps != nil {
				sc.steps(t, a, base)
			}
			waitStage(t, a.officer, base, sc.wantAt)
			saveHistory(t, sys, workflows.CaseWorkflowID(c.ID), "", sc.name)
			if sc.name == "referral_redirected_completed" {
				saveHistory(t, sys, workflows.ReferralWorkflowID(referralHistory), "", "referral_child")
			}
		})
	}
}

// saveHistory writes a run's history for the replay tests when asked to.
func saveHistory(t *testing.T, sys *app.System, workflowID, runID, name string) {
	t.Helper()
	if !*recordHistories {
		return
	}
	ctx := context.Background()
	// Finished, or waiting on its timers alone: a closed case waits out its
	// retention, longer than a test.
	testenv.Eventually(t, 20*time.Second, "the workflow to finish or rest", func() bool {
		d, err := sys.Temporal.DescribeWorkflowExecution(ctx, workflowID, runID)
		return err == nil && (d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING ||
			d.PendingWorkflowTask == nil && len(d.PendingActivities) == 0)
	})
	iter := sys.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		testenv.Must(t, err)
		h.Events = append(h.Events, ev)
	}
	// The stored histories are in clear, as the replay test reads them
	// without the run's key: the system's payloads are encrypted with a key
	// made for this run (they hold IDs and codes, nothing personal).
	codec := crypto.NewPayloadCodec(sys.Keys)
	testenv.Must(t, proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Decode(p)
		},
	}))
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	testenv.Must(t, err)
	path := filepath.Join(testenv.RepoRoot(), "workflows", "testdata", "histories", name+".json")
	testenv.Must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	testenv.Must(t, os.WriteFile(path, data, 0o644))
	t.Logf("wrote %s (%d events)", path, len(h.Events))
}
