package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestTimelineDataIsAnObject: an event's data is answered as a JSON object
// (the API documents one), {} when the event has none — also when it was
// written as JSON null, which a nil map marshals to.
func TestTimelineDataIsAnObject(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, _ := seedCase(t, st)
	now := time.Now()
	testenv.Must(t, st.AppendEvent(ctx, store.Event{ID: "case-x/1", Seq: 1, CaseID: c.ID, Type: "case_opened", At: now}))
	testenv.Must(t, st.AppendEvent(ctx, store.Event{ID: "case-x/2", Seq: 2, CaseID: c.ID, Type: "consent_given", At: now,
		Data: json.RawMessage(`null`)}))
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: now, Events: []store.Event{
		{ID: "case-x/3", Seq: 3, CaseID: c.ID, Type: "stage_changed", At: now, Data: json.RawMessage(`null`)},
		{ID: "case-x/4", Seq: 4, CaseID: c.ID, Type: "case_closed", At: now, Data: json.RawMessage(`{"reason":"r"}`)},
	}}))
	list, err := st.Timeline(ctx, c.ID)
	testenv.Must(t, err)
	want := []string{`{}`, `{}`, `{}`, `{"reason": "r"}`}
	if len(list) != len(want) {
		t.Fatalf("timeline has %d events, want %d", len(list), len(want))
	}
	for i, e := range list {
		if string(e.Data) != want[i] {
			t.Errorf("event %s data %s, want %s", e.ID, e.Data, want[i])
		}
	}
}

// Recording a transition marks the case's workflow started, at the first
// transition's time: opening a case relies on it instead of a write of its
// own, and the reconciler leaves the case alone.
func TestTransitionMarksTheWorkflowStarted(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, _ := seedCase(t, st)
	opened := time.Now().UTC().Truncate(time.Microsecond)
	later := opened.Add(time.Hour)
	unstarted, err := st.UnstartedCases(ctx, later, 10)
	testenv.Must(t, err)
	if len(unstarted) != 1 || unstarted[0].ID != c.ID {
		t.Fatalf("unstarted before the first transition: %d cases, want the seeded one", len(unstarted))
	}
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: opened, Stage: "identification"}))
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: later, Stage: "recovery"}))
	got, err := st.Case(ctx, store.CaseScope{All: true}, c.ID)
	testenv.Must(t, err)
	if got.WorkflowStartedAt == nil || !got.WorkflowStartedAt.Equal(opened) || got.Stage != "recovery" {
		t.Errorf("workflow started at %v, stage %s; want %v (the first transition), recovery", got.WorkflowStartedAt, got.Stage, opened)
	}
	if unstarted, err := st.UnstartedCases(ctx, later.Add(time.Hour), 10); err != nil || len(unstarted) != 0 {
		t.Errorf("unstarted after a transition: %d cases (%v), want none", len(unstarted), err)
	}
}
