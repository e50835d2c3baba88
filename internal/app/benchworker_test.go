package app_test

import (
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

func newBenchWorker(b *testing.B, c client.Client) func() {
	w := worker.New(c, "nrm-bench", worker.Options{})
	w.RegisterWorkflow(noopWorkflow)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	return w.Stop
}
