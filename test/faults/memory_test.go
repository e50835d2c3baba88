//go:build faults

package faults

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemory's flags: it opens thousands of cases, so it runs only when asked.
var (
	memoryCases = flag.Int("faults.memory", 0, "run TestMemory: open this many cases on one worker and print its resident memory as they accumulate (0: skip; not part of CI)")
	memoryCache = flag.Int("faults.memory-cache", 0, "TestMemory: the worker's NRM_WORKFLOW_CACHE (0: its default)")
	memoryConc  = flag.Int("faults.memory-concurrency", 16, "TestMemory: openings at a time")
)

// TestMemory measures what deploy/README.md's sizing of the worker rests
// on: one `nrm worker` (with one `nrm serve`, a Temporal server on
// PostgreSQL and the production SOP, whose deadlines are days) while cases
// are opened and stay open, each case workflow waiting for its next step.
// It prints the worker's resident memory after every tenth of the cases,
// and again after a pause at the end. It asserts only that every opening
// was answered 201, never a figure.
//
//	go test -tags faults -count=1 -v -run TestMemory -timeout 180m ./test/faults -args -faults.memory=20000
func TestMemory(t *testing.T) {
	n := *memoryCases
	if n == 0 {
		t.Skip("TestMemory opens thousands of cases: run it with -args -faults.memory=N (README.md, Benchmarks)")
	}
	if n < 10 || *memoryConc < 1 || *memoryConc > 256 {
		t.Fatalf("-faults.memory must be at least 10 and -faults.memory-concurrency 1 to 256, got %d and %d", n, *memoryConc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 170*time.Minute)
	defer cancel()
	opts := options(t)
	opts.SOP = filepath.Join(opts.Repo, "sop")
	if *memoryCache > 0 {
		opts.WorkerEnv = map[string]string{"NRM_WORKFLOW_CACHE": strconv.Itoa(*memoryCache)}
	}
	topo, err := NewTopology(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	email, password, err := loadOfficer(ctx, topo, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{APIs: topo.APIURLs, HTTP: &http.Client{Timeout: 90 * time.Second}, GiveUp: 5 * time.Minute, Faults: &FaultLog{}}
	token, err := c.Login(ctx, email, password)
	if err != nil {
		t.Fatal(err)
	}
	cache := "the default"
	if *memoryCache > 0 {
		cache = strconv.Itoa(*memoryCache)
	}
	worker := topo.Workers[0]
	fmt.Printf("\n==== one nrm worker (NRM_WORKFLOW_CACHE %s) while %d cases are opened, %d at a time ====\n", cache, n, *memoryConc)
	fmt.Printf("%8s cases open: worker resident memory %4.0f MiB\n", "0", mib(worker.RSS()))

	var opened, failed atomic.Int64
	var firstFailure sync.Once
	step := n / 10
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for range *memoryConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res := c.Do(ctx, token, http.MethodPost, "/api/v1/cases", "open", screening(i))
				if res.Status != http.StatusCreated {
					failed.Add(1)
					firstFailure.Do(func() { t.Errorf("opening case %d: %s", i, res) })
					continue
				}
				if k := opened.Add(1); k%int64(step) == 0 {
					fmt.Printf("%8d cases open: worker resident memory %4.0f MiB (%.1f cases/s)\n",
						k, mib(worker.RSS()), float64(k)/time.Since(start).Seconds())
				}
			}
		}()
	}
	for i := range n {
		if failed.Load() > 0 || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d openings failed (logs: %s)", failed.Load(), opts.Dir)
	}
	time.Sleep(30 * time.Second)
	fmt.Printf("%8d cases open, 30 s later: worker resident memory %4.0f MiB\n", opened.Load(), mib(worker.RSS()))
	fmt.Fprintln(os.Stdout)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
