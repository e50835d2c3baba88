package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/loadtest"
)

const loadUsage = `usage: nrm load [flags]

Measures a running deployment: opening a case over HTTP beside a bare
Temporal workflow with one activity (its own worker, on its own task queue),
alternately, at each concurrency, with every case a different person and
then every case the same person; then case reads at a fixed rate. Prints the
rates, p50 and p99 of each and the ratio open-case rate / engine rate.

WARNING: it opens real cases (synthetic persons named "Load…", n per
concurrency and series: 3600 with the defaults) and runs workflows in the
namespace. Use it on a development (nrm dev) or staging deployment, never on
one with real cases. The API's per-user rate limit must allow the load:
start the deployment with NRM_USER_RATE=1000000.

The officer's password is read from NRM_LOAD_PASSWORD, else from
NRM_DEMO_PASSWORD (the demo users' password of nrm dev), never from a flag:
secrets stay out of the command line.

flags (each also reads the environment variable named beside it):
`

// loadFlags are the flags of nrm load before they are checked.
type loadFlags struct {
	api, temporalAddress, namespace, taskQueue, email, region string
	n, concurrency, readsPerSecond, readsFor, samePerson      string
}

// loadFlagSet declares the flags, each defaulting to its environment
// variable.
func loadFlagSet(stderr io.Writer, getenv func(string) string) (*flag.FlagSet, *loadFlags) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &loadFlags{}
	d := loadtest.Defaults()
	str := func(p *string, name, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+env+")")
	}
	str(&f.api, "api", "NRM_LOAD_API", "http://127.0.0.1:8080", "`URL` of the API (its base)")
	str(&f.temporalAddress, "temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend `host:port` (nrm dev serves 127.0.0.1:7233)")
	str(&f.namespace, "temporal-namespace", "TEMPORAL_NAMESPACE", "nrm", "Temporal `namespace`")
	str(&f.taskQueue, "task-queue", "NRM_LOAD_TASK_QUEUE", d.TaskQueue, "`name` of the task queue of the bare workflow (not the deployment's own)")
	str(&f.email, "email", "NRM_LOAD_EMAIL", demoOfficer(), "`e-mail` of an officer who may open cases (password: NRM_LOAD_PASSWORD or NRM_DEMO_PASSWORD)")
	str(&f.n, "n", "NRM_LOAD_N", strconv.Itoa(d.N), "`number` of operations of each kind per concurrency, in 3 alternations")
	str(&f.concurrency, "concurrency", "NRM_LOAD_CONCURRENCY", joinInts(d.Concurrency), "comma-separated `concurrencies`")
	str(&f.region, "region", "NRM_LOAD_REGION", d.Region, "`region` of the encounters: one of the deployment's NRM_REGIONS")
	str(&f.readsPerSecond, "reads-per-second", "NRM_LOAD_READS_PER_SECOND", strconv.Itoa(d.ReadsPerSecond), "case `reads` a second after the openings")
	str(&f.readsFor, "reads-for", "NRM_LOAD_READS_FOR", d.ReadsFor.String(), "how long to read cases, a `duration` (0: no reads)")
	f.samePerson = strconv.FormatBool(d.SamePerson)
	if v := getenv("NRM_LOAD_SAME_PERSON"); v != "" {
		f.samePerson = v
	}
	fs.BoolFunc("same-person", "also run the series where every case is the same person; -same-person=false: different persons only (default true) (env NRM_LOAD_SAME_PERSON)",
		func(v string) error { f.samePerson = v; return nil })
	fs.Usage = func() {
		fmt.Fprint(stderr, loadUsage)
		fs.PrintDefaults()
	}
	return fs, f
}

// demoOfficer is the e-mail of the first frontline officer of nrm dev's
// demo users: one who may open cases.
func demoOfficer() string {
	for _, u := range demo.Users {
		if u.Role == auth.Frontline {
			return u.Email
		}
	}
	return ""
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// parseLoad reads the flags and environment into the load's options
// (without the Temporal client, which needs a connection), and the
// Temporal address and namespace. Every problem is reported.
func parseLoad(args []string, stderr io.Writer, getenv func(string) string) (loadtest.Options, string, string, error) {
	fs, f := loadFlagSet(stderr, getenv)
	if err := fs.Parse(args); err != nil {
		return loadtest.Options{}, "", "", err
	}
	o := loadtest.Defaults()
	o.API, o.Email, o.TaskQueue, o.Region = strings.TrimRight(f.api, "/"), f.email, f.taskQueue, f.region
	o.Password = getenv("NRM_LOAD_PASSWORD")
	if o.Password == "" {
		o.Password = getenv("NRM_DEMO_PASSWORD")
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if err := f.numbers(&o); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := net.SplitHostPort(f.temporalAddress); err != nil {
		errs = append(errs, fmt.Errorf("-temporal-address (TEMPORAL_ADDRESS) must be host:port, got %q", f.temporalAddress))
	}
	if f.namespace == "" {
		errs = append(errs, errors.New("-temporal-namespace (TEMPORAL_NAMESPACE) must not be empty"))
	}
	if err := o.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.Password == "" {
		errs = append(errs, errors.New("the password is read from NRM_LOAD_PASSWORD, else NRM_DEMO_PASSWORD (as given to nrm dev)"))
	}
	return o, f.temporalAddress, f.namespace, errors.Join(errs...)
}

// numbers converts the flags that are not text, naming each bad one with
// its environment variable; a bad one keeps its default, so that
// Options.Validate does not report it again.
func (f *loadFlags) numbers(o *loadtest.Options) error {
	var errs []error
	if n, err := strconv.Atoi(strings.TrimSpace(f.n)); err == nil {
		o.N = n
	} else {
		errs = append(errs, fmt.Errorf("-n (NRM_LOAD_N) must be a whole number, got %q", f.n))
	}
	if c, err := loadtest.ParseConcurrency(f.concurrency); err == nil {
		o.Concurrency = c
	} else {
		errs = append(errs, fmt.Errorf("-concurrency (NRM_LOAD_CONCURRENCY): %w", err))
	}
	if n, err := strconv.Atoi(strings.TrimSpace(f.readsPerSecond)); err == nil {
		o.ReadsPerSecond = n
	} else {
		errs = append(errs, fmt.Errorf("-reads-per-second (NRM_LOAD_READS_PER_SECOND) must be a whole number, got %q", f.readsPerSecond))
	}
	if d, err := time.ParseDuration(strings.TrimSpace(f.readsFor)); err == nil {
		o.ReadsFor = d
	} else {
		errs = append(errs, fmt.Errorf("-reads-for (NRM_LOAD_READS_FOR) must be a duration such as 10s, or 0, got %q", f.readsFor))
	}
	if b, err := strconv.ParseBool(f.samePerson); err == nil {
		o.SamePerson = b
	} else {
		errs = append(errs, fmt.Errorf("-same-person (NRM_LOAD_SAME_PERSON) must be true or false, got %q", f.samePerson))
	}
	return errors.Join(errs...)
}

// runLoad is `nrm load`: exit 2 on bad flags, 1 when the load could not
// run or an operation failed.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, address, namespace, err := parseLoad(args, stderr, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nrm load: %v\n", strings.ReplaceAll(err.Error(), "\n", "\nnrm load: "))
		return 2
	}
	tc, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, Logger: sdklog.NewStructuredLogger(quietLog(stderr))})
	if err != nil {
		fmt.Fprintf(stderr, "nrm load: connect to Temporal at %s (namespace %s): %v\n", address, namespace, err)
		return 1
	}
	defer tc.Close()
	o.Temporal, o.Out = tc, stdout
	series := "different persons"
	if o.SamePerson {
		series += ", then the same person"
	}
	fmt.Fprintf(stdout, "nrm load: API %s, Temporal %s namespace %s; %d operations of each kind at concurrency %s; %s\n",
		o.API, address, namespace, o.N, joinInts(o.Concurrency), series)
	if _, err := loadtest.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "nrm load: %v\n", err)
		return 1
	}
	return 0
}

// quietLog keeps the Temporal SDK's informational lines out of the table.
func quietLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
