//go:build faults

package faults

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/sdk/client"

	"github.com/nrm-tm/nrm/internal/loadtest"
)

// TestLoad's flags: it takes minutes, so it runs only when asked for.
var (
	loadOn      = flag.Bool("faults.load", false, "run TestLoad: nrm load's measurements against the production topology (minutes; not part of CI)")
	loadN       = flag.Int("faults.load-n", 600, "TestLoad: operations of each kind per concurrency")
	loadConc    = flag.String("faults.load-concurrency", "1,8,32", "TestLoad: comma-separated concurrencies")
	loadReadFor = flag.Duration("faults.load-reads-for", 10*time.Second, "TestLoad: how long to read cases at 200 a second (0: no reads)")
)

// TestLoad runs internal/loadtest — what `nrm load` runs against a
// deployment — against the production topology (PostgreSQL, a Temporal
// server on it, two `nrm serve`, two `nrm worker`, set up as TestFaults
// sets it up, with the production SOP and no faults): opening cases through
// one API process beside a bare workflow on the same Temporal, then reads.
// It prints the table and asserts correctness only — no operation failed,
// every row measured — never timings.
//
// It takes minutes, so it runs only with -faults.load (README.md,
// "Benchmarks"); without the flag it is skipped, and CI's
// `go test -tags faults ./test/faults` does not run it:
//
//	go test -tags faults -count=1 -v -run TestLoad -timeout 40m ./test/faults -args -faults.load
//
// -faults.load-n, -faults.load-concurrency and -faults.load-reads-for size it.
func TestLoad(t *testing.T) {
	if !*loadOn {
		t.Skip("TestLoad measures the production topology for minutes: run it with -args -faults.load (README.md, Benchmarks)")
	}
	o := loadOptions(t)
	ctx, cancel := context.WithTimeout(context.Background(), 35*time.Minute)
	defer cancel()
	opts := options(t)
	// The production SOP: its deadlines are days, so no timer of the
	// opened cases fires during the measurement (the fast SOP's would).
	opts.SOP = filepath.Join(opts.Repo, "sop")
	topo, err := NewTopology(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer topo.Close()
	if o.Email, o.Password, err = loadOfficer(ctx, topo, 2); err != nil {
		t.Fatal(err)
	}
	tc, err := client.Dial(client.Options{HostPort: topo.TemporalAddr, Namespace: topo.Namespace.Namespace, Logger: quietLogger{}})
	if err != nil {
		t.Fatalf("connect to the topology's Temporal: %v", err)
	}
	defer tc.Close()
	o.API, o.Temporal, o.Out, o.CPU = topo.APIURLs[0], tc, os.Stdout, topologyCPU(topo)
	fmt.Printf("\n==== nrm load against the production topology: Temporal %s (%d history shards) on PostgreSQL, %d× nrm serve (the load through %s), %d× nrm worker; n=%d ====\n",
		topo.TemporalAddr, opts.HistoryShards, len(topo.APIs), topo.APIs[0].Name, len(topo.Workers), o.N)
	before := workerRSS(topo)
	res, err := loadtest.Run(ctx, o)
	if err != nil {
		t.Fatalf("load: %v (logs: %s)", err, opts.Dir)
	}
	checkLoadResult(t, o, res)
	// The workers' memory with the cases the run left open (every case
	// workflow waits for its next step), for deploy/README.md's sizing.
	db, err := sqlx.Open("pgx", superuserURL(opts.PostgresURL, topo.NRMDB))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var open int
	if err := db.GetContext(ctx, &open, `SELECT count(*) FROM cases WHERE closed_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	after := workerRSS(topo)
	for i, w := range topo.Workers {
		fmt.Printf("%s resident memory: %.0f MiB before the run, %.0f MiB after it, with %d open cases across the %d workers\n",
			w.Name, float64(before[i])/(1<<20), float64(after[i])/(1<<20), open, len(topo.Workers))
	}
}

// topologyCPU reads the processor time of the topology's processes: the
// Temporal server, PostgreSQL (every postgres process on the machine, so
// run it on a quiet one), the API and worker processes summed, and this
// test process ("load": the clients and the bare workflow's worker).
func topologyCPU(topo *Topology) func() loadtest.CPU {
	return func() loadtest.CPU {
		c := loadtest.CPU{"temporal": topo.Temporal.CPU(), "postgres": commandCPU("postgres"), "load": pidCPU("self")}
		for _, p := range topo.APIs {
			c["api"] += p.CPU()
		}
		for _, p := range topo.Workers {
			c["worker"] += p.CPU()
		}
		return c
	}
}

// workerRSS is each worker's resident memory now.
func workerRSS(topo *Topology) []int64 {
	out := make([]int64, len(topo.Workers))
	for i, w := range topo.Workers {
		out[i] = w.RSS()
	}
	return out
}

// loadOptions are loadtest's defaults sized by the flags.
func loadOptions(t *testing.T) loadtest.Options {
	o := loadtest.Defaults()
	o.N, o.ReadsFor = *loadN, *loadReadFor
	var err error
	if o.Concurrency, err = loadtest.ParseConcurrency(*loadConc); err != nil {
		t.Fatalf("-faults.load-concurrency: %v", err)
	}
	return o
}

// loadOfficer brings the topology up as TestFaults does, with that many
// nrm serve and nrm worker (the README's first administrator, then the
// directory through the API), and answers the frontline officer's e-mail
// and password.
func loadOfficer(ctx context.Context, topo *Topology, processes int) (email, password string, err error) {
	adminPassword := "kestrel-" + randomHex(8)
	adminEmail, err := topo.Up(ctx, adminPassword, processes)
	if err != nil {
		return "", "", err
	}
	c := &Client{APIs: topo.APIURLs, HTTP: &http.Client{Timeout: 90 * time.Second}, GiveUp: time.Minute, Faults: &FaultLog{}}
	adminToken, err := c.Login(ctx, adminEmail, adminPassword)
	if err != nil {
		return "", "", fmt.Errorf("the first administrator signs in: %w", err)
	}
	password = "orbit-meadow-" + randomHex(8)
	if _, err := Directory(ctx, c, adminToken, password); err != nil {
		return "", "", fmt.Errorf("directory through the API: %w", err)
	}
	return OfficerEmail, password, nil
}

// checkLoadResult: every row of both series measured every operation, and
// none failed.
func checkLoadResult(t *testing.T, o loadtest.Options, res *loadtest.Result) {
	t.Helper()
	if n := res.Failures.Total(); n > 0 {
		t.Errorf("%d operations failed: %s", n, res.Failures)
	}
	if want := 2 * len(o.Concurrency); len(res.Rows) != want {
		t.Errorf("%d rows, want %d (two series × %v)", len(res.Rows), want, o.Concurrency)
	}
	per := o.N / loadtest.Alternations * loadtest.Alternations
	for _, r := range res.Rows {
		if r.Engine.Count != per || r.Open.Count != per || r.Engine.Rate <= 0 || r.Open.Rate <= 0 || r.Open.P50 <= 0 || r.Engine.P50 <= 0 {
			t.Errorf("row %s c=%d: engine %+v, open %+v; want %d measured operations each", r.Who, r.Concurrency, r.Engine, r.Open, per)
		}
	}
	if o.ReadsFor > 0 && (res.Reads.Count == 0 || res.Reads.P50 <= 0) {
		t.Errorf("reads: %+v, want measured reads", res.Reads)
	}
}
