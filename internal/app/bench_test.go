package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/testenv"
)

func noopWorkflow(ctx workflow.Context) error { return nil }

// BenchmarkOpenCase measures opening a case over HTTP (validation, scoring,
// one PostgreSQL transaction, the workflow start) beside a bare Temporal
// workflow start against the same in-process server, so the figure that
// matters is their ratio.
func BenchmarkOpenCase(b *testing.B) {
	cfg := testenv.Config(b, testenv.Database(b), b.TempDir())
	sys := testenv.Start(b, cfg)
	worker := newBenchWorker(b, sys.Temporal)
	defer worker()
	officer := testenv.NewClient(sys).Login(b, "officer@lebap-police.example")
	body := testenv.Screening()

	b.Run("bare_workflow_start", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, err := sys.Temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: "bench-" + uuid.NewString(), TaskQueue: "nrm-bench",
			}, noopWorkflow)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open_case_http", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if st := officer.Do(b, "POST", "/api/v1/cases", body, nil); st != http.StatusCreated {
				b.Fatalf("status %d", st)
			}
		}
	})
}
