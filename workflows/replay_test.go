package workflows

import (
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayHistories replays the stored histories of real runs against the
// current workflow code: a change that would break running cases fails here
// and must be guarded with workflow.GetVersion. Each generation of
// histories is kept, since cases of each may still be running:
//
//   - testdata/histories: recorded by the current code, with
//     `go test ./internal/app -run 'SOPPaths|ContinueAsNew|TransferReopenHistory' -record-histories`;
//   - testdata/histories/before-local-record: recorded before the read model
//     was written by a local activity (changeLocalRecord), when it was an
//     activity. closed_waiting_retention and closed_retention_ended there
//     were recorded before cases could be reopened (a closed case waiting
//     out retention with workflow.Sleep, and the same after the identity was
//     shredded): the interruptible retention wait of reopen.go replays them.
func TestReplayHistories(t *testing.T) {
	recorded := []string{"adult_full_path", "negative_confirmed", "negative_overturned_then_withdrawn", "consent_declined",
		"child_deadlines_missed_closure_rejected", "continued_as_new", "referral_redirected_completed", "referral_child",
		"transferred_reopened"}
	generations := map[string][]string{
		"":                    recorded,
		"before-local-record": append(slices.Clone(recorded), "closed_waiting_retention", "closed_retention_ended"),
	}
	for dir, want := range generations {
		files, err := filepath.Glob(filepath.Join("testdata", "histories", dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range files {
			have[filepath.Base(f[:len(f)-len(".json")])] = true
		}
		for _, name := range want {
			if !have[name] {
				t.Errorf("history %s.json is missing from testdata/histories/%s", name, dir)
			}
		}
		for _, f := range files {
			t.Run(filepath.Join(dir, filepath.Base(f)), func(t *testing.T) {
				replayer := worker.NewWorkflowReplayer()
				Register(replayer, loadSOPs(t))
				if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
					t.Errorf("replay %s: %v", f, err)
				}
			})
		}
	}
}
