package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Size is how much a run does.
type Size struct {
	Cases, Concurrency int
	// Outage is how long a killed or stopped process stays down.
	Outage time.Duration
	// PostgresRestart restarts the PostgreSQL cluster instead of cutting
	// the run's databases off.
	PostgresRestart bool
	// Processes is the number of API and of worker processes.
	Processes int
}

// Run is one harness run: the topology, the load, the faults and the
// checks, then a backup and restore.
type Run struct {
	Opts Options
	Size Size
	Out  io.Writer

	T      *Topology
	Client *Client
	Load   *Load
	Faults *FaultLog
	Report Report
	// Injected counts the faults by kind.
	started time.Time
}

// Execute runs everything and answers the report; err is a failure of the
// harness itself (a process that would not start), not a violation.
func (r *Run) Execute(ctx context.Context) error {
	r.started = time.Now()
	t, err := NewTopology(r.Opts)
	if err != nil {
		return err
	}
	r.T = t
	defer t.Close()
	adminPassword := "kestrel-" + randomHex(8)
	adminEmail, err := t.Up(ctx, adminPassword, r.Size.Processes)
	if err != nil {
		return err
	}
	r.Faults = &FaultLog{}
	r.Client = &Client{APIs: t.APIURLs, HTTP: &http.Client{Timeout: 90 * time.Second}, GiveUp: 4 * time.Minute, Faults: r.Faults}
	adminToken, err := r.Client.Login(ctx, adminEmail, adminPassword)
	if err != nil {
		return fmt.Errorf("the first administrator signs in: %w", err)
	}
	t.logf("the first administrator (%s, created by deploy/README.md's steps) signed in", adminEmail)
	users, err := Directory(ctx, r.Client, adminToken, "orbit-meadow-"+randomHex(8))
	if err != nil {
		return fmt.Errorf("directory through the API: %w", err)
	}
	r.Load = &Load{Client: r.Client, Users: users}

	in := &Injector{T: t, Log: r.Faults, Outage: r.Size.Outage, PostgresRestart: r.Size.PostgresRestart}
	schedule := []struct {
		at float64
		f  func(context.Context) error
	}{
		// Early enough that what a fault held up (claims of a killed API
		// process wait out their lease) finishes while the load goes on.
		{0.08, func(ctx context.Context) error { return in.KillWorker(ctx, 0) }},
		{0.18, func(ctx context.Context) error { return in.KillAPI(ctx, 0) }},
		{0.28, in.RestartTemporal},
		{0.40, in.PostgresOutage},
		{0.52, func(ctx context.Context) error { return in.OtherBuild(ctx, len(t.Workers)-1) }},
		{0.62, func(ctx context.Context) error { return in.KillAPI(ctx, len(t.APIs)-1) }},
	}
	loadDone := make(chan struct{})
	faultErr := make(chan error, 1)
	// A fault that could not be injected or undone (a process that would
	// not start again) ends the load at once.
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go func() {
		defer close(faultErr)
		for _, s := range schedule {
			for float64(r.Load.Opened.Load()) < s.at*float64(r.Size.Cases) {
				select {
				case <-loadDone:
					faultErr <- fmt.Errorf("the load ended before the fault at %.0f%% of the cases", s.at*100)
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			if err := s.f(ctx); err != nil {
				stopLoad()
				faultErr <- err
				return
			}
		}
	}()
	t.logf("load: %d cases, %d at a time, through %d API processes", r.Size.Cases, r.Size.Concurrency, len(t.APIs))
	loadStart := time.Now()
	r.Load.Run(loadCtx, r.Size.Cases, r.Size.Concurrency)
	close(loadDone)
	if err := <-faultErr; err != nil {
		return fmt.Errorf("fault injection: %w", err)
	}
	t.logf("load: done in %s", time.Since(loadStart).Round(time.Second))

	db, err := sqlx.Open("pgx", superuserURL(r.Opts.PostgresURL, t.NRMDB))
	if err != nil {
		return err
	}
	defer db.Close()
	tc, err := client.Dial(client.Options{HostPort: t.TemporalAddr, Namespace: t.Namespace.Namespace, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer tc.Close()
	ch := &Checker{DB: db, Temporal: tc, FaultSlack: 30 * time.Second}
	r.settle(ctx, ch)
	cutoff := time.Now().Add(-10 * time.Second)
	r.Report.check("/readyz 503 while PostgreSQL or Temporal was away, 200 again by itself", in.ReadinessChecked, in.Readiness)
	for _, step := range []func() error{
		func() error { ch.Requests(ctx, &r.Report, r.Load.Cases); return nil },
		func() error { ch.HTTP(&r.Report, r.Client.Attempts(), r.Faults); return nil },
		func() error { return ch.Cases(ctx, &r.Report, r.Load.Cases) },
		func() error { return ch.Obligations(ctx, &r.Report, cutoff) },
		func() error { return ch.Outbox(ctx, &r.Report, cutoff) },
		func() error { return r.auditVerify(ctx) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return r.backupRestore(ctx, db, tc)
}

// superuserURL is the server URL with another database.
func superuserURL(server, db string) string {
	base, query, _ := strings.Cut(server, "?")
	if i := strings.LastIndex(base, "/"); i > len("postgres://") {
		base = base[:i]
	}
	if query != "" {
		query = "?" + query
	}
	return base + "/" + db + query
}

// settle waits until the workflows have done what their timers promised
// (recovery periods ending, deadlines falling due) and the reconciler has
// started any workflow an outage left unstarted, or 3 minutes.
func (r *Run) settle(ctx context.Context, ch *Checker) {
	deadline := time.Now().Add(3 * time.Minute)
	want := map[string]string{}
	for _, c := range r.Load.Cases {
		if c.ID != "" {
			want[c.ID] = expectedStage(c)
		}
	}
	for time.Now().Before(deadline) {
		var rows []struct {
			ID      string     `db:"id"`
			Stage   string     `db:"stage"`
			Started *time.Time `db:"workflow_started_at"`
		}
		var pending int
		err := ch.DB.SelectContext(ctx, &rows, `SELECT id::text, stage, workflow_started_at FROM cases`)
		if err == nil {
			err = ch.DB.GetContext(ctx, &pending, `SELECT count(*) FROM obligations WHERE status = 'pending' AND kind <> 'protected' AND due_at < now() - interval '5 seconds'`)
		}
		if err == nil {
			off := 0
			for _, row := range rows {
				if want[row.ID] != "" && (want[row.ID] != row.Stage || row.Started == nil) {
					off++
				}
			}
			if off == 0 && pending == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// auditVerify runs `nrm audit verify` against the run's database.
func (r *Run) auditVerify(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, r.T.Bin.NRM, "audit", "verify")
	cmd.Env = r.T.env.migrate
	out, err := cmd.CombinedOutput()
	var v []string
	if err != nil {
		v = append(v, fmt.Sprintf("nrm audit verify: %v: %s", err, strings.TrimSpace(string(out))))
	}
	r.Report.check("the audit chain verifies (nrm audit verify: "+strings.TrimSpace(firstLine(string(out)))+")", 1, v)
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// backupRestore follows deploy/README.md's backup: stop the writers, dump
// the three databases, then loses them (drop) and restores the dumps:
// every case is back, every open workflow runs, and a case opened before
// the backup takes a command afterwards.
func (r *Run) backupRestore(ctx context.Context, db *sqlx.DB, tc client.Client) error {
	t := r.T
	start := time.Now()
	var before []string
	if err := db.SelectContext(ctx, &before, `SELECT id::text FROM cases ORDER BY id`); err != nil {
		return err
	}
	// docker compose stop api worker: SIGTERM, each process drains and
	// exits 0 by itself.
	var stops []string
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		if !p.Stop(60*time.Second) || p.LastExit() != 0 {
			stops = append(stops, fmt.Sprintf("%s did not stop by itself with exit 0 on SIGTERM (exit %d)", p.Name, p.LastExit()))
		}
	}
	r.Report.check("SIGTERM: every API and worker process drains and exits 0", len(t.APIs)+len(t.Workers), stops)
	dbs := []string{t.NRMDB, t.TemporalDB, t.VisibilityDB}
	owners := []string{t.NRMRole, t.TemporalRole, t.TemporalRole}
	for _, name := range dbs {
		if err := RunOnce(ctx, t.path("backup.log"), "", os.Environ(), "pg_dump", "-Fc", "-d", superuserURL(r.Opts.PostgresURL, name),
			"-f", t.path(name+".dump")); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	t.Temporal.Stop(60 * time.Second)
	db.Close()
	for i, name := range dbs {
		stmt := fmt.Sprintf("DROP DATABASE %s WITH (FORCE); CREATE DATABASE %s OWNER %s ENCODING 'UTF8' TEMPLATE template0;", name, name, owners[i])
		for _, s := range strings.SplitAfter(stmt, ";") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			if err := psql(ctx, r.Opts.PostgresURL, s); err != nil {
				return fmt.Errorf("restore: %w", err)
			}
		}
		if err := RunOnce(ctx, t.path("backup.log"), "", os.Environ(), "pg_restore", "--exit-on-error", "-d", superuserURL(r.Opts.PostgresURL, name),
			t.path(name+".dump")); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := t.Temporal.Start(); err != nil {
		return err
	}
	if err := t.WaitTemporal(ctx); err != nil {
		return err
	}
	if err := t.NamespaceSetup(ctx); err != nil { // README: run temporal-setup again after a restore
		return err
	}
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		if err := p.WaitReady(ctx); err != nil {
			return err
		}
	}
	restored, err := sqlx.Open("pgx", superuserURL(r.Opts.PostgresURL, t.NRMDB))
	if err != nil {
		return err
	}
	defer restored.Close()
	var after []string
	if err := restored.SelectContext(ctx, &after, `SELECT id::text FROM cases ORDER BY id`); err != nil {
		return err
	}
	var v []string
	if strings.Join(before, ",") != strings.Join(after, ",") {
		v = append(v, fmt.Sprintf("%d cases before the backup, %d after the restore", len(before), len(after)))
	}
	var open []string
	if err := restored.SelectContext(ctx, &open, `SELECT id::text FROM cases WHERE stage <> 'closed'`); err != nil {
		return err
	}
	for _, id := range open {
		desc, err := tc.DescribeWorkflowExecution(ctx, "case-"+id, "")
		if err != nil {
			v = append(v, fmt.Sprintf("case %s: workflow after the restore: %v", id, err))
			continue
		}
		if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			v = append(v, fmt.Sprintf("case %s: workflow %v after the restore", id, s))
		}
	}
	// The restored system works on: a case left in identification takes
	// its preliminary decision.
	for _, c := range r.Load.Cases {
		if c.Path == PathOpen && c.ID != "" {
			res := r.Client.Do(ctx, r.Load.Users.Decider, http.MethodPost, "/api/v1/cases/"+c.ID+"/decisions", "decision after restore",
				map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "harness: after the restore"})
			if res.Status != http.StatusCreated {
				v = append(v, fmt.Sprintf("a decision on case %s after the restore: %s %s", c.ID, res, res.Body))
			}
			break
		}
	}
	r.Report.check(fmt.Sprintf("backup and restore (pg_dump, drop, pg_restore: %s): every case back, every open workflow running", time.Since(start).Round(time.Second)),
		len(before)+len(open), v)
	return nil
}

// Summary writes what the run did and found.
func (r *Run) Summary(w io.Writer) {
	attempts := r.Client.Attempts()
	retries, byStatus := 0, map[string]int{}
	for _, a := range attempts {
		if a.Retry {
			retries++
		}
		key := fmt.Sprint(a.Status)
		if a.Status == 0 {
			key = "no answer (" + a.Err + ")"
		}
		byStatus[key]++
	}
	paths := map[Path]int{}
	for _, c := range r.Load.Cases {
		paths[c.Path]++
	}
	fmt.Fprintf(w, "\n==== NRM faults harness: summary ====\n")
	fmt.Fprintf(w, "topology: PostgreSQL (databases %s, %s, %s), Temporal %s on PostgreSQL, %d× nrm serve, %d× nrm worker\n",
		r.T.NRMDB, r.T.TemporalDB, r.T.VisibilityDB, r.T.TemporalAddr, len(r.T.APIs), len(r.T.Workers))
	fmt.Fprintf(w, "cases: %d (%d open only, %d negative decision confirmed, %d full procedure), %d at a time; run took %s\n",
		len(r.Load.Cases), paths[PathOpen], paths[PathNegative], paths[PathFull], r.Size.Concurrency, time.Since(r.started).Round(time.Second))
	fmt.Fprintf(w, "requests: %d HTTP exchanges, %d of them retries; by status: %s\n", len(attempts), retries, statusCounts(byStatus))
	if ref := Refusals(r.Load.Cases); len(ref) > 0 {
		fmt.Fprintf(w, "procedure refusals met (409 sop-rule, not violations): %s\n", statusCounts(ref))
	}
	fmt.Fprintf(w, "faults injected:\n")
	for _, f := range r.Faults.All() {
		status := "ok"
		if f.Err != nil {
			status = f.Err.Error()
		}
		fmt.Fprintf(w, "  %s  %-70s %6s  %s\n", f.Start.Format("15:04:05"), f.Name, f.End.Sub(f.Start).Round(100*time.Millisecond), status)
	}
	fmt.Fprintf(w, "latencies of each exchange by route:\n")
	for _, l := range Latencies(attempts) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	fmt.Fprintf(w, "invariants:\n")
	for _, c := range r.Report.Checks {
		mark := "ok  "
		if c.Failed > 0 {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-110s checked %d, violations %d\n", mark, c.Name, c.Checked, c.Failed)
	}
	fmt.Fprintf(w, "violations: %d\n", len(r.Report.Violations))
	writeViolations(w, r.Report.Violations)
	fmt.Fprintf(w, "logs: %s\n", filepath.Clean(r.Opts.Dir))
}

// writeViolations lists the violations, at most 8 of each check.
func writeViolations(w io.Writer, violations []string) {
	v := append([]string(nil), violations...)
	sort.Strings(v)
	shown := map[string]int{}
	for _, s := range v {
		check, _, _ := strings.Cut(s, ": ")
		shown[check]++
		switch {
		case shown[check] <= 8:
			fmt.Fprintf(w, "  %s\n", s)
		case shown[check] == 9:
			fmt.Fprintf(w, "  %s: …\n", check)
		}
	}
}
