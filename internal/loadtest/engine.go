package loadtest

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The bare workflow's names, registered explicitly so that they do not
// depend on Go function names and never clash with NRM's workflows.
const (
	WorkflowName = "nrm-load-one-activity"
	ActivityName = "nrm-load-noop"
)

// engine runs the bare workflow on its own task queue with its own worker.
type engine struct {
	c     client.Client
	queue string
	w     worker.Worker
}

func startEngine(c client.Client, queue string) (*engine, error) {
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(oneActivityWorkflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: ActivityName})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start the load's Temporal worker on task queue %s: %w", queue, err)
	}
	return &engine{c: c, queue: queue, w: w}, nil
}

func (e *engine) stop() { e.w.Stop() }

// run starts the bare workflow and waits for its end. It has no execution
// timeout, which would add a timer to what the engine does; a run left
// over by a stopped load finishes when the next load's worker polls.
func (e *engine) run(ctx context.Context, _ int) error {
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "nrm-load-" + uuid.NewString(), TaskQueue: e.queue}, WorkflowName)
	if err != nil {
		return fmt.Errorf("start workflow: %w", err)
	}
	if err := run.Get(ctx, nil); err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	return nil
}

func oneActivityWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, ActivityName).Get(ctx, nil)
}

func noopActivity(ctx context.Context) error {
	activity.GetLogger(ctx) // an activity that does nothing but be one
	return nil
}
