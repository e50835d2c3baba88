package reports_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/synthetic"
)

// The benchmarks seed one fresh database per size with the synthetic
// history (about 14 events per case) and share it between
// BenchmarkCompliance and BenchmarkStatistics; TestMain drops them. Each
// report is timed over the default period (the last twelve months, to
// November 2026) and over the whole history (January 2025 to November 2026).
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/reports/
//	NRM_BENCH_CASES=1000000 go test -run '^$' -bench . -benchtime 3x -timeout 3h ./internal/reports/
//
// Each benchmark also writes the EXPLAIN ANALYZE plans of its queries to
// $TMPDIR/nrm-bench-plans-<size>.txt and logs the indexes they use.

// benchSizes are the numbers of cases benchmarked: 10,000 and 100,000, or
// those NRM_BENCH_CASES lists (comma-separated, e.g. 1000000).
func benchSizes(b *testing.B) []int {
	v := os.Getenv("NRM_BENCH_CASES")
	if v == "" {
		return []int{10_000, 100_000}
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("NRM_BENCH_CASES: %q is not a number of cases", f)
		}
		out = append(out, n)
	}
	return out
}

// benchNow is the end of the synthetic history.
var benchNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type benchEnv struct {
	once   sync.Once
	err    error
	url    string
	st     *store.Store
	svc    *reports.Service
	seeded synthetic.Result
	plans  sync.Once
}

var (
	benchMu   sync.Mutex
	benchEnvs = map[int]*benchEnv{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, e := range benchEnvs {
		if e.st != nil {
			e.st.Close()
		}
		if e.url != "" {
			store.DropDatabase(context.Background(), e.url)
		}
	}
	os.Exit(code)
}

// benchDatabase creates a fresh database on the test server.
func benchDatabase() (string, error) { return reports.NewTestDatabase("nrm_bench_") }

func env(b *testing.B, size int) *benchEnv {
	benchMu.Lock()
	e := benchEnvs[size]
	if e == nil {
		e = &benchEnv{}
		benchEnvs[size] = e
	}
	benchMu.Unlock()
	e.once.Do(func() {
		ctx := context.Background()
		if e.url, e.err = benchDatabase(); e.err != nil {
			return
		}
		if e.st, e.err = store.Open(ctx, e.url); e.err != nil {
			return
		}
		if _, e.err = e.st.Migrate(ctx); e.err != nil {
			return
		}
		var set *sop.Set
		if set, e.err = sop.LoadPath(filepath.Join(reports.RepoRoot(), "sop")); e.err != nil {
			return
		}
		if set, e.err = synthetic.Versions(set); e.err != nil {
			return
		}
		e.seeded, e.err = synthetic.Seed(ctx, e.st, set, synthetic.Options{Cases: size, Seed: 42, Now: benchNow, Batch: 5000})
		e.svc = &reports.Service{Store: e.st, SOPs: set, Now: func() time.Time { return benchNow }}
	})
	if e.err != nil {
		b.Fatalf("seed %d cases: %v", size, e.err)
	}
	return e
}

// benchPeriods: the default period of a report (the last twelve months)
// and the whole synthetic history (23 months).
var benchPeriods = []struct {
	name     string
	from, to string
}{
	{"months=12", "", ""},
	{"months=23", "2025-01", "2026-11"},
}

func (e *benchEnv) period(b *testing.B, from, to string) reports.Period {
	p, err := e.svc.Period(from, to)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

var indexName = regexp.MustCompile(`(?:Index|Index Only|Bitmap Index) Scan (?:Backward )?(?:using|on) (\w+)`)

// recordPlans writes the plans of the report queries and logs their indexes.
func (e *benchEnv) recordPlans(b *testing.B, size int) {
	e.plans.Do(func() {
		plans, err := e.svc.Explain(context.Background(), e.period(b, "2025-01", "2026-11"))
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("nrm-bench-plans-%d.txt", size))
		var all strings.Builder
		var names []string
		for name := range plans {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(&all, "=== %s\n%s\n\n", name, plans[name])
			var idx []string
			for _, m := range indexName.FindAllStringSubmatch(plans[name], -1) {
				if !slices.Contains(idx, m[1]) {
					idx = append(idx, m[1])
				}
			}
			b.Logf("%d cases: %s uses %v", size, name, idx)
		}
		os.WriteFile(path, []byte(all.String()), 0o644)
		b.Logf("%d cases seeded (%s); plans in %s", size, e.seeded, path)
	})
}

// BenchmarkCompliance times the compliance report twice: kept=no with
// nothing kept (every month read from the instances, as on the first
// request after a deployment), kept=yes with the months that are over
// kept (as after the worker's housekeeping, or any earlier request).
func BenchmarkCompliance(b *testing.B) {
	build := func(ctx context.Context, svc *reports.Service, p reports.Period) (int, error) {
		rep, err := svc.Compliance(ctx, reports.ComplianceQuery{Period: p})
		if err != nil {
			return 0, err
		}
		return len(rep.Tables), nil
	}
	b.Run("kept=no", func(b *testing.B) {
		benchReportWith(b, build, func(e *benchEnv) {
			if _, err := e.st.DB().Exec(`DELETE FROM report_months`); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("kept=yes", func(b *testing.B) { benchReport(b, build) })
}

// BenchmarkStatistics times the statistics like BenchmarkCompliance:
// kept=no with nothing kept, kept=yes with the months that are over kept.
func BenchmarkStatistics(b *testing.B) {
	build := func(ctx context.Context, svc *reports.Service, p reports.Period) (int, error) {
		rep, err := svc.Statistics(ctx, reports.StatisticsQuery{Period: p})
		if err != nil {
			return 0, err
		}
		return len(rep.Tables), nil
	}
	b.Run("kept=no", func(b *testing.B) {
		benchReportWith(b, build, func(e *benchEnv) {
			if _, err := e.st.DB().Exec(`DELETE FROM report_months`); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("kept=yes", func(b *testing.B) { benchReport(b, build) })
}

// benchReport times build, which returns its report's number of tables,
// for every size and period.
func benchReport(b *testing.B, build func(context.Context, *reports.Service, reports.Period) (int, error)) {
	benchReportWith(b, build, nil)
}

// benchReportWith is benchReport calling before (untimed) before each run.
func benchReportWith(b *testing.B, build func(context.Context, *reports.Service, reports.Period) (int, error), before func(*benchEnv)) {
	for _, size := range benchSizes(b) {
		for _, per := range benchPeriods {
			b.Run(fmt.Sprintf("cases=%d/%s", size, per.name), func(b *testing.B) {
				if testing.Short() && size > 10_000 {
					b.Skip("-short")
				}
				e := env(b, size)
				period := e.period(b, per.from, per.to)
				ctx := context.Background()
				if before == nil {
					build(ctx, e.svc, period) // what a first request keeps
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if before != nil {
						b.StopTimer()
						before(e)
						b.StartTimer()
					}
					tables, err := build(ctx, e.svc, period)
					if err != nil {
						b.Fatal(err)
					}
					if tables == 0 {
						b.Fatal("empty report")
					}
				}
				b.StopTimer()
				e.recordPlans(b, size)
			})
		}
	}
}
