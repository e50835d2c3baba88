package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Fault is one fault injected, from its start until the topology was whole
// again.
type Fault struct {
	Name       string
	Start, End time.Time
	Err        error
}

// FaultLog records the faults of a run.
type FaultLog struct {
	mu     sync.Mutex
	faults []Fault
}

// Add records a fault.
func (l *FaultLog) Add(f Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, f)
}

// All returns the faults recorded.
func (l *FaultLog) All() []Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Fault(nil), l.faults...)
}

// During names the faults under way at some time from start to end (an
// exchange's span), or ended less than slack before start.
func (l *FaultLog) During(start, end time.Time, slack time.Duration) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, f := range l.faults {
		fend := f.End
		if fend.IsZero() {
			fend = time.Now()
		}
		if !end.Before(f.Start) && start.Before(fend.Add(slack)) {
			out = append(out, f.Name)
		}
	}
	return out
}

// Injector injects the faults of a run into a topology.
type Injector struct {
	T   *Topology
	Log *FaultLog
	// Outage is how long a dependency stays away.
	Outage time.Duration
	// PostgresRestart restarts the whole PostgreSQL cluster
	// (pg_ctlcluster) instead of cutting the run's databases off: only
	// where no one else uses this PostgreSQL.
	PostgresRestart bool

	mu sync.Mutex
	// Readiness lists what /readyz answered while a dependency was away
	// (want 503) and whether every process became ready again by itself
	// afterwards (want 200, no restart).
	Readiness []string
	// ReadinessChecked counts the /readyz observations.
	ReadinessChecked int
}

// observeReadiness asks every NRM process's /readyz: during an outage each
// must answer 503; after it, each must answer 200 again within a minute
// without having been restarted.
func (in *Injector) observeReadiness(ctx context.Context, what string, during bool) {
	procs := append(append([]*Proc{}, in.T.APIs...), in.T.Workers...)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range procs {
		deadline := time.Now().Add(time.Minute)
		for {
			status := 0
			if resp, err := client.Get(p.Ready); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			ok := (during && status == http.StatusServiceUnavailable) || (!during && status == http.StatusOK)
			if ok || during || time.Now().After(deadline) || ctx.Err() != nil {
				in.mu.Lock()
				in.ReadinessChecked++
				if !ok {
					when := "after"
					if during {
						when = "during"
					}
					in.Readiness = append(in.Readiness, fmt.Sprintf("%s: %s /readyz answered %d %s it", what, p.Name, status, when))
				}
				in.mu.Unlock()
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// run records a fault around f.
func (in *Injector) run(name string, f func() error) error {
	start := time.Now()
	in.T.logf("fault: %s", name)
	err := f()
	in.Log.Add(Fault{Name: name, Start: start, End: time.Now(), Err: err})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	in.T.logf("fault: %s over after %s", name, time.Since(start).Round(time.Millisecond))
	return nil
}

// KillWorker kills worker i with SIGKILL and starts it again.
func (in *Injector) KillWorker(ctx context.Context, i int) error {
	return in.run(fmt.Sprintf("kill -9 %s", in.T.Workers[i].Name), func() error {
		return Restart(ctx, in.T.Workers[i], true, in.Outage)
	})
}

// KillAPI kills API process i with SIGKILL and starts it again.
func (in *Injector) KillAPI(ctx context.Context, i int) error {
	return in.run(fmt.Sprintf("kill -9 %s", in.T.APIs[i].Name), func() error {
		return Restart(ctx, in.T.APIs[i], true, in.Outage)
	})
}

// RestartTemporal stops the Temporal server (SIGTERM) and starts it again.
func (in *Injector) RestartTemporal(ctx context.Context) error {
	return in.run("restart Temporal", func() error {
		in.T.Temporal.Stop(60 * time.Second)
		in.observeReadiness(ctx, "Temporal stopped", true)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(in.Outage):
		}
		if err := in.T.Temporal.Start(); err != nil {
			return err
		}
		if err := in.T.WaitTemporal(ctx); err != nil {
			return err
		}
		in.observeReadiness(ctx, "Temporal back", false)
		return nil
	})
}

// PostgresOutage takes PostgreSQL away from the run for Outage: the run's
// three databases refuse connections and lose the ones they had
// (ALLOW_CONNECTIONS false, pg_terminate_backend), or, with
// PostgresRestart, the whole cluster restarts.
func (in *Injector) PostgresOutage(ctx context.Context) error {
	if in.PostgresRestart {
		return in.run("restart PostgreSQL (pg_ctlcluster)", func() error {
			versions, err := os.ReadDir("/etc/postgresql")
			if err != nil || len(versions) != 1 {
				return fmt.Errorf("one PostgreSQL version under /etc/postgresql expected: %v", err)
			}
			out, err := exec.CommandContext(ctx, "pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", "restart").CombinedOutput()
			if err != nil {
				return fmt.Errorf("pg_ctlcluster restart: %w: %s", err, out)
			}
			if err := waitPostgres(ctx, in.T.opts.PostgresURL); err != nil {
				return err
			}
			in.observeReadiness(ctx, "PostgreSQL restarted", false)
			return nil
		})
	}
	dbs := []string{in.T.NRMDB, in.T.TemporalDB, in.T.VisibilityDB}
	return in.run("PostgreSQL cut off (connections refused and terminated)", func() error {
		var b strings.Builder
		for _, db := range dbs {
			fmt.Fprintf(&b, "ALTER DATABASE %s ALLOW_CONNECTIONS false;\n", db)
		}
		fmt.Fprintf(&b, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN ('%s');\n", strings.Join(dbs, "','"))
		if err := psql(ctx, in.T.opts.PostgresURL, b.String()); err != nil {
			return err
		}
		in.observeReadiness(ctx, "PostgreSQL cut off", true)
		select {
		case <-ctx.Done():
		case <-time.After(in.Outage):
		}
		b.Reset()
		for _, db := range dbs {
			fmt.Fprintf(&b, "ALTER DATABASE %s ALLOW_CONNECTIONS true;\n", db)
		}
		if err := psql(context.WithoutCancel(ctx), in.T.opts.PostgresURL, b.String()); err != nil {
			return err
		}
		in.observeReadiness(ctx, "PostgreSQL back", false)
		return nil
	})
}

// OtherBuild replaces worker i by the second nrm build (the same workflow
// code in another binary, hence another build ID), then kills the other
// worker: the other build takes over the workflows the first one ran and
// must replay their histories.
func (in *Injector) OtherBuild(ctx context.Context, i int) error {
	return in.run(fmt.Sprintf("%s replaced by another build, then kill -9 of the others", in.T.Workers[i].Name), func() error {
		w := in.T.Workers[i]
		w.Stop(60 * time.Second)
		w.Bin = in.T.Bin.NRMOther
		if err := w.Start(); err != nil {
			return err
		}
		if err := w.WaitReady(ctx); err != nil {
			return err
		}
		for j, other := range in.T.Workers {
			if j != i {
				if err := Restart(ctx, other, true, in.Outage); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func psql(ctx context.Context, url, sql string) error {
	out, err := exec.CommandContext(ctx, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql: %w: %s", err, out)
	}
	return nil
}

func waitPostgres(ctx context.Context, url string) error {
	for {
		if err := exec.CommandContext(ctx, "pg_isready", "-d", url, "-q").Run(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
