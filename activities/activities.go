// Package activities holds the side effects of the workflows: writes to the
// PostgreSQL read model. Every activity is idempotent, keyed by IDs derived
// from the workflow ID and a sequence, so retries and replays never
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

func badInput(what string, err error) error {
	return temporal.NewNonRetryableApplicationError(what, "BadInput", err)
}

// RecordCaseEvents writes one transition of a case: events, stage,
// obligations and notifications, in one transaction.
func (a *Activities) RecordCaseEvents(ctx context.Context, in workflows.RecordInput) error {
	caseID, err := uuid.Parse(in.CaseID)
	if err != nil {
		return badInput("bad case ID", err)
	}
	t := store.Transition{CaseID: caseID, At: in.At, Stage: in.Stage, ClosureReason: in.ClosureReason, RemoveIdentity: in.RemoveIdentity}
	for _, e := range in.Events {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return badInput("event data", err)
		}
		ev := store.Event{ID: e.ID, Seq: e.Seq, CaseID: caseID, Type: e.Type, At: e.At, Data: data}
		if actor, err := uuid.Parse(e.ActorID); err == nil {
			ev.ActorID = &actor
		}
		t.Events = append(t.Events, ev)
	}
	for _, o := range in.Obligations {
		t.Obligations = append(t.Obligations, store.Obligation{ID: o.ID, CaseID: caseID, Obligation: o.Obligation, Kind: o.Kind,
			SOPVersion: in.SOPVersion, OwnerRole: o.OwnerRole, StartsAt: o.StartsAt, DueAt: o.DueAt, MetAt: o.MetAt,
			BreachedAt: o.BreachedAt, CancelledAt: o.CancelledAt, Status: o.Status})
	}
	for _, n := range in.Notifications {
		due := n.DueAt
		t.Notifications = append(t.Notifications, store.Notification{ID: n.ID, CaseID: caseID, Kind: n.Kind,
			Obligation: n.Obligation, ObligationID: n.ObligationID, RecipientRole: n.RecipientRole, DueAt: &due, CreatedAt: in.At})
	}
	if err := a.Store.RecordTransition(ctx, t); err != nil {
		return fmt.Errorf("record transition of case %s: %w", caseID, err)
	}
	return nil
}
