package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The load benchmark of `nrm dev` (README "Benchmarks"): opening a case over
// HTTP beside the engine's own pace — a bare workflow with one activity,
// started and awaited — on the same embedded Temporal server, alternately,
// at concurrency 1, 8 and 32, with every case a different person and then
// every case the same person; then case reads at a fixed 200 a second. The
// figures that matter are the ratios of the rates, printed with -v:
//
//	go test -v -run '^$' -bench Load -benchtime 1x -timeout 30m ./internal/app/
//
// NRM_LOAD_N sets the operations of each kind per concurrency (default 150).
func BenchmarkLoad(b *testing.B) {
	n := 150
	if s := os.Getenv("NRM_LOAD_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 3 {
			b.Fatalf("NRM_LOAD_N: %q is not a number of operations (at least 3)", s)
		}
	}
	cfg := testenv.Config(b, testenv.Database(b), b.TempDir())
	cfg.UserRate = 1 << 30 // one officer opens every case
	sys := testenv.Start(b, cfg)
	w := worker.New(sys.Temporal, "nrm-load", worker.Options{})
	w.RegisterWorkflow(oneActivityWorkflow)
	w.RegisterActivity(noopActivity)
	testenv.Must(b, w.Start())
	defer w.Stop()
	officer := testenv.NewClient(sys).Login(b, "officer@lebap-police.example")

	bare := func(int) error {
		run, err := sys.Temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: "load-" + uuid.NewString(), TaskQueue: "nrm-load"}, oneActivityWorkflow)
		if err != nil {
			return err
		}
		return run.Get(context.Background(), nil)
	}
	var mu sync.Mutex
	var opened []string
	open := func(same bool) func(int) error {
		return func(i int) error {
			body := testenv.Screening()
			if !same { // another name, birth date and document for each case
				person := body["person"].(map[string]any)
				person["given_name"] = "Load" + strconv.Itoa(i) + uuid.NewString()[:8]
				person["document_number"] = "LD " + uuid.NewString()[:13]
				person["phone"] = fmt.Sprintf("+9936%07d", rand.IntN(10_000_000))
				person["birth_date"] = time.Date(1970+rand.IntN(35), time.Month(1+rand.IntN(12)), 1+rand.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			}
			var c caseBody
			if st := officer.Do(b, "POST", "/api/v1/cases", body, &c); st != http.StatusCreated {
				return fmt.Errorf("open: status %d", st)
			}
			mu.Lock()
			opened = append(opened, c.ID)
			mu.Unlock()
			return nil
		}
	}
	for b.Loop() {
		for _, same := range []bool{false, true} {
			who := "different persons"
			if same {
				who = "the same person"
			}
			for _, conc := range []int{1, 8, 32} {
				// Three alternations, so that a drift of the machine or of
				// the server's state falls on both alike.
				var eng, api loadResult
				for range 3 {
					eng.add(loadRun(b, conc, n/3, bare))
					api.add(loadRun(b, conc, n/3, open(same)))
				}
				b.Logf("%-17s c=%-2d  engine %6.1f/s p50 %6s p99 %6s | open case %6.1f/s p50 %6s p99 %6s | ratio %.2f",
					who, conc, eng.rate(), eng.pct(50), eng.pct(99), api.rate(), api.pct(50), api.pct(99), api.rate()/eng.rate())
			}
		}
		reads := loadReads(b, officer, opened, 200, 10*time.Second)
		b.Logf("case reads at 200/s for 10 s: %d reads, p50 %s p99 %s", len(reads.lat), reads.pct(50), reads.pct(99))
	}
}

func oneActivityWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, noopActivity).Get(ctx, nil)
}

func noopActivity(ctx context.Context) error {
	activity.GetLogger(ctx) // an activity that does nothing but be one
	return nil
}

// loadResult is the latencies of a run's operations and the time it took.
type loadResult struct {
	lat  []time.Duration
	took time.Duration
}

func (r *loadResult) add(o loadResult) { r.lat, r.took = append(r.lat, o.lat...), r.took+o.took }

func (r *loadResult) rate() float64 { return float64(len(r.lat)) / r.took.Seconds() }

func (r *loadResult) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Millisecond)
}

// loadRun runs op n times, conc at a time.
func loadRun(b *testing.B, conc, n int, op func(int) error) loadResult {
	var mu sync.Mutex
	var res loadResult
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				if err := op(i); err != nil {
					b.Error(err)
					continue
				}
				mu.Lock()
				res.lat = append(res.lat, time.Since(t))
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// loadReads reads cases at a fixed rate for a while, each read on its own
// schedule (a slow answer does not hold back the next), and returns their
// latencies.
func loadReads(b *testing.B, c *testenv.Client, ids []string, perSecond int, span time.Duration) loadResult {
	var mu sync.Mutex
	var res loadResult
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	end := time.Now().Add(span)
	for time.Now().Before(end) {
		<-tick.C
		id := ids[rand.IntN(len(ids))]
		wg.Go(func() {
			t := time.Now()
			if st := c.Do(b, "GET", "/api/v1/cases/"+id, nil, nil); st != http.StatusOK {
				b.Errorf("read: status %d", st)
				return
			}
			mu.Lock()
			res.lat = append(res.lat, time.Since(t))
			mu.Unlock()
		})
	}
	wg.Wait()
	res.took = span
	return res
}
