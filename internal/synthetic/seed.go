// Package synthetic generates a realistic synthetic history straight into
// the read model (`nrm seed synthetic`), for demonstrations and benchmarks
// of the TWG's reports: agencies (when missing), inactive users, cases,
// their timeline events, obligation instances, referrals and referral
// attempts — regions, seasonality, services, deadlines met, missed and
// met late, closures, adults and children, and two SOP versions' worth of
// obligations (the SOP files loaded, plus the synthetic 2025 version under
// sop/ when only one is loaded).
//
// It never creates identity rows: the persons table is not written, and
// the store refuses bulk loads into it. Synthetic cases are marked as
// having a running workflow, so that the reconciler never starts
// workflows for them; their numbers start with SYN-.
package synthetic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Options of a synthetic history.
type Options struct {
	Cases int
	Seed  uint64
	// Now is the end of the history (default: time.Now()); cases open from
	// From (default: 1 January of the year before Now's).
	Now, From time.Time
	// Batch is the number of cases written per bulk load (default 2000).
	Batch int
	// Progress, when set, is told how many cases are written so far.
	Progress func(done int)
}

// Result counts what Seed wrote.
type Result struct {
	Agencies, Users                                 int
	Cases, Events, Obligations, Referrals, Attempts int64
	Versions                                        []string
	Duration                                        time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%d cases, %d events, %d obligations, %d referrals, %d referral attempts (%d new agencies, %d new users; SOP versions %v) in %s",
		r.Cases, r.Events, r.Obligations, r.Referrals, r.Attempts, r.Agencies, r.Users, r.Versions, r.Duration.Round(time.Millisecond))
}

// ErrRealRecord: the database holds a mechanism's real cases.
var ErrRealRecord = errors.New("refusing to mix a synthetic history into a real record")

// Seed writes opt.Cases synthetic cases. The same seed gives the same
// history (and the same IDs: seeding it twice into one database fails on
// the first duplicate case; use another seed).

func Seed(ctx context.Context, st *store.Store, set *sop.Set, opt Options) (Result, error) {
	start := time.Now()
	var res Result
	if opt.Cases <= 0 {
		return res, fmt.Errorf("synthetic: --cases must be positive")
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Batch <= 0 {
		opt.Batch = 2000
	}
	if real, err := st.RealCases(ctx); err != nil {
		return res, fmt.Errorf("synthetic: %w", err)
	} else if real > 0 {
		return res, fmt.Errorf("synthetic: %w: the database holds %d real cases; seed a separate database", ErrRealRecord, real)
	}
	versions, err := Versions(set)
	if err != nil {
		return res, err
	}
	all := versions.All()
	loc := all[len(all)-1].Calendar.Location
	if loc == nil {
		loc = time.UTC
	}
	if opt.From.IsZero() {
		opt.From = time.Date(opt.Now.In(loc).Year()-1, 1, 1, 0, 0, 0, 0, loc)
	}
	if !opt.From.Before(opt.Now) {
		return res, fmt.Errorf("synthetic: the history must start before it ends")
	}
	for _, v := range all {
		if err := st.PinSOP(ctx, v.ID, v.Version, v.Hash); err != nil {
			return res, fmt.Errorf("synthetic: %w", err)
		}
		res.Versions = append(res.Versions, v.Version)
	}
	dir, na, nu, err := ensureDirectory(ctx, st)
	if err != nil {
		return res, fmt.Errorf("synthetic directory: %w", err)
	}
	res.Agencies, res.Users = na, nu
	g := &generator{rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)), dir: dir, versions: all,
		from: opt.From, now: opt.Now, maxWeight: 1.35 * 1.15}
	// The next batch is generated while the last one is written: the
	// generator is Go's work and the writing PostgreSQL's, so on two cores
	// they overlap.
	batches := make(chan *batch, 1)
	written := make(chan error, 1)
	var failed atomic.Bool
	go func() {
		done := 0
		for b := range batches {
			if err := b.write(ctx, st, &res); err != nil {
				failed.Store(true)
				written <- err
				for range batches { // the generator stops at its next batch
				}
				return
			}
			done += len(b.cases)
			if opt.Progress != nil {
				opt.Progress(done)
			}
		}
		written <- nil
	}()
	for queued := 0; queued < opt.Cases && !failed.Load(); {
		n := min(opt.Batch, opt.Cases-queued)
		b := &batch{}
		for i := 0; i < n; i++ {
			k := g.generate()
			instances := g.finish(k)
			b.add(k, instances, dir)
		}
		batches <- b
		queued += n
	}
	close(batches)
	if err := <-written; err != nil {
		// What was written records no change for the TWG's kept months
		// (store.CopyRows): they are forgotten all the same.
		return res, errors.Join(err, st.ForgetReportMonths(ctx))
	}
	if err := st.ForgetReportMonths(ctx); err != nil {
		return res, err
	}
	if err := st.AnalyzeReadModel(ctx); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// batch holds the rows of some cases, table by table.
type batch struct {
	cases, events, obligations, referrals, attempts [][]any
}

var (
	caseColumns = []string{"id", "number", "agency_id", "created_by", "sop_id", "sop_version", "sop_hash", "stage", "child", "sex",
		"age_band", "citizenship", "region", "encounter_context", "encountered_at", "indicators", "exploitation", "exploitation_countries", "transit_countries", "urgent_needs",
		"consent_referral", "consent_data_sharing", "screening_outcome", "screening", "officer_concern", "opened_at", "updated_at",
		"closed_at", "closure_reason", "workflow_started_at"}
	eventColumns      = []string{"id", "seq", "case_id", "type", "at", "actor_id", "data"}
	obligationColumns = []string{"id", "case_id", "obligation", "kind", "sop_version", "owner_role", "owner_agency_id",
		"starts_at", "due_at", "met_at", "breached_at", "cancelled_at", "status"}
	referralColumns = []string{"id", "case_id", "service", "urgent", "region", "sender_id", "sender_agency_id", "agency_id",
		"status", "attempt", "redirections", "sent_at", "due_at", "accepted_at", "completed_at", "withdrawn_at", "outcome", "updated_at"}
	attemptColumns = []string{"referral_id", "attempt", "agency_id", "sent_at", "due_at", "answered_at", "answer", "decline_reason"}
)

func pgID(u uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: u != uuid.Nil} }

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (b *batch) add(k *kase, instances []reports.Instance, dir *directory) {
	updated := k.opened
	caseSeq := 0
	refSeq := map[uuid.UUID]int{}
	for _, e := range k.events {
		data := map[string]string{}
		for key, v := range e.data {
			data[key] = v
		}
		var id string
		var seq int
		if e.referral != uuid.Nil {
			refSeq[e.referral]++
			id, seq = fmt.Sprintf("%s/%d", workflows.ReferralWorkflowID(e.referral.String()), refSeq[e.referral]), workflows.ReferralSeqBase+refSeq[e.referral]
			data["referral_id"] = e.referral.String()
		} else {
			caseSeq++
			id, seq = fmt.Sprintf("case-%s/%d", k.id, caseSeq), caseSeq
		}
		raw, _ := json.Marshal(data)
		b.events = append(b.events, []any{id, seq, pgID(k.id), e.typ, e.at, pgID(e.actor), raw})
		if e.at.After(updated) {
			updated = e.at
		}
	}
	var consentData *bool
	if k.consent != nil {
		c := *k.consent
		consentData = &c
	}
	b.cases = append(b.cases, []any{pgID(k.id), k.number, pgID(k.agency.ID), pgID(k.agency.UserID), k.version.ID, k.version.Version,
		k.version.Hash, k.stage, k.child, k.sex, k.band, k.citizenship, k.region, k.context, k.encountered, k.indicators,
		k.exploitation, append([]string{}, k.countries...), append([]string{}, k.transit...), append([]string{}, k.urgent...), k.consent, consentData, k.outcome, k.screening, k.concern, k.opened,
		updated, k.closed, nullString(k.reason), k.opened})
	answer, _ := k.version.Obligation("referral_answer")
	for _, in := range instances {
		def, _ := k.version.Obligation(in.Obligation)
		owner := def.Owner
		var id string
		var agencyID uuid.UUID
		if in.Referral != "" {
			owner = answer.Owner
			if owner == "" {
				owner = "service_provider"
			}
			id = fmt.Sprintf("referral-%s/%s/%d", in.Referral, in.Obligation, in.N)
			agencyID, _ = uuid.Parse(in.Agency)
		} else {
			id = fmt.Sprintf("case-%s/%s/%d", k.id, in.Obligation, in.N)
			switch owner {
			case "opening_agency", "supervisor":
				agencyID = k.agency.ID
			default:
				agencyID = dir.ids[owner]
			}
		}
		if owner == "" {
			owner = "competent_authority"
		}
		b.obligations = append(b.obligations, []any{id, pgID(k.id), in.Obligation, in.Kind, k.version.Version, owner, pgID(agencyID),
			in.StartsAt, in.DueAt, in.MetAt, in.BreachedAt, in.CancelledAt, in.Status})
	}
	for _, r := range k.referrals {
		var current uuid.UUID
		sent, due := r.created, (*time.Time)(nil)
		if n := len(r.attempts); n > 0 {
			last := r.attempts[n-1]
			sent, due = last.sent, &last.due
			if r.status != "unrouted" {
				current = last.agency.ID
			}
		}
		outcome := ""
		if r.completed != nil {
			outcome = "completed"
		}
		b.referrals = append(b.referrals, []any{pgID(r.id), pgID(k.id), r.service, r.urgent, k.region, pgID(k.agency.UserID),
			pgID(k.agency.ID), pgID(current), r.status, len(r.attempts), r.redirections, sent, due, r.accepted, r.completed,
			r.withdrawn, nullString(outcome), r.updated})
		for _, a := range r.attempts {
			b.attempts = append(b.attempts, []any{pgID(r.id), a.n, pgID(a.agency.ID), a.sent, a.due, a.answered,
				nullString(a.answer), nullString(a.reason)})
		}
	}
}

func (b *batch) write(ctx context.Context, st *store.Store, res *Result) error {
	steps := []struct {
		table string
		cols  []string
		rows  [][]any
		count *int64
	}{
		{"cases", caseColumns, b.cases, &res.Cases},
		{"case_events", eventColumns, b.events, &res.Events},
		{"obligations", obligationColumns, b.obligations, &res.Obligations},
		{"referrals", referralColumns, b.referrals, &res.Referrals},
		{"referral_attempts", attemptColumns, b.attempts, &res.Attempts},
	}
	for _, s := range steps {
		n, err := st.CopyRows(ctx, s.table, s.cols, s.rows)
		if err != nil {
			return fmt.Errorf("synthetic: %w", err)
		}
		*s.count += n
	}
	return nil
}
