package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Activity names; package activities registers its methods under them, so
// that this package need not import the SQL side.
const (
	ActivityRecord = "RecordCaseEvents"
)

// EventRecord is one timeline event. Data holds codes only, never free text.
type EventRecord struct {
	ID      string
	CaseID  string
	Type    string
	At      time.Time
	ActorID string
	Data    map[string]string
}

// RecordInput writes events and the case's stage to the read model.
type RecordInput struct {
	CaseID string
	Events []EventRecord
	Stage  string
	At     time.Time
}

// Read-model writes are idempotent, so they retry without limit while
// PostgreSQL is away; a case never loses an event.
var readModelActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
