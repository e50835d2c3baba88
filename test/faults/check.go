package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Report is the outcome of a run's checks.
type Report struct {
	Checks     []Check
	Violations []string
}

// Check is one invariant and how many things it looked at.
type Check struct {
	Name    string
	Checked int
	Failed  int
}

func (r *Report) check(name string, checked int, violations []string) {
	r.Checks = append(r.Checks, Check{Name: name, Checked: checked, Failed: len(violations)})
	for _, v := range violations {
		r.Violations = append(r.Violations, name+": "+v)
	}
}

// Checker reads what the topology recorded: the NRM database and Temporal.
type Checker struct {
	DB       *sqlx.DB
	Temporal client.Client
	// FaultSlack: a 503 (or no answer) this long after a fault ended
	// still counts as the fault's.
	FaultSlack time.Duration
}

// expectedStage is where a case must be once every timer that its
// commands started has fired, given the commands that answered 2xx.
func expectedStage(c *Case) string {
	switch {
	case c.did("follow_up_done"), c.did("negative_review_confirmed"):
		return "closed"
	case c.did("closure_approved"):
		return "follow_up"
	case c.did("closure_requested"):
		return "closure"
	case c.did("preliminary_positive"):
		return "assistance" // the recovery period (seconds in the test SOP) ends
	}
	return "identification"
}

// commandEvents are the timeline events the load's commands write, one per
// command that answered 2xx.
var commandEvents = []string{"preliminary_positive", "preliminary_negative", "negative_review_confirmed", "referral_sent",
	"referral_accepted", "referral_completed", "referral_withdrawn", "closure_requested", "closure_approved", "follow_up_done"}

// once are the timeline events every opened case has exactly once.
var once = []string{"case_opened", "screening_submitted", "consent_given"}

type eventRow struct {
	CaseID string          `db:"case_id"`
	Type   string          `db:"type"`
	Data   json.RawMessage `db:"data"`
}

// Cases checks every case against what the load saw: every 2xx recorded
// exactly once (case, person, workflow, timeline), nothing recorded for a
// request that never answered 2xx, every workflow in the state its commands
// imply.
func (ch *Checker) Cases(ctx context.Context, r *Report, cases []*Case) error {
	answered := map[string]*Case{}
	for _, c := range cases {
		if c.ID != "" {
			answered[c.ID] = c
		}
	}
	var ids []string
	if err := ch.DB.SelectContext(ctx, &ids, `SELECT id::text FROM cases`); err != nil {
		return err
	}
	var v []string
	for _, id := range ids {
		if answered[id] == nil {
			v = append(v, fmt.Sprintf("case %s exists, but no opening answered 2xx with it (written twice, or by a request that failed)", id))
		}
	}
	inDB := map[string]bool{}
	for _, id := range ids {
		inDB[id] = true
	}
	for id := range answered {
		if !inDB[id] {
			v = append(v, fmt.Sprintf("case %s answered 201 but is not recorded", id))
		}
	}
	r.check("every case recorded once, none from a failed request", len(answered), v)

	// Persons: one sealed identity per case.
	v = nil
	var persons []struct {
		CaseID string `db:"case_id"`
		N      int    `db:"n"`
	}
	if err := ch.DB.SelectContext(ctx, &persons, `SELECT c.id::text AS case_id, count(p.case_id) AS n FROM cases c LEFT JOIN persons p ON p.case_id = c.id GROUP BY c.id`); err != nil {
		return err
	}
	for _, p := range persons {
		if c := answered[p.CaseID]; c != nil && p.N != 1 && !(expectedStage(c) == "closed") {
			v = append(v, fmt.Sprintf("case %s has %d person records", p.CaseID, p.N))
		}
	}
	r.check("one person record per open case", len(persons), v)

	// Timelines.
	var events []eventRow
	if err := ch.DB.SelectContext(ctx, &events, `SELECT case_id::text, type, data FROM case_events`); err != nil {
		return err
	}
	byCase := map[string][]eventRow{}
	for _, e := range events {
		byCase[e.CaseID] = append(byCase[e.CaseID], e)
	}
	v = nil
	for id, c := range answered {
		counts := map[string]int{}
		seen := map[string]bool{}
		for _, e := range byCase[id] {
			counts[e.Type]++
			sig := e.Type + string(e.Data)
			if seen[sig] {
				v = append(v, fmt.Sprintf("case %s: event %s %s recorded twice", id, e.Type, e.Data))
			}
			seen[sig] = true
		}
		for _, t := range once {
			if counts[t] != 1 {
				v = append(v, fmt.Sprintf("case %s: %d %s events, want 1", id, counts[t], t))
			}
		}
		for _, t := range commandEvents {
			want := 0
			if c.did(t) {
				want = 1
			}
			// A referral the procedure moved on is withdrawn by the
			// procedure itself when the officer's withdrawal found it
			// closed; a refused acceptance leaves no event.
			if t == "referral_withdrawn" && !c.did(t) && counts[t] <= 1 {
				continue
			}
			if counts[t] != want {
				v = append(v, fmt.Sprintf("case %s: %d %s events, want %d (commands answered 2xx: %v)", id, counts[t], t, want, c.Done))
			}
		}
		closed := 0
		if expectedStage(c) == "closed" {
			closed = 1
		}
		if counts["case_closed"] != closed {
			v = append(v, fmt.Sprintf("case %s: %d case_closed events, want %d", id, counts["case_closed"], closed))
		}
	}
	r.check("timeline: every command's event exactly once, no duplicate", len(answered), v)

	// Stage in the read model and in Temporal.
	var stages []struct {
		ID      string     `db:"id"`
		Stage   string     `db:"stage"`
		Started *time.Time `db:"workflow_started_at"`
	}
	if err := ch.DB.SelectContext(ctx, &stages, `SELECT id::text, stage, workflow_started_at FROM cases`); err != nil {
		return err
	}
	v = nil
	for _, s := range stages {
		c := answered[s.ID]
		if c == nil {
			continue
		}
		if want := expectedStage(c); s.Stage != want {
			v = append(v, fmt.Sprintf("case %s (%s path, done %v, refused %v): stage %s, want %s", s.ID, c.Path, c.Done, c.Refused, s.Stage, want))
		}
		if s.Started == nil {
			v = append(v, fmt.Sprintf("case %s: its workflow was never marked started", s.ID))
		}
		desc, err := ch.Temporal.DescribeWorkflowExecution(ctx, "case-"+s.ID, "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			v = append(v, fmt.Sprintf("case %s: no workflow in Temporal", s.ID))
			continue
		case err != nil:
			return fmt.Errorf("describe case-%s: %w", s.ID, err)
		}
		status := desc.GetWorkflowExecutionInfo().GetStatus()
		if s.Stage != "closed" && status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING &&
			status != enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			v = append(v, fmt.Sprintf("case %s in %s: workflow %v, want running", s.ID, s.Stage, status))
		}
		if status == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED || status == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED ||
			status == enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT {
			v = append(v, fmt.Sprintf("case %s: workflow %v", s.ID, status))
		}
		if sa := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["NrmStage"]; sa != nil {
			var stage string
			if err := converter.GetDefaultDataConverter().FromPayload(sa, &stage); err == nil && stage != s.Stage && status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				v = append(v, fmt.Sprintf("case %s: NrmStage %s in Temporal, %s in the read model", s.ID, stage, s.Stage))
			}
		}
	}
	r.check("every workflow in the state its commands imply (read model and Temporal)", len(stages), v)
	return nil
}

// Obligations checks that every obligation that fell due before cutoff is
// recorded as met or breached (or cancelled by the procedure), none lost.
func (ch *Checker) Obligations(ctx context.Context, r *Report, cutoff time.Time) error {
	var rows []struct {
		ID     string    `db:"id"`
		Status string    `db:"status"`
		Due    time.Time `db:"due_at"`
	}
	if err := ch.DB.SelectContext(ctx, &rows, `SELECT id, status, due_at FROM obligations WHERE due_at < $1 AND kind <> 'protected'`, cutoff); err != nil {
		return err
	}
	var v []string
	counts := map[string]int{}
	for _, o := range rows {
		counts[o.Status]++
		if o.Status == "pending" {
			v = append(v, fmt.Sprintf("obligation %s fell due at %s and is still pending", o.ID, o.Due.Format(time.RFC3339)))
		}
	}
	r.check(fmt.Sprintf("every obligation that fell due is met or breached (%s)", statusCounts(counts)), len(rows), v)
	return nil
}

func statusCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Outbox checks that the notification dispatcher caught up: nothing waits
// long past its due attempt, and no idempotency claim was left behind.
func (ch *Checker) Outbox(ctx context.Context, r *Report, cutoff time.Time) error {
	var late []string
	if err := ch.DB.SelectContext(ctx, &late, `SELECT notification_id FROM notification_dispatch WHERE next_attempt_at < $1`, cutoff); err != nil {
		return err
	}
	var total int
	if err := ch.DB.GetContext(ctx, &total, `SELECT count(*) FROM notifications`); err != nil {
		return err
	}
	var v []string
	for _, id := range late {
		v = append(v, fmt.Sprintf("notification %s still waits for its dispatcher", id))
	}
	r.check("the notification outbox caught up", total, v)
	return nil
}

// HTTP checks the answers: no 5xx but 503, and 503s and failed
// connections only while a fault was under way; every 503 had Retry-After.
func (ch *Checker) HTTP(r *Report, attempts []Attempt, faults *FaultLog) {
	var v []string
	for _, a := range attempts {
		during := faults.During(a.At, a.At.Add(a.Latency), ch.FaultSlack)
		switch {
		case a.Status >= 500 && a.Status != 503:
			v = append(v, fmt.Sprintf("%s answered %d at %s (faults: %v): %s", a.Route, a.Status, a.At.Format("15:04:05.000"), during, a.Err))
		case a.Status == 503 && len(during) == 0:
			v = append(v, fmt.Sprintf("%s answered 503 at %s with no fault under way: %s", a.Route, a.At.Format("15:04:05.000"), a.Err))
		case a.Status == 503 && strings.HasSuffix(a.Err, "(no Retry-After)"):
			v = append(v, fmt.Sprintf("%s answered 503 without Retry-After at %s", a.Route, a.At.Format("15:04:05.000")))
		case a.Status == 0 && len(during) == 0:
			v = append(v, fmt.Sprintf("%s got no answer at %s with no fault under way: %s", a.Route, a.At.Format("15:04:05.000"), a.Err))
		}
	}
	r.check("no 5xx but 503 with Retry-After, and those only during faults", len(attempts), v)
}

// Requests checks that every request the load made got its final answer:
// a 2xx, or the procedure's refusal. A failure says what the read model
// and Temporal hold of the case's referral, to tell where it stuck.
func (ch *Checker) Requests(ctx context.Context, r *Report, cases []*Case) {
	var v []string
	for _, c := range cases {
		if c.Failed == "" {
			continue
		}
		msg := fmt.Sprintf("case #%d (%s): %s", c.N, c.ID, c.Failed)
		if c.Referral != "" && ch.DB != nil {
			var status string
			if err := ch.DB.GetContext(ctx, &status, `SELECT status FROM referrals WHERE id = $1`, c.Referral); err != nil {
				status = "not in the read model (" + shortError(err) + ")"
			}
			msg += fmt.Sprintf("; referral %s: read model %s", c.Referral, status)
			if desc, err := ch.Temporal.DescribeWorkflowExecution(ctx, "referral-"+c.Referral, ""); err != nil {
				msg += ", workflow: " + shortError(err)
			} else {
				msg += fmt.Sprintf(", workflow %v", desc.GetWorkflowExecutionInfo().GetStatus())
				for _, a := range desc.GetPendingActivities() {
					msg += fmt.Sprintf(", pending %s attempt %d (%s)", a.GetActivityType().GetName(), a.GetAttempt(), a.GetLastFailure().GetMessage())
				}
			}
		}
		v = append(v, msg)
	}
	r.check("every request completed (with its retries)", len(cases), v)
}

// Refusals lists the procedure's refusals the load met (409 sop-rule): not
// violations, but the summary shows them.
func Refusals(cases []*Case) map[string]int {
	out := map[string]int{}
	for _, c := range cases {
		for _, ref := range c.Refused {
			out[ref]++
		}
	}
	return out
}

// Latencies summarises the final latencies by route: count, p50, p95, max.
func Latencies(attempts []Attempt) []string {
	by := map[string][]time.Duration{}
	for _, a := range attempts {
		by[a.Route] = append(by[a.Route], a.Latency)
	}
	var routes []string
	for k := range by {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	var out []string
	for _, k := range routes {
		d := by[k]
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Millisecond) }
		out = append(out, fmt.Sprintf("%-28s %6d  p50 %8s  p95 %8s  max %8s", k, len(d), q(0.5), q(0.95), d[len(d)-1].Round(time.Millisecond)))
	}
	return out
}
