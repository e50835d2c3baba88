// Package loadtest measures a running NRM deployment: the rate and latency
// of opening a case over HTTP beside the engine's own pace — a bare
// workflow with one no-op activity, started and awaited, on the same
// Temporal — alternately, at several concurrencies, with every case a
// different person and then every case the same person; then case reads at
// a fixed rate. The ratio of the rates says what NRM adds to Temporal.
//
// It is `nrm load` (against `nrm dev` or a staging deployment),
// BenchmarkLoad in internal/app (an in-process system) and TestLoad in
// test/faults (the production topology). It opens real cases with
// synthetic persons ("Load…"): never run it against live data.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// Options say what to measure and where.
type Options struct {
	// API is the base URL of the API (http://127.0.0.1:8080).
	API string
	// Email and Password sign in an officer who may open cases.
	Email, Password string
	// HTTP sends the requests (nil: a client with a 30 s timeout that keeps
	// enough idle connections for the highest concurrency).
	HTTP *http.Client
	// Temporal runs the bare workflow, on TaskQueue (Run registers and
	// stops its own worker there).
	Temporal  client.Client
	TaskQueue string
	// N is the number of operations of each kind per concurrency, run in
	// three alternations of N/3.
	N           int
	Concurrency []int
	// SamePerson adds the series where every case is the same person
	// (duplicate detection finds all the earlier ones).
	SamePerson bool
	// Region is the encounter's region: one of the deployment's regions.
	Region string
	// ReadsPerSecond case reads for ReadsFor follow the openings (ReadsFor
	// 0: none).
	ReadsPerSecond int
	ReadsFor       time.Duration
	// Out receives the result lines as they are measured (nil: none).
	Out io.Writer
	// CPU reads the processor time the deployment's processes have used
	// so far, by process (nil: not measured). With it, each row also says
	// how much of it one operation of each kind cost, and where: the
	// evidence of what limits the rate on a machine the load saturates.
	CPU func() CPU
}

// CPU is processor time by process name ("temporal", "postgres", "api"…).
type CPU map[string]time.Duration

// sub is c minus an earlier reading.
func (c CPU) sub(earlier CPU) CPU {
	out := CPU{}
	for k, v := range c {
		out[k] = v - earlier[k]
	}
	return out
}

func (c CPU) add(o CPU) CPU {
	out := maps.Clone(c)
	if out == nil {
		out = CPU{}
	}
	for k, v := range o {
		out[k] += v
	}
	return out
}

// per is the time per operation of n.
func (c CPU) per(n int) CPU {
	out := CPU{}
	for k, v := range c {
		out[k] = v / time.Duration(max(n, 1))
	}
	return out
}

// Total is the time of every process.
func (c CPU) Total() time.Duration {
	var t time.Duration
	for _, v := range c {
		t += v
	}
	return t
}

// String lists the processes by name, then the total, in milliseconds.
func (c CPU) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c)) {
		fmt.Fprintf(&b, "%s %.1f  ", k, float64(c[k].Microseconds())/1000)
	}
	fmt.Fprintf(&b, "= %.1f ms", float64(c.Total().Microseconds())/1000)
	return b.String()
}

// Alternations is how many times each row alternates engine and API runs,
// so that a drift of the machine or of the server's state falls on both.
const Alternations = 3

// Defaults are the measurements of the README's figures.
func Defaults() Options {
	return Options{TaskQueue: "nrm-load", N: 600, Concurrency: []int{1, 8, 32}, SamePerson: true, Region: "lebap",
		ReadsPerSecond: 200, ReadsFor: 10 * time.Second}
}

// Validate reports every option that cannot be measured with, except the
// Temporal client (a command checks its flags before it connects).
func (o Options) Validate() error {
	var errs []error
	if u, err := url.Parse(o.API); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("the API must be an http(s) base URL, got %q", o.API))
	}
	if !strings.Contains(o.Email, "@") {
		errs = append(errs, fmt.Errorf("the officer's e-mail must be an e-mail address, got %q", o.Email))
	}
	if o.Password == "" {
		errs = append(errs, errors.New("the officer's password is missing"))
	}
	if o.TaskQueue == "" {
		errs = append(errs, errors.New("the task queue of the bare workflow must not be empty"))
	}
	if o.N < Alternations || o.N > 1_000_000 {
		errs = append(errs, fmt.Errorf("operations per concurrency must be %d to 1000000 (one per alternation at least), got %d", Alternations, o.N))
	}
	if err := checkConcurrency(o.Concurrency); err != nil {
		errs = append(errs, err)
	}
	if o.Region == "" {
		errs = append(errs, errors.New("the region must not be empty"))
	}
	if o.ReadsFor < 0 || o.ReadsFor > time.Hour || (o.ReadsFor > 0 && (o.ReadsPerSecond < 1 || o.ReadsPerSecond > 10_000)) {
		errs = append(errs, fmt.Errorf("reads must be 1 to 10000 a second for 0 (none) to 1h, got %d/s for %s", o.ReadsPerSecond, o.ReadsFor))
	}
	return errors.Join(errs...)
}

func checkConcurrency(cs []int) error {
	if len(cs) == 0 {
		return errors.New("at least one concurrency is needed")
	}
	for _, c := range cs {
		if c < 1 || c > 1024 {
			return fmt.Errorf("a concurrency must be 1 to 1024, got %d", c)
		}
	}
	return nil
}

// ParseConcurrency reads a comma-separated list such as "1,8,32".
func ParseConcurrency(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("concurrency %q is not a comma-separated list of numbers such as 1,8,32", s)
		}
		out = append(out, c)
	}
	return out, checkConcurrency(out)
}

// Stats are the measurements of one kind of operation.
type Stats struct {
	Count    int
	Rate     float64 // operations per second of the runs' time
	P50, P99 time.Duration
}

// Row is one concurrency of one series.
type Row struct {
	// Who is "different persons" or "the same person".
	Who         string
	SamePerson  bool
	Concurrency int
	Engine      Stats
	Open        Stats
	// Ratio is the open-case rate over the engine rate.
	Ratio float64
	// EngineCPU and OpenCPU are the processor time one operation of each
	// kind cost, by process (nil when Options.CPU is).
	EngineCPU, OpenCPU CPU
}

// Failures count the operations that failed, by kind and by reason
// ("status 503"); a run with any fails.
type Failures struct {
	Engine, Open, Read int
	Reasons            map[string]int
}

// Total is the number of failed operations.
func (f Failures) Total() int { return f.Engine + f.Open + f.Read }

func (f *Failures) add(kind string, reasons map[string]int) {
	if f.Reasons == nil {
		f.Reasons = map[string]int{}
	}
	for r, n := range reasons {
		f.Reasons[kind+": "+r] += n
		switch kind {
		case kindEngine:
			f.Engine += n
		case kindOpen:
			f.Open += n
		case kindRead:
			f.Read += n
		}
	}
}

// String lists the reasons, most frequent first.
func (f Failures) String() string {
	keys := slices.Sorted(maps.Keys(f.Reasons))
	slices.SortStableFunc(keys, func(a, b string) int { return f.Reasons[b] - f.Reasons[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, f.Reasons[k])
	}
	return strings.Join(parts, ", ")
}

// Result is what a run measured; on failure, the rows measured before.
type Result struct {
	Rows []Row
	// Reads are the case reads at the fixed rate (zero when none).
	Reads    Stats
	Failures Failures
}

const (
	kindEngine = "engine"
	kindOpen   = "open case"
	kindRead   = "read case"
)

// Run measures; it fails when any operation failed, naming the failures
// rather than printing rates of a broken run.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("load options: %w", err)
	}
	if o.Temporal == nil {
		return nil, errors.New("load options: no Temporal client")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.HTTP == nil {
		o.HTTP = newHTTPClient(slices.Max(o.Concurrency))
	}
	api, err := signIn(ctx, o.HTTP, o.API, o.Email, o.Password)
	if err != nil {
		return nil, err
	}
	eng, err := startEngine(o.Temporal, o.TaskQueue)
	if err != nil {
		return nil, err
	}
	defer eng.stop()
	r := &runner{o: o, api: api, eng: eng, res: &Result{}}
	return r.res, r.run(ctx)
}

// runner is one Run's state.
type runner struct {
	o      Options
	api    *apiClient
	eng    *engine
	res    *Result
	mu     sync.Mutex
	opened []string // IDs of the cases opened, for the reads
}

func (r *runner) keep(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, id)
}

func (r *runner) openedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.opened)
}

func (r *runner) run(ctx context.Context) error {
	series := []bool{false}
	if r.o.SamePerson {
		series = append(series, true)
	}
	for _, same := range series {
		for _, conc := range r.o.Concurrency {
			if err := r.row(ctx, same, conc); err != nil {
				return err
			}
		}
	}
	if r.o.ReadsFor == 0 {
		return nil
	}
	return r.reads(ctx)
}

func (r *runner) row(ctx context.Context, same bool, conc int) error {
	var eng, open phase
	var engCPU, openCPU CPU
	per := r.o.N / Alternations
	for range Alternations {
		before := r.cpu()
		eng.add(runOps(ctx, conc, per, r.eng.run))
		between := r.cpu()
		open.add(runOps(ctx, conc, per, r.openOp(same)))
		after := r.cpu()
		if r.o.CPU != nil {
			engCPU, openCPU = engCPU.add(between.sub(before)), openCPU.add(after.sub(between))
		}
		if err := r.check(ctx, map[string]*phase{kindEngine: &eng, kindOpen: &open}); err != nil {
			return err
		}
	}
	row := Row{Who: who(same), SamePerson: same, Concurrency: conc, Engine: eng.stats(), Open: open.stats()}
	if row.Engine.Rate > 0 {
		row.Ratio = row.Open.Rate / row.Engine.Rate
	}
	if r.o.CPU != nil {
		row.EngineCPU, row.OpenCPU = engCPU.per(row.Engine.Count), openCPU.per(row.Open.Count)
	}
	r.res.Rows = append(r.res.Rows, row)
	fmt.Fprintln(r.o.Out, row)
	if r.o.CPU != nil {
		fmt.Fprintf(r.o.Out, "    CPU per operation   engine: %s\n    CPU per operation   open case: %s\n", row.EngineCPU, row.OpenCPU)
	}
	return nil
}

// cpu reads the processes' CPU time, if measured.
func (r *runner) cpu() CPU {
	if r.o.CPU == nil {
		return nil
	}
	return r.o.CPU()
}

func who(same bool) string {
	if same {
		return "the same person"
	}
	return "different persons"
}

// String is the row's line of the table.
func (row Row) String() string {
	e, o := row.Engine, row.Open
	return fmt.Sprintf("%-17s c=%-2d  engine %6.1f/s p50 %6s p99 %6s | open case %6.1f/s p50 %6s p99 %6s | ratio %.2f",
		row.Who, row.Concurrency, e.Rate, ms(e.P50), ms(e.P99), o.Rate, ms(o.P50), ms(o.P99), row.Ratio)
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// openOp opens a case, a new person or the same one each time, and keeps
// its ID for the reads.
func (r *runner) openOp(same bool) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		id, err := r.api.openCase(ctx, Screening(i, same, r.o.Region))
		if err == nil {
			r.keep(id)
		}
		return err
	}
}

// check records the phases' failures and ends the run on any: the
// context's end, or a failed operation.
func (r *runner) check(ctx context.Context, phases map[string]*phase) error {
	for kind, p := range phases {
		r.res.Failures.add(kind, p.failures)
		p.failures = nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped: %w", err)
	}
	if f := r.res.Failures; f.Total() > 0 {
		return fmt.Errorf("%d failed operations, so no rates are given: %s%s", f.Total(), f, hint(f))
	}
	return nil
}

// hints name the likely causes of failures an operator can remove, the
// likeliest first.
var hints = []struct{ reason, hint string }{
	{"status 429", "429: the API's per-user rate limit; raise NRM_USER_RATE on the deployment under test, e.g. 1000000"},
	{"open case: status 403", "403: the signed-in user may not open cases; sign in as a frontline officer"},
	{"open case: status 422", "422: the deployment refused the case; is the region one of its NRM_REGIONS?"},
}

func hint(f Failures) string {
	for _, h := range hints {
		for reason := range f.Reasons {
			if strings.Contains(reason, h.reason) {
				return " (" + h.hint + ")"
			}
		}
	}
	return ""
}

func (r *runner) reads(ctx context.Context) error {
	ids := r.openedIDs()
	if len(ids) == 0 {
		return errors.New("no case was opened to read")
	}
	p := readAtRate(ctx, r.o.ReadsPerSecond, r.o.ReadsFor, func(ctx context.Context, i int) error {
		return r.api.readCase(ctx, ids[rand.IntN(len(ids))])
	})
	if err := r.check(ctx, map[string]*phase{kindRead: &p}); err != nil {
		return err
	}
	r.res.Reads = p.stats()
	fmt.Fprintf(r.o.Out, "case reads at %d/s for %s s: %d reads, p50 %s p99 %s\n", r.o.ReadsPerSecond,
		strconv.FormatFloat(r.o.ReadsFor.Seconds(), 'f', -1, 64), r.res.Reads.Count, ms(r.res.Reads.P50), ms(r.res.Reads.P99))
	return nil
}
