package reports

import (
	"slices"
	"sort"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Event is a recorded event of a case as the replay needs it.
type Event struct {
	Type string
	At   time.Time
	Seq  int
	// Codes from the event's data: the referral it belongs to, the provider
	// it was addressed to or answered by, the service referred to.
	Referral, Agency, Service string
}

// Instance is an obligation instance as a replay derives it.
type Instance struct {
	Obligation string
	Kind       string
	// N numbers the instances of one obligation in a case (1, 2, …); for a
	// referral's answer it is the attempt.
	N        int
	Referral string // set for the answer to a referral
	Agency   string // the provider of that attempt
	StartsAt time.Time
	DueAt    time.Time
	Status   string // pending | met | breached | cancelled | running | ended
	// MetAt is set for met (in time) and ended instances.
	MetAt       *time.Time
	BreachedAt  *time.Time
	CancelledAt *time.Time
	// LateMetAt is the first event after a breach that would have met the
	// instance.
	LateMetAt *time.Time
}

// Instance statuses, as the workflows write them.
const (
	StatusPending   = "pending"
	StatusMet       = "met"
	StatusBreached  = "breached"
	StatusCancelled = "cancelled"
	StatusRunning   = "running"
	StatusEnded     = "ended"
)

// referralAnswer returns the obligation that the referral workflow keeps
// for each provider's answer: the deadline that starts on referral_sent.
func referralAnswer(s *sop.SOP) (sop.Obligation, bool) {
	var out sop.Obligation
	ok := false
	for _, o := range s.ObligationsOn("referral_sent", false) {
		if o.Kind != sop.KindProtected {
			out, ok = o, true
		}
	}
	return out, ok
}

// Replay derives the obligation instances that SOP s gives a case with these
// recorded events, as the CaseWorkflow and the ReferralWorkflow keep them:
//
//   - An event starts the obligations whose starts_on it is, with the due
//     time of s's calendar; a referral_sent or referral_redirected event
//     starts the answer deadline of that attempt, due by the service's
//     response_due (or the obligation's due where the service has none).
//   - An event meets every pending instance it is a met_by event of (for a
//     referral's answer: an answer to that referral by that provider).
//   - A pending instance whose due time passes before the next event is
//     breached at its due time; an event exactly at the due time is in
//     time (met_at <= due_at). A protected period ends at its due time.
//   - closure_approved and case_closed cancel the case's open instances,
//     referral_withdrawn the open attempt of that referral; a closing step
//     starts nothing.
//   - A breached instance is met late by the first later event that would
//     have met it.
//
// What a different SOP would have changed in people's behaviour (an answer
// given earlier, a referral not redirected) is not modelled: the replay only
// measures the recorded times against other deadlines. Instances still
// pending at asOf whose due time has passed are breached.
func Replay(s *sop.SOP, child bool, events []Event, asOf time.Time) []Instance {
	evs := slices.Clone(events)
	sort.SliceStable(evs, func(i, j int) bool {
		if !evs[i].At.Equal(evs[j].At) {
			return evs[i].At.Before(evs[j].At)
		}
		return evs[i].Seq < evs[j].Seq
	})
	answer, hasAnswer := referralAnswer(s)
	var out []Instance
	count := map[string]int{}
	defs := map[string]sop.Obligation{}
	for _, o := range s.Obligations {
		defs[o.ID] = o
	}
	fire := func(now time.Time, inclusive bool) {
		for i := range out {
			o := &out[i]
			passed := o.DueAt.Before(now) || (inclusive && o.DueAt.Equal(now))
			if !passed {
				continue
			}
			switch o.Status {
			case StatusPending:
				at := o.DueAt
				o.Status, o.BreachedAt = StatusBreached, &at
			case StatusRunning:
				at := o.DueAt
				o.Status, o.MetAt = StatusEnded, &at
			}
		}
	}
	// Events of one instant are one step of a workflow: all of them meet
	// first, then open instances are cancelled, then new ones start.
	for i := 0; i < len(evs); {
		j := i + 1
		for j < len(evs) && evs[j].At.Equal(evs[i].At) {
			j++
		}
		step := evs[i:j]
		i = j
		at := step[0].At
		fire(at, false)
		closing := false
		for _, e := range step {
			for k := range out {
				o := &out[k]
				def := defs[o.Obligation]
				if o.Referral != "" {
					def = answer
				}
				if !def.IsMetBy(e.Type) || (o.Referral != "" && (o.Referral != e.Referral || o.Agency != e.Agency)) {
					continue
				}
				switch {
				case o.Status == StatusPending:
					o.Status, o.MetAt = StatusMet, &at
				case o.Status == StatusBreached && o.LateMetAt == nil && !at.Before(o.StartsAt):
					o.LateMetAt = &at
				}
			}
		}
		for _, e := range step {
			switch e.Type {
			case "closure_approved", "case_closed":
				closing = closing || e.Type == "case_closed"
				for k := range out {
					o := &out[k]
					if o.Referral == "" && (o.Status == StatusPending || o.Status == StatusRunning) {
						o.Status, o.CancelledAt = StatusCancelled, &at
					}
				}
			case "referral_withdrawn":
				for k := range out {
					o := &out[k]
					if o.Referral == e.Referral && o.Status == StatusPending {
						o.Status, o.CancelledAt = StatusCancelled, &at
					}
				}
			}
		}
		if closing {
			continue
		}
		for _, e := range step {
			if e.Type == "referral_sent" || e.Type == "referral_redirected" {
				if hasAnswer && e.Referral != "" {
					d := answer.Due
					if svc, ok := s.Service(e.Service); ok && !svc.ResponseDue.IsZero() {
						d = svc.ResponseDue
					}
					key := answer.ID + "/" + e.Referral
					count[key]++
					out = append(out, Instance{Obligation: answer.ID, Kind: sop.KindDeadline, N: count[key],
						Referral: e.Referral, Agency: e.Agency, StartsAt: at, DueAt: s.Calendar.Deadline(at, d), Status: StatusPending})
				}
				continue
			}
			for _, def := range s.ObligationsOn(e.Type, child) {
				count[def.ID]++
				in := Instance{Obligation: def.ID, Kind: def.Kind, N: count[def.ID], StartsAt: at, Status: StatusPending}
				if def.Kind == sop.KindProtected {
					in.DueAt, in.Status = s.Calendar.Deadline(at, def.Duration), StatusRunning
				} else {
					in.DueAt = s.Calendar.Deadline(at, def.Due)
				}
				out = append(out, in)
			}
		}
	}
	fire(asOf, true)
	return out
}

// Outcome is how an instance counts in a compliance report.
type Outcome int

// Outcomes of an instance; OutcomeExcluded is not counted (cancelled, or a
// protected period).
const (
	OutcomeExcluded Outcome = iota
	OutcomeOnTime
	OutcomeLate
	OutcomeOpen
	OutcomePending
)

// Outcome classifies an instance as the compliance report does, with the
// time it was met (in time or late) when it was.
func (o Instance) Outcome() (Outcome, *time.Time) {
	if o.Kind == sop.KindProtected {
		return OutcomeExcluded, nil
	}
	switch o.Status {
	case StatusMet:
		if o.MetAt.After(o.DueAt) {
			return OutcomeLate, o.MetAt
		}
		return OutcomeOnTime, o.MetAt
	case StatusBreached:
		if o.LateMetAt != nil {
			return OutcomeLate, o.LateMetAt
		}
		return OutcomeOpen, nil
	case StatusPending:
		return OutcomePending, nil
	}
	return OutcomeExcluded, nil
}
