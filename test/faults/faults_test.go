//go:build faults

package faults

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// The CI size (`.ci/run`); the larger run of deploy/README.md#failures:
//
//	go test -tags faults -run TestFaults -timeout 90m ./test/faults -args \
//	  -faults.cases 1000 -faults.concurrency 12 -faults.pg-restart -faults.shards 0
var (
	cases       = flag.Int("faults.cases", 300, "cases to open")
	concurrency = flag.Int("faults.concurrency", 8, "cases driven at a time")
	pgRestart   = flag.Bool("faults.pg-restart", false, "restart the PostgreSQL cluster (pg_ctlcluster) instead of cutting the run's databases off; only where no one else uses it")
	shards      = flag.Int("faults.shards", 16, "Temporal history shards (0: docker-compose.yml's NUM_HISTORY_SHARDS)")
	keep        = flag.String("faults.dir", "", "keep binaries and logs in this directory (default: a temporary one)")
)

// The nrm binary both tests run, built once.
var nrmBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if nrmBin.dir != "" {
		os.RemoveAll(nrmBin.dir)
	}
	os.Exit(code)
}

func nrmBinary(t *testing.T) string {
	t.Helper()
	nrmBin.once.Do(func() {
		if nrmBin.dir, nrmBin.err = os.MkdirTemp("", "nrm-faults-"); nrmBin.err == nil {
			nrmBin.path, nrmBin.err = BuildNRM(context.Background(), testenv.RepoRoot(), nrmBin.dir)
		}
	})
	if nrmBin.err != nil {
		t.Fatal(nrmBin.err)
	}
	return nrmBin.path
}

func options(t *testing.T) Options {
	dir := *keep
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	dir, _ = filepath.Abs(dir)
	server := os.Getenv("NRM_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	return Options{Repo: testenv.RepoRoot(), Dir: dir, PostgresURL: server, HistoryShards: *shards,
		SOP: testenv.FastSOP(), NRM: nrmBinary(t), Logf: t.Logf}
}

// TestFaults runs the production topology under load while killing and
// restarting its parts, then checks that nothing was lost or written twice,
// backs it up and restores it (see the package comment).
func TestFaults(t *testing.T) {
	t.Parallel() // with TestDevKill: much of both is waiting
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	r := &Run{Opts: options(t), Size: Size{Cases: *cases, Concurrency: *concurrency, Outage: 3 * time.Second,
		PostgresRestart: *pgRestart, Processes: 2}}
	err := r.Execute(ctx)
	if r.Client != nil && r.Load != nil {
		r.Summary(os.Stdout)
	}
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	if len(r.Report.Checks) == 0 {
		t.Fatal("no invariant was checked")
	}
	if n := len(r.Report.Violations); n > 0 {
		t.Errorf("%d invariant violations (summary above)", n)
	}
}

// TestDevKill kills `nrm dev` with SIGKILL while cases are being opened,
// starts it again, and checks what the client was told against what was
// recorded: every case that answered 201 listed with its workflow running
// and a timeline without duplicates, no case from a request that failed
// without a successful retry.
func TestDevKill(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	o := options(t)
	dir := filepath.Join(o.Dir, "devkill")
	testenv.Must(t, os.MkdirAll(dir, 0o700))
	d := &DevKill{Bin: o.NRM, Repo: o.Repo, Dir: dir, DatabaseURL: testenv.Database(t), Cases: 100, Concurrency: 8, KillAfter: 30, Logf: t.Logf}
	err := d.Run(ctx)
	d.Summary(os.Stdout)
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	if d.Answered201 == 0 || len(d.Report.Checks) == 0 {
		t.Fatal("nothing was opened or checked")
	}
	if n := len(d.Report.Violations); n > 0 {
		t.Errorf("%d violations (summary above)", n)
	}
}
