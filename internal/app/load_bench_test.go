package app_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/loadtest"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The load benchmark of `nrm dev` (README "Benchmarks"): internal/loadtest
// — what `nrm load` runs against a deployment — against an in-process
// system: opening a case over HTTP beside the engine's own pace — a bare
// workflow with one activity, started and awaited — on the same embedded
// Temporal server, alternately, at concurrency 1, 8 and 32, with every case
// a different person and then every case the same person; then case reads
// at a fixed 200 a second. The figures that matter are the ratios of the
// rates, printed with -v:
//
//	go test -v -run '^$' -bench Load -benchtime 1x -timeout 30m ./internal/app/
//
// NRM_LOAD_N sets the operations of each kind per concurrency (default 600:
// 200 per alternation, enough that a few slow workflow starts do not move
// the ratios).
func BenchmarkLoad(b *testing.B) {
	o := loadtest.Defaults()
	if s := os.Getenv("NRM_LOAD_N"); s != "" {
		var err error
		if o.N, err = strconv.Atoi(s); err != nil || o.N < loadtest.Alternations {
			b.Fatalf("NRM_LOAD_N: %q is not a number of operations (at least %d)", s, loadtest.Alternations)
		}
	}
	cfg := testenv.Config(b, testenv.Database(b), b.TempDir())
	cfg.UserRate = 1 << 30 // one officer opens every case
	sys := testenv.Start(b, cfg)
	o.API = testenv.NewClient(sys).Base
	o.Email, o.Password = "officer@lebap-police.example", testenv.DemoPassword
	o.Temporal = sys.Temporal
	o.Out = logWriter{tb: b}
	for b.Loop() {
		if _, err := loadtest.Run(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// logWriter logs what it is given: loadtest writes whole lines.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
