package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/synthetic"
)

const seedUsage = `usage: nrm seed synthetic --cases N [--seed S] [--until DATE] [flags]

Writes a realistic synthetic history of N cases straight into the read model
(cases, timeline events, obligations, referrals; agencies when missing and
inactive users), for demonstrations and benchmarks. No identity rows are
written. The database is created and migrated when needed.

  --cases N     number of cases (required)
  --seed S      random seed (default 1); the same seed gives the same history,
                and seeding it twice into one database fails
  --until DATE  end of the history, YYYY-MM-DD (default now); cases open from
                1 January of the year before

The other flags are those of every command (nrm seed synthetic -h).
`

const simulateUsage = `usage: nrm sop simulate --sop NEW.yaml [--from DATE] [--to DATE] [--region R] [--format text|csv|json] [flags]

Replays the recorded event times of past cases against the deadlines of the
SOP version in NEW.yaml and prints, for each obligation, compliance under the
recorded versions and under NEW.yaml side by side. Instances
count in the period in which they started; periods are whole months.

  --sop FILE      the candidate SOP version (required)
  --recorded DIR  the SOP versions the cases were recorded under (default NRM_SOP, i.e. sop/)
  --from, --to    first and last month, YYYY-MM or YYYY-MM-DD (default: the last 12 months)
  --region R      only cases of this region
  --format F      text (default), csv or json
  --suppression-threshold N   counts below N are withheld (NRM_SUPPRESSION_THRESHOLD, default 5)

The synthetic 2025 version (internal/synthetic/sop/) is added to the recorded
versions, so that histories written by "nrm seed synthetic" replay.
`

// takeFlags removes the named flags (--name value, --name=value, or with a
// single dash) from args, returning their values and the other arguments,
// which go to the configuration's flag set.
func takeFlags(args []string, names ...string) (map[string]string, []string, error) {
	vals := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		known := strings.HasPrefix(a, "-") && a != "-" && a != "--"
		if known {
			known = false
			for _, n := range names {
				if n == name {
					known = true
				}
			}
		}
		if !known {
			rest = append(rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			value = args[i]
		}
		vals[name] = value
	}
	return vals, rest, nil
}

// runSeed runs `nrm seed synthetic`.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "synthetic" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, seedUsage)
			return 0
		}
		fmt.Fprint(stderr, seedUsage)
		return 2
	}
	own, rest, err := takeFlags(args[1:], "cases", "seed", "until")
	if err != nil {
		fmt.Fprintf(stderr, "nrm seed synthetic: %v\n\n%s", err, seedUsage)
		return 2
	}
	opt := synthetic.Options{Seed: 1}
	if opt.Cases, err = strconv.Atoi(own["cases"]); err != nil || opt.Cases <= 0 {
		fmt.Fprintf(stderr, "nrm seed synthetic: --cases must be a positive number\n\n%s", seedUsage)
		return 2
	}
	if s, ok := own["seed"]; ok {
		if opt.Seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			fmt.Fprintf(stderr, "nrm seed synthetic: --seed must be a number\n")
			return 2
		}
	}
	if u, ok := own["until"]; ok {
		if opt.Now, err = time.Parse(time.DateOnly, u); err != nil {
			fmt.Fprintf(stderr, "nrm seed synthetic: --until must be YYYY-MM-DD\n")
			return 2
		}
	}
	cfg, extra, log, code := setup("seed synthetic", rest, stderr)
	if code >= 0 {
		return code
	}
	if len(extra) > 0 {
		fmt.Fprintf(stderr, "nrm seed synthetic: unexpected arguments %v\n", extra)
		return 2
	}
	set, err := sop.LoadPath(cfg.SOPPath)
	if err != nil {
		return fail(log, "load SOP", err)
	}
	if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return fail(log, "seed", err)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "seed", err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fail(log, "migrate", err)
	}
	step := max(opt.Cases/10, 1000)
	opt.Progress = func(done int) {
		if done%step < 2000 || done == opt.Cases {
			log.Info("synthetic cases written", "done", done, "of", opt.Cases)
		}
	}
	res, err := synthetic.Seed(ctx, st, set, opt)
	if err != nil {
		return fail(log, "seed synthetic", err)
	}
	fmt.Fprintf(stdout, "seeded %s\n", res)
	return 0
}

// runSimulate runs `nrm sop simulate`.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprint(stdout, simulateUsage)
			return 0
		}
	}
	own, rest, err := takeFlags(args, "sop", "recorded", "from", "to", "region", "format")
	if err != nil {
		fmt.Fprintf(stderr, "nrm sop simulate: %v\n\n%s", err, simulateUsage)
		return 2
	}
	if own["sop"] == "" {
		fmt.Fprintf(stderr, "nrm sop simulate: --sop NEW.yaml is required\n\n%s", simulateUsage)
		return 2
	}
	format := own["format"]
	if format == "" {
		format = "text"
	}
	if format != "text" && format != "csv" && format != "json" {
		fmt.Fprintf(stderr, "nrm sop simulate: --format must be text, csv or json\n")
		return 2
	}
	candidate, err := sop.LoadFile(own["sop"])
	if err != nil {
		fmt.Fprintf(stderr, "nrm sop simulate: %v\n", err)
		return 1
	}
	cfg, extra, log, code := setup("sop simulate", rest, stderr)
	if code >= 0 {
		return code
	}
	if len(extra) > 0 {
		fmt.Fprintf(stderr, "nrm sop simulate: unexpected arguments %v\n", extra)
		return 2
	}
	recordedPath := cfg.SOPPath
	if p := own["recorded"]; p != "" {
		recordedPath = p
	}
	recorded, err := sop.LoadPath(recordedPath)
	if err != nil {
		return fail(log, "load recorded SOP versions", err)
	}
	recorded = withSyntheticVersion(recorded)
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "simulate", err)
	}
	defer st.Close()
	svc := &reports.Service{Store: st, SOPs: recorded, Threshold: cfg.SuppressionThreshold}
	period, err := svc.Period(own["from"], own["to"])
	if err != nil {
		fmt.Fprintf(stderr, "nrm sop simulate: %v\n", err)
		return 2
	}
	sim, err := svc.Simulate(ctx, candidate, reports.SimulateQuery{Period: period, Region: own["region"]})
	if err != nil {
		return fail(log, "simulate", err)
	}
	switch format {
	case "csv":
		err = sim.WriteCSV(stdout)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(sim)
	default:
		err = sim.WriteText(stdout)
	}
	if err != nil {
		return fail(log, "write simulation", err)
	}
	return 0
}

// withSyntheticVersion adds the synthetic 2025 version to the recorded
// versions, so that synthetic histories replay; it changes nothing for
// real cases, none of which is recorded under it.
func withSyntheticVersion(set *sop.Set) *sop.Set {
	prev, err := synthetic.PreviousVersion()
	if err != nil {
		return set
	}
	if _, ok := set.Get(prev.Version); ok {
		return set
	}
	more, err := sop.NewSet(append(set.All(), prev)...)
	if err != nil {
		return set // e.g. a real version takes effect the same day
	}
	return more
}
