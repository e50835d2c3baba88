package loadtest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/loadtest"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestRun measures a tiny load against an in-process system: both series
// at concurrency 1, three operations of each kind, reads for a moment;
// then the failures a real run would meet are reported, not measured.
func TestRun(t *testing.T) {
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	o := loadtest.Defaults()
	o.API, o.Email, o.Password = testenv.NewClient(sys).Base, "officer@lebap-police.example", testenv.DemoPassword
	o.Temporal, o.TaskQueue = sys.Temporal, "nrm-load-test"
	o.N, o.Concurrency, o.ReadsPerSecond, o.ReadsFor = 3, []int{1}, 20, 300*time.Millisecond
	var out bytes.Buffer
	o.Out = &out
	// A deployment whose API process uses 1 ms more each time it is read:
	// each phase, between two readings, costs 1 ms, so each operation of a
	// row's three alternations of one costs 1 ms.
	readings := 0
	o.CPU = func() loadtest.CPU {
		readings++
		return loadtest.CPU{"api": time.Duration(readings) * time.Millisecond, "temporal": time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := loadtest.Run(ctx, o)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if len(res.Rows) != 2 || res.Rows[0].SamePerson || !res.Rows[1].SamePerson {
		t.Fatalf("rows %+v, want different persons then the same person", res.Rows)
	}
	for _, r := range res.Rows {
		if r.Engine.Count != 3 || r.Open.Count != 3 || r.Engine.P99 <= 0 || r.Open.P50 <= 0 || r.Ratio <= 0 {
			t.Errorf("row %+v lacks measurements", r)
		}
		for _, c := range []loadtest.CPU{r.EngineCPU, r.OpenCPU} {
			if c["api"] != time.Millisecond || c["temporal"] != 0 || c.Total() != time.Millisecond {
				t.Errorf("row %s: CPU per operation %v, want api 1 ms and nothing else", r.Who, c)
			}
		}
	}
	if want := 2 * 3 * loadtest.Alternations; readings != want {
		t.Errorf("CPU read %d times, want %d (before and after each phase of each alternation)", readings, want)
	}
	if res.Reads.Count == 0 || res.Failures.Total() != 0 {
		t.Errorf("reads %+v, failures %+v", res.Reads, res.Failures)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 7 || !strings.Contains(out.String(), "case reads at 20/s for 0.3 s") ||
		strings.Count(out.String(), "CPU per operation   open case: api 1.0  temporal 0.0  = 1.0 ms") != 2 {
		t.Errorf("output of %d lines:\n%s", lines, out.String())
	}

	// An encounter in a region the deployment does not have: 422, counted,
	// and the run fails without a row.
	o.Region, o.ReadsFor, o.CPU = "atlantis", 0, nil
	res, err = loadtest.Run(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "status 422") || res.Failures.Open == 0 || len(res.Rows) != 0 {
		t.Errorf("a refused opening: err %v, result %+v", err, res)
	}
	o.Password = "not the password"
	if _, err := loadtest.Run(ctx, o); err == nil || !strings.Contains(err.Error(), "wrong e-mail or password") {
		t.Errorf("a wrong password: %v", err)
	}
}
