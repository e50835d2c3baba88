package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayHistories replays the stored histories of real runs (recorded by
// `go test ./internal/app -run 'SOPPaths|ContinueAsNew|TransferReopenHistory' -record-histories`)
// against the current workflow code: a change that would break running
// cases fails here and must be guarded with workflow.GetVersion.
// closed_waiting_retention and closed_retention_ended were recorded by the
// workflow code before cases could be reopened (a closed case waiting out
// retention with workflow.Sleep, and the same after the identity was
// shredded): the interruptible retention wait of reopen.go replays them.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"adult_full_path", "negative_confirmed", "negative_overturned_then_withdrawn", "consent_declined",
		"child_deadlines_missed_closure_rejected", "continued_as_new", "referral_redirected_completed", "referral_child",
		"transferred_reopened", "closed_waiting_retention", "closed_retention_ended"}
	have := map[string]bool{}
	for _, f := range files {
		have[filepath.Base(f[:len(f)-len(".json")])] = true
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("history %s.json is missing", name)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			Register(replayer, loadSOPs(t))
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Errorf("replay %s: %v", f, err)
			}
		})
	}
}
