package faults

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// DevKill is the one-process scenario: `nrm dev` is killed with SIGKILL
// while cases are being opened, then started again; the client retries
// what failed with its Idempotency-Keys.
type DevKill struct {
	// Bin is the nrm binary (BuildNRM).
	Bin         string
	Repo, Dir   string
	DatabaseURL string // an empty database of its own
	Cases       int
	Concurrency int
	// KillAfter: the kill comes once this many openings have answered.
	KillAfter int
	Logf      func(format string, args ...any)

	Report Report
	// Answered201 and Failed count the openings' final answers.
	Answered201, Failed int
	Attempts            []Attempt
	Killed, Back        time.Time
}

// Run runs the scenario and checks it.
func (d *DevKill) Run(ctx context.Context) error {
	bin := d.Bin
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	password := "dev-kill-" + randomHex(8)
	env := append(os.Environ(),
		"DATABASE_URL="+d.DatabaseURL,
		fmt.Sprintf("NRM_ADDR=127.0.0.1:%d", ports[0]),
		fmt.Sprintf("NRM_TEMPORAL_ADDR=127.0.0.1:%d", ports[1]),
		"NRM_DATA_DIR="+filepath.Join(d.Dir, "data"),
		"NRM_SOP="+filepath.Join(d.Repo, "sop"),
		"NRM_DEMO_PASSWORD="+password,
		"NRM_LOGIN_RATE=100000", "NRM_USER_RATE=1000000")
	base := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	dev := &Proc{Name: "nrm dev", Bin: bin, Args: []string{"dev"}, Env: env, Log: filepath.Join(d.Dir, "dev.log"), Ready: base + "/readyz"}
	if err := dev.Start(); err != nil {
		return err
	}
	defer dev.Stop(time.Minute)
	if err := dev.WaitReady(ctx); err != nil {
		return err
	}
	faults := &FaultLog{}
	c := &Client{APIs: []string{base}, HTTP: &http.Client{Timeout: 90 * time.Second}, GiveUp: 4 * time.Minute, Faults: faults}
	token, err := c.Login(ctx, "officer@lebap-police.example", password)
	if err != nil {
		return err
	}
	load := &Load{Client: c, Users: Users{Officer: token}}
	killed := make(chan error, 1)
	// A failed restart ends the load at once: nothing would answer it.
	ctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go func() {
		for load.Opened.Load() < int64(d.KillAfter) {
			time.Sleep(20 * time.Millisecond)
		}
		d.Killed = time.Now()
		d.logf("kill -9 nrm dev after %d openings answered", load.Opened.Load())
		err := Restart(ctx, dev, true, 2*time.Second)
		d.Back = time.Now()
		faults.Add(Fault{Name: "kill -9 nrm dev", Start: d.Killed, End: d.Back, Err: err})
		if err != nil {
			stopLoad()
		} else {
			d.logf("nrm dev ready again after %s", d.Back.Sub(d.Killed).Round(time.Millisecond))
		}
		killed <- err
	}()
	// Every case of this load stops at its opening.
	var list []*Case
	for i := range d.Cases {
		list = append(list, &Case{N: i * 5, Path: PathOpen})
	}
	load.Cases = list
	sem := make(chan struct{}, d.Concurrency)
	done := make(chan struct{}, len(list))
	for _, cs := range list {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; done <- struct{}{} }()
			load.drive(ctx, cs)
		}()
	}
	for range list {
		<-done
	}
	if err := <-killed; err != nil {
		return fmt.Errorf("restart nrm dev: %w", err)
	}
	d.Attempts = c.Attempts()
	answered := map[string]*Case{}
	for _, cs := range list {
		if cs.ID != "" {
			answered[cs.ID] = cs
			d.Answered201++
		} else {
			d.Failed++
		}
	}
	ch := &Checker{FaultSlack: 30 * time.Second}
	ch.Requests(ctx, &d.Report, list)
	ch.HTTP(&d.Report, d.Attempts, faults)

	// Listed by the API: every case whose opening answered 201.
	listed := map[string]bool{}
	after := ""
	for {
		res := c.Do(ctx, token, http.MethodGet, "/api/v1/cases?limit=500"+after, "GET /cases", nil)
		var page struct {
			Cases []struct {
				ID string `json:"id"`
			} `json:"cases"`
			Next *string `json:"next"`
		}
		if !res.OK() || res.Decode(&page) != nil {
			return fmt.Errorf("list cases: %s", res)
		}
		for _, x := range page.Cases {
			listed[x.ID] = true
		}
		if page.Next == nil || *page.Next == "" {
			break
		}
		after = "&after=" + url.QueryEscape(*page.Next)
	}
	var v []string
	for id := range answered {
		if !listed[id] {
			v = append(v, fmt.Sprintf("case %s answered 201 but is not listed", id))
		}
	}
	for id := range listed {
		if answered[id] == nil {
			v = append(v, fmt.Sprintf("case %s is listed but no opening answered 201 with it", id))
		}
	}
	d.Report.check("every case that answered 201 is listed, and no other", len(answered), v)

	// Timelines without duplicates.
	v = nil
	for id := range answered {
		res := c.Do(ctx, token, http.MethodGet, "/api/v1/cases/"+id+"/timeline", "GET /cases/{id}/timeline", nil)
		var tl struct {
			Events []eventRow `json:"events"`
		}
		if !res.OK() || res.Decode(&tl) != nil {
			v = append(v, fmt.Sprintf("case %s: timeline: %s", id, res))
			continue
		}
		counts := map[string]int{}
		for _, e := range tl.Events {
			counts[e.Type]++
		}
		for _, t := range once {
			if counts[t] != 1 {
				v = append(v, fmt.Sprintf("case %s: %d %s events, want 1", id, counts[t], t))
			}
		}
		for t, n := range counts {
			if n > 1 {
				v = append(v, fmt.Sprintf("case %s: %d %s events", id, n, t))
			}
		}
	}
	d.Report.check("each timeline without duplicates", len(answered), v)

	// Workflows running (the reconciler starts those a kill left
	// unstarted, a minute after their opening at the earliest).
	tc, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", ports[1]), Namespace: "nrm", Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer tc.Close()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		v = nil
		for id := range answered {
			desc, err := tc.DescribeWorkflowExecution(ctx, "case-"+id, "")
			switch {
			case err != nil:
				v = append(v, fmt.Sprintf("case %s: workflow: %v", id, shortError(err)))
			case desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
				v = append(v, fmt.Sprintf("case %s: workflow %v", id, desc.GetWorkflowExecutionInfo().GetStatus()))
			}
		}
		if len(v) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	d.Report.check("every case's workflow running", len(answered), v)

	// Nothing recorded for a request that failed without a successful retry.
	db, err := sqlx.Open("pgx", d.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var ids []string
	if err := db.SelectContext(ctx, &ids, `SELECT id::text FROM cases`); err != nil {
		return err
	}
	v = nil
	for _, id := range ids {
		if answered[id] == nil {
			v = append(v, fmt.Sprintf("case %s recorded without an opening that answered 201", id))
		}
	}
	d.Report.check("no case from a request that failed without a successful retry", len(ids), v)
	return nil
}

func (d *DevKill) logf(format string, args ...any) {
	if d.Logf != nil {
		d.Logf(format, args...)
	}
}

// Summary writes what the scenario did and found.
func (d *DevKill) Summary(w io.Writer) {
	retries, byStatus := 0, map[string]int{}
	for _, a := range d.Attempts {
		if a.Retry {
			retries++
		}
		key := fmt.Sprint(a.Status)
		if a.Status == 0 {
			key = "no answer (" + a.Err + ")"
		}
		byStatus[key]++
	}
	fmt.Fprintf(w, "\n==== kill -9 of nrm dev while %d cases are being opened ====\n", d.Cases)
	fmt.Fprintf(w, "killed at %s, ready again after %s\n", d.Killed.Format("15:04:05.000"), d.Back.Sub(d.Killed).Round(time.Millisecond))
	fmt.Fprintf(w, "openings: %d answered 201, %d failed after their retries\n", d.Answered201, d.Failed)
	fmt.Fprintf(w, "requests: %d HTTP exchanges, %d of them retries; by status: %s\n", len(d.Attempts), retries, statusCounts(byStatus))
	for _, c := range d.Report.Checks {
		mark := "ok  "
		if c.Failed > 0 {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-70s checked %d, violations %d\n", mark, c.Name, c.Checked, c.Failed)
	}
	writeViolations(w, d.Report.Violations)
}
