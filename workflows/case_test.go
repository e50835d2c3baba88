package workflows

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/nrm-tm/nrm/internal/sop"
)

// recorder stands in for the read model: the workflow tests check what the
// workflow asks to record; the activity's SQL is tested against PostgreSQL.
type recorder struct {
	mu            sync.Mutex
	events        []EventRecord
	stages        []string
	obligations   map[string]ObligationRecord
	notifications []NotificationRecord
	removed       bool
	closure       string
	shreddedAt    time.Time
	transfers     []TransferRecord
	reopens       []ReopenRecord
}

func (r *recorder) shred(ctx context.Context, caseID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.shreddedAt = activity.GetInfo(ctx).StartedTime
	return nil
}

func (r *recorder) record(_ context.Context, in RecordInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, in.Events...)
	r.stages = append(r.stages, in.Stage)
	for _, o := range in.Obligations {
		r.obligations[o.ID] = o
	}
	r.notifications = append(r.notifications, in.Notifications...)
	r.removed = r.removed || in.RemoveIdentity
	if in.ClosureReason != "" {
		r.closure = in.ClosureReason
	}
	if in.Transfer != nil {
		r.transfers = append(r.transfers, *in.Transfer)
	}
	if in.Reopen != nil {
		r.reopens = append(r.reopens, *in.Reopen)
	}
	return nil
}

func (r *recorder) types() []string {
	var out []string
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func (r *recorder) has(event string) bool {
	for _, e := range r.events {
		if e.Type == event {
			return true
		}
	}
	return false
}

// obligation returns the latest record of the nth instance of an obligation.
func (r *recorder) obligation(t *testing.T, name string) ObligationRecord {
	t.Helper()
	var ids []string
	for id, o := range r.obligations {
		if o.Obligation == name {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no %s obligation recorded (have %v)", name, r.obligations)
	}
	sort.Strings(ids)
	return r.obligations[ids[0]]
}

var (
	sopsOnce sync.Once
	sops     *sop.Set
)

// loadSOPs loads the real Turkmenistan SOPs (2026.1 and 2026.2) and the
// seconds-scale test SOP.
func loadSOPs(t *testing.T) *sop.Set {
	sopsOnce.Do(func() {
		var all []*sop.SOP
		for _, f := range []string{filepath.Join("..", "sop", "tm-nrm-2026.1.yaml"), filepath.Join("..", "sop", "tm-nrm-2026.2.yaml"),
			filepath.Join("..", "internal", "sop", "testdata", "fast.yaml")} {
			s, err := sop.LoadFile(f)
			if err != nil {
				panic(err)
			}
			all = append(all, s)
		}
		var err error
		if sops, err = sop.NewSet(all...); err != nil {
			panic(err)
		}
	})
	return sops
}

type harness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	rec *recorder
	at  time.Duration
}

// A Monday 10:00 in Ashgabat, clear of holidays.
var monday = time.Date(2026, 11, 16, 10, 0, 0, 0, mustLoc("Asia/Ashgabat"))

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func newHarness(t *testing.T, start time.Time) *harness {
	return newHarnessWith(t, start, loadSOPs(t))
}

// newHarnessWith runs the workflows with the SOP versions of set.
func newHarnessWith(t *testing.T, start time.Time, set *sop.Set) *harness {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	rec := &recorder{obligations: map[string]ObligationRecord{}}
	Register(env, set)
	env.RegisterActivityWithOptions(rec.record, activity.RegisterOptions{Name: ActivityRecord})
	env.RegisterActivityWithOptions(rec.shred, activity.RegisterOptions{Name: ActivityShredIdentity})
	return &harness{t: t, env: env, rec: rec}
}

// update sends a command after the given delay (relative to the previous
// step) and checks that it is accepted, or refused with wantRule.
func (h *harness) update(after time.Duration, name string, arg any, wantRule string) {
	h.at += after
	at := h.at
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, name+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				var appErr *temporal.ApplicationError
				if wantRule == "" || !errors.As(err, &appErr) || appErr.Type() != wantRule {
					h.t.Errorf("%s at +%s: refused with %v, want %q", name, at, err, wantRule)
				}
			},
			// A rule may also be enforced by the handler, once it holds the lock.
			OnComplete: func(_ any, err error) {
				var appErr *temporal.ApplicationError
				switch {
				case err != nil && wantRule == "":
					h.t.Errorf("%s at +%s failed: %v", name, at, err)
				case err == nil && wantRule != "":
					h.t.Errorf("%s at +%s: done, want refusal %q", name, at, wantRule)
				case err != nil && (!errors.As(err, &appErr) || appErr.Type() != wantRule):
					h.t.Errorf("%s at +%s: failed with %v, want %q", name, at, err, wantRule)
				}
			},
		}, arg)
	}, at)
}

func (h *harness) state(after time.Duration, into *CaseState) {
	h.at += after
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(QueryState)
		if err != nil {
			h.t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(into); err != nil {
			h.t.Errorf("query result: %v", err)
		}
	}, h.at)
}

// run executes the workflow; open cases are cancelled after the last step.
func (h *harness) run(in CaseInput) {
	h.env.RegisterDelayedCallback(func() {
		if !h.env.IsWorkflowCompleted() {
			h.env.CancelWorkflow()
		}
	}, h.at+time.Second)
	h.env.ExecuteWorkflow(CaseWorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

func ptr[T any](v T) *T { return &v }

func adult(version string, consent bool) CaseInput {
	return CaseInput{
		CaseID: "11111111-2222-3333-4444-555555555555", AgencyID: "agency", OpenedBy: "officer", SOPID: "tm-nrm",
		SOPVersion: version, OpenedAt: monday, ScreeningOutcome: sop.OutcomePresumedVictim,
		ConsentReferral: ptr(consent), ConsentDataSharing: ptr(consent),
	}
}

func child(version string) CaseInput {
	in := adult(version, true)
	in.Child, in.ConsentReferral, in.ConsentDataSharing = true, nil, nil
	return in
}

func decide(kind, outcome, by, id string) DecideCommand {
	return DecideCommand{Command: Command{ActorID: by}, DecisionID: id, Kind: kind, Outcome: outcome}
}
