package app_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/crypto"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// TestTransferReopenHistory runs a case through a transfer, a closure and
// a reopening with the seconds-scale SOP; with -record-histories it saves
// the run the reopening ended (continued as new) as
// workflows/testdata/histories/transferred_reopened.json, which
// TestReplayHistories replays against every later change of the workflow.
func TestTransferReopenHistory(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP()
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	outreach := anon.Login(t, "outreach@hotline.example")
	decider := anon.Login(t, "decider@authority.example")
	hotline, err := sys.Store.AgencyByName(context.Background(), demo.Hotline)
	testenv.Must(t, err)

	var c caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
	base := "/api/v1/cases/" + c.ID
	mustStatus(t, "transfer", supervisor.Do(t, "POST", base+"/transfer", map[string]string{"agency_id": hotline.ID.String(),
		"reason": "r", "region": "ashgabat"}, nil), http.StatusOK)
	mustStatus(t, "withdraw", outreach.Do(t, "POST", base+"/consent/withdraw", map[string]string{"reason": "r"}, nil), http.StatusOK)
	waitStage(t, outreach, base, workflows.StageClosed)
	mustStatus(t, "reopen", decider.Do(t, "POST", base+"/reopen", map[string]string{"reason": "re_trafficked"}, nil), http.StatusOK)
	waitStage(t, outreach, base, workflows.StageIdentification)
	ev := eventOf(t, outreach, base, "case_reopened")
	if ev["previous_run_id"] == "" {
		t.Fatalf("no previous run in %v", ev)
	}
	saveDecodedHistory(t, sys, workflows.CaseWorkflowID(c.ID), ev["previous_run_id"], "transferred_reopened")
}

// saveDecodedHistory is saveHistory for a run whose payloads the system
// encrypted (crypto.PayloadCodec): the replay tests hold no master key, so
// the history is saved with its payloads decoded — IDs and codes only, as
// every workflow payload is.
func saveDecodedHistory(t *testing.T, sys *app.System, workflowID, runID, name string) {
	t.Helper()
	if !*recordHistories {
		return
	}
	ctx := context.Background()
	iter := sys.Temporal.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		testenv.Must(t, err)
		h.Events = append(h.Events, ev)
	}
	codec := crypto.NewPayloadCodec(sys.Keys)
	testenv.Must(t, proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return codec.Decode(p)
		},
	}))
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	testenv.Must(t, err)
	path := filepath.Join(testenv.RepoRoot(), "workflows", "testdata", "histories", name+".json")
	testenv.Must(t, os.WriteFile(path, data, 0o644))
	t.Logf("wrote %s (%d events)", path, len(h.Events))
}
