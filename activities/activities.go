// Package activities holds the side effects of the workflows: writes to the
// PostgreSQL read model. Every activity is idempotent, keyed by event IDs
// derived from the workflow ID and a sequence, so retries and replays never
// duplicate rows.
package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Activities carries the dependencies of every activity.
type Activities struct {
	Store *store.Store
}

// Register adds the activities to a worker under the names the workflows use.
func (a *Activities) Register(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(a.RecordCaseEvents, activity.RegisterOptions{Name: workflows.ActivityRecord})
}

// RecordCaseEvents appends timeline events and sets the case's stage.
func (a *Activities) RecordCaseEvents(ctx context.Context, in workflows.RecordInput) error {
	caseID, err := uuid.Parse(in.CaseID)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("bad case ID", "BadInput", err)
	}
	for _, e := range in.Events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return temporal.NewNonRetryableApplicationError("event data", "BadInput", err)
		}
		ev := store.Event{ID: e.ID, CaseID: caseID, Type: e.Type, At: e.At, Data: data}
		if actor, err := uuid.Parse(e.ActorID); err == nil {
			ev.ActorID = &actor
		}
		if err := a.Store.AppendEvent(ctx, ev); err != nil {
			return fmt.Errorf("record events of case %s: %w", caseID, err)
		}
	}
	if in.Stage != "" {
		if err := a.Store.SetStage(ctx, caseID, in.Stage, in.At); err != nil {
			return err
		}
	}
	return nil
}
