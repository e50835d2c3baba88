package synthetic

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
)

// The generator writes what the workflows would have written for a
// realistic history: the case row, its timeline events, the obligation
// instances (derived from the events by reports.Replay, exactly as the
// workflows keep them), referrals and their attempts. No identity: the
// persons table is never written.

// weighted picks a key by weight.
type weighted[T any] struct {
	v T
	w float64
}

func pick[T any](rng *rand.Rand, xs []weighted[T]) T {
	var total float64
	for _, x := range xs {
		total += x.w
	}
	r := rng.Float64() * total
	for _, x := range xs {
		if r < x.w {
			return x.v
		}
		r -= x.w
	}
	return xs[len(xs)-1].v
}

var (
	regionWeights = []weighted[string]{{"lebap", 24}, {"dashoguz", 20}, {"mary", 18}, {"ashgabat", 16}, {"ahal", 13}, {"balkan", 9}}
	contexts      = []weighted[string]{{"border_check", 25}, {"police_operation", 15}, {"labour_inspection", 8}, {"outreach", 14},
		{"hotline", 14}, {"self_referral", 8}, {"ngo_referral", 8}, {"embassy", 6}, {"other", 2}}
	adultBands = []weighted[string]{{"18-20", 12}, {"21-23", 16}, {"24-26", 16}, {"27-30", 17}, {"31-38", 22}, {"39-47", 12}, {"48+", 5}}
	childBands = []weighted[string]{{"0-8", 18}, {"9-17", 82}}
	nations    = []weighted[string]{{"TM", 90}, {"UZ", 4}, {"AF", 2}, {"TJ", 1.2}, {"KZ", 1}, {"IR", 0.8}, {"RU", 0.5}, {"TR", 0.5}}
	adultTypes = []weighted[string]{{"labour", 52}, {"sexual", 26}, {"domestic_servitude", 7}, {"forced_marriage", 5},
		{"forced_criminality", 3}, {"forced_begging", 2}, {"organ_removal", 0.5}, {"other", 4.5}}
	childTypes = []weighted[string]{{"labour", 30}, {"forced_begging", 25}, {"sexual", 20}, {"forced_marriage", 15}, {"forced_criminality", 5}, {"other", 5}}
	// Where the person was exploited: mostly abroad (TM alone is trafficking
	// within the country), and the countries crossed on the way there.
	destinations = []weighted[string]{{"TR", 38}, {"RU", 24}, {"AE", 11}, {"TM", 13}, {"KZ", 5}, {"CY", 2}, {"IR", 2}, {"UZ", 2},
		{"DE", 1}, {"IN", 1}, {"CN", 1}}
	transits = []weighted[string]{{"UZ", 30}, {"KZ", 25}, {"AZ", 20}, {"IR", 15}, {"GE", 10}}
	reasons  = []weighted[string]{{"reintegrated", 48}, {"returned_home", 20}, {"lost_contact", 15}, {"transferred_abroad", 5},
		{"other", 11}, {"deceased", 1}}
	// Month of the year → relative number of cases (labour migration peaks in summer).
	seasonality = [12]float64{0.7, 0.7, 0.85, 1.0, 1.15, 1.3, 1.35, 1.3, 1.2, 1.0, 0.85, 0.75}
)

type event struct {
	typ      string
	at       time.Time
	actor    uuid.UUID
	data     map[string]string
	referral uuid.UUID // zero for the case's own events
}

type attempt struct {
	n        int
	agency   *agency
	sent     time.Time
	due      time.Time
	answered *time.Time
	answer   string
	reason   string
}

type referral struct {
	id           uuid.UUID
	service      string
	urgent       bool
	status       string
	attempts     []*attempt
	redirections int
	accepted     *time.Time
	completed    *time.Time
	withdrawn    *time.Time
	created      time.Time
	updated      time.Time
}

func (r *referral) open() bool { return r.status == "pending" || r.status == "accepted" }

// kase is one generated case.
type kase struct {
	id           uuid.UUID
	number       string
	version      *sop.SOP
	agency       *agency
	child        bool
	sex, band    string
	citizenship  string
	region       string
	context      string
	encountered  time.Time
	opened       time.Time
	indicators   []string
	exploitation []string
	// countries of exploitation and transit (ISO 3166-1 alpha-2)
	countries, transit []string
	urgent             []string
	consent            *bool
	outcome            string
	screening          []byte
	concern            bool
	stage              string
	stages             []stageAt
	closed             *time.Time
	reason             string
	events             []event
	referrals          []*referral
	// limit: nothing happens after it (now, or the withdrawal of consent).
	limit time.Time
}

type stageAt struct {
	at    time.Time
	stage string
}

type generator struct {
	rng      *rand.Rand
	dir      *directory
	versions []*sop.SOP // by effective_from
	from     time.Time
	now      time.Time
	// maxWeight bounds seasonality × trend for rejection sampling.
	maxWeight float64
}

func newUUID(rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

// openingTime draws an opening time with seasonality, a slow growth of the
// number of cases, fewer cases at weekends and mostly in office hours.
func (g *generator) openingTime(loc *time.Location) time.Time {
	span := g.now.Sub(g.from)
	for {
		t := g.from.Add(time.Duration(g.rng.Float64() * float64(span))).In(loc)
		w := seasonality[t.Month()-1] * (0.85 + 0.3*float64(t.Sub(g.from))/float64(span))
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			w *= 0.45
		}
		if h := t.Hour(); h < 8 || h > 19 {
			w *= 0.25
		}
		if g.rng.Float64()*g.maxWeight <= w {
			return t
		}
	}
}

func (g *generator) versionAt(t time.Time) *sop.SOP {
	v := g.versions[0]
	for _, x := range g.versions {
		if !x.EffectiveFrom.After(t) {
			v = x
		}
	}
	return v
}

// between draws a time uniformly in [a, b).
func (g *generator) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.rng.Float64() * float64(b.Sub(a)))).Truncate(time.Minute)
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

// deadline returns when an obligation of the case's version is due from start.
func (k *kase) deadline(obligation string, start time.Time) time.Time {
	def, ok := k.version.Obligation(obligation)
	if !ok {
		return start.Add(days(5))
	}
	return k.version.Calendar.Deadline(start, def.Due)
}

// act draws the time of an act that must happen by a deadline: on time
// with probability pOnTime (somewhere in the window), else late by up to
// lateMax.
func (g *generator) act(start, due time.Time, pOnTime float64, lateMax time.Duration) time.Time {
	if g.chance(pOnTime) {
		lo := start.Add(due.Sub(start) / 20)
		return g.between(lo, due.Add(-time.Minute))
	}
	return g.between(due.Add(time.Hour), due.Add(lateMax))
}

// add records an event if it happens by the case's limit.
func (k *kase) add(typ string, at time.Time, actor uuid.UUID, data map[string]string) bool {
	if at.After(k.limit) {
		return false
	}
	k.events = append(k.events, event{typ: typ, at: at, actor: actor, data: data})
	return true
}

func (k *kase) setStage(at time.Time, stage string) {
	k.stages = append(k.stages, stageAt{at, stage})
}

// close ends the case: open referrals are withdrawn first, as the case
// workflow does when it closes.
func (k *kase) close(at time.Time, reason string, actor uuid.UUID, extra ...string) {
	k.withdrawReferrals(at, reason)
	for _, e := range extra {
		k.add(e, at, actor, nil)
	}
	k.add("case_closed", at, actor, map[string]string{"reason": reason})
	k.setStage(at, "closed")
	t := at
	k.closed, k.reason = &t, reason
}

func (k *kase) withdrawReferrals(at time.Time, reason string) {
	for _, r := range k.referrals {
		if !r.open() || r.created.After(at) {
			continue
		}
		if last := r.attempts[len(r.attempts)-1]; r.status == "pending" && last.answered == nil {
			t := at
			last.answered, last.answer = &t, "withdrawn"
		}
		t := at
		r.status, r.withdrawn, r.updated = "withdrawn", &t, at
		k.events = append(k.events, event{typ: "referral_withdrawn", at: at, referral: r.id, data: map[string]string{"reason": reason}})
	}
}

// generate draws one case's history.
func (g *generator) generate() *kase {
	loc := g.versions[len(g.versions)-1].Calendar.Location
	if loc == nil {
		loc = time.UTC
	}
	t0 := g.openingTime(loc).Truncate(time.Minute)
	k := &kase{id: newUUID(g.rng), opened: t0, version: g.versionAt(t0), limit: g.now}
	k.number = fmt.Sprintf("SYN-%d-%s", t0.Year(), k.id.String()[24:])
	k.region = pick(g.rng, regionWeights)
	k.context = pick(g.rng, contexts)
	switch {
	case k.context == "border_check" && g.chance(0.6):
		k.agency = g.dir.border
	case k.context == "labour_inspection":
		k.agency = g.dir.labour
	case k.context == "hotline" || k.context == "ngo_referral":
		k.agency = g.dir.hotline
	default:
		k.agency = g.dir.byRegion[k.region]
	}
	k.encountered = t0.Add(-time.Duration(g.rng.IntN(36*60)) * time.Minute)
	switch r := g.rng.Float64(); {
	case r < 0.02:
		k.child, k.band = true, "unknown"
	case r < 0.16:
		k.child, k.band = true, pick(g.rng, childBands)
	default:
		k.band = pick(g.rng, adultBands)
	}
	switch r := g.rng.Float64(); {
	case r < 0.58:
		k.sex = "female"
	case r < 0.98:
		k.sex = "male"
	case r < 0.99:
		k.sex = "other"
	default:
		k.sex = "unknown"
	}
	k.citizenship = pick(g.rng, nations)
	types := adultTypes
	if k.child {
		types = childTypes
	}
	k.exploitation = []string{pick(g.rng, types)}
	if g.chance(0.12) {
		if x := pick(g.rng, types); x != k.exploitation[0] {
			k.exploitation = append(k.exploitation, x)
		}
	}
	k.countries, k.transit = g.where()
	if g.chance(0.42) {
		k.urgent = append(k.urgent, "shelter")
	}
	if g.chance(0.3) {
		k.urgent = append(k.urgent, "medical")
	}
	g.screen(k)
	g.timeline(k)
	return k
}

// where draws the countries of exploitation (a second one now and then)
// and, for exploitation abroad, the countries crossed on the way (often
// none recorded).
func (g *generator) where() (exploited, transit []string) {
	exploited = []string{pick(g.rng, destinations)}
	if g.chance(0.06) {
		if c := pick(g.rng, destinations); c != exploited[0] && c != "TM" && exploited[0] != "TM" {
			exploited = append(exploited, c)
		}
	}
	if exploited[0] != "TM" && g.chance(0.35) {
		transit = []string{pick(g.rng, transits)}
	}
	return exploited, transit
}

// screen draws indicators that make a presumed victim (about 80 %) or not,
// and scores them with the case's SOP.
func (g *generator) screen(k *kase) {
	v := k.version
	byDim := map[string][]sop.Indicator{}
	for _, ind := range v.Indicators {
		byDim[ind.Dimension] = append(byDim[ind.Dimension], ind)
	}
	groups := v.Screening.PresumedVictim.Adult
	if k.child {
		groups = v.Screening.PresumedVictim.Child
	}
	var chosen []string
	addOf := func(dim, strength string, n int) {
		var pool []string
		for _, ind := range byDim[dim] {
			if ind.Strength == strength && !slices.Contains(chosen, ind.ID) {
				pool = append(pool, ind.ID)
			}
		}
		g.rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		chosen = append(chosen, pool[:min(n, len(pool))]...)
	}
	if g.chance(0.86) {
		for _, grp := range groups {
			dim := grp[g.rng.IntN(len(grp))]
			addOf(dim, sop.StrengthStrong, 2)
			addOf(dim, sop.StrengthMedium, 1)
		}
	} else {
		dims := v.Dimensions
		for i := 0; i < 1+g.rng.IntN(2); i++ {
			addOf(dims[g.rng.IntN(len(dims))].ID, sop.StrengthWeak, 1)
			addOf(dims[g.rng.IntN(len(dims))].ID, sop.StrengthMedium, 1)
		}
	}
	res, err := v.Score(chosen, k.child)
	if err != nil {
		res = sop.ScreeningResult{Outcome: sop.OutcomeNotIndicated}
	}
	k.indicators, k.outcome = chosen, res.Outcome
	k.screening, _ = json.Marshal(res.Dimensions)
	if k.outcome == sop.OutcomeNotIndicated && g.chance(0.3) {
		k.concern = true
	}
	if !k.child {
		c := g.chance(0.93)
		k.consent = &c
	}
}

// timeline draws the case's events along the SOP, as far as now.
func (g *generator) timeline(k *kase) {
	officer := k.agency.UserID
	decider := g.dir.authority.UserID
	t0 := k.opened
	k.add("case_opened", t0, officer, nil)
	k.add("screening_submitted", t0, officer, map[string]string{"outcome": k.outcome})
	k.setStage(t0, "screening")
	if k.consent != nil {
		if *k.consent {
			k.add("consent_given", t0, officer, nil)
		} else {
			k.add("consent_declined", t0, officer, nil)
			k.close(t0, "consent_declined", officer)
			return
		}
	}
	if k.outcome != sop.OutcomePresumedVictim && !k.concern {
		k.close(t0, "not_identified", officer)
		return
	}
	k.setStage(t0, "identification")
	// An adult may withdraw consent at some point: nothing happens after it.
	var withdrawal time.Time
	if k.consent != nil && g.chance(0.03) {
		withdrawal = t0.Add(days(1 + g.rng.Float64()*120)).Truncate(time.Minute)
		if withdrawal.Before(k.limit) {
			k.limit = withdrawal
		} else {
			withdrawal = time.Time{}
		}
	}
	defer func() {
		if !withdrawal.IsZero() && k.closed == nil {
			k.limit = withdrawal
			k.add("consent_withdrawn", withdrawal, officer, nil)
			k.close(withdrawal, "consent_withdrawn", officer)
		}
	}()
	if k.child {
		due := k.deadline("child_protection_notified", t0)
		if g.chance(0.97) {
			k.add("guardian_appointed", g.act(t0, due, 0.82, days(3)), officer, nil)
		}
	}
	for _, s := range k.urgent {
		g.referral(k, s, t0.Add(time.Duration(30+g.rng.IntN(300))*time.Minute))
	}
	// Preliminary decision.
	tp := g.act(t0, k.deadline("preliminary_decision", t0), 0.8, days(12))
	if g.chance(0.02) {
		return // never decided: the deadline stays breached
	}
	positive := g.chance(0.82)
	if !positive {
		if !k.add("preliminary_negative", tp, decider, nil) {
			return
		}
		tr := g.act(tp, k.deadline("preliminary_negative_review", tp), 0.85, days(8))
		if g.chance(0.62) {
			if !k.add("negative_review_confirmed", tr, decider, nil) {
				return
			}
			k.close(tr, "not_identified", decider)
			return
		}
		if !k.add("negative_review_overturned", tr, decider, nil) {
			return
		}
		tp = tr
	}
	if !k.add("preliminary_positive", tp, decider, nil) {
		return
	}
	k.setStage(tp, "recovery")
	k.setStage(tp.AddDate(0, 0, 30), "assistance")
	// Non-urgent referrals once identified.
	for _, s := range []struct {
		id string
		p  float64
	}{{"legal_aid", 0.7}, {"psychosocial", 0.65}, {"reintegration", 0.25}, {"education_vocational", 0.15},
		{"return_assistance", map[bool]float64{true: 0.6, false: 0.05}[k.citizenship != "TM"]},
		{"interpretation", map[bool]float64{true: 0.5, false: 0.02}[k.citizenship != "TM"]},
		{"family_tracing", map[bool]float64{true: 0.4, false: 0.02}[k.child]}} {
		if g.chance(s.p) {
			g.referral(k, s.id, tp.Add(days(1+g.rng.Float64()*20)).Truncate(time.Minute))
		}
	}
	// Conclusive decision, after the recovery period.
	dueC := k.deadline("conclusive_decision", tp)
	var tc time.Time
	if g.chance(0.88) {
		tc = g.between(tp.AddDate(0, 0, 30), dueC.Add(-time.Hour))
	} else {
		tc = g.between(dueC.Add(time.Hour), dueC.Add(days(40)))
	}
	if g.chance(0.03) {
		return
	}
	if g.chance(0.12) {
		if !k.add("conclusive_negative", tc, decider, nil) {
			return
		}
		tr := g.act(tc, k.deadline("conclusive_negative_review", tc), 0.85, days(8))
		if g.chance(0.6) {
			if !k.add("negative_review_confirmed", tr, decider, nil) {
				return
			}
			k.close(tr, "not_identified", decider)
			return
		}
		if !k.add("negative_review_overturned", tr, decider, nil) {
			return
		}
		tc = tr
	}
	if !k.add("conclusive_positive", tc, decider, nil) {
		return
	}
	// Closure once assistance ends and every referral is done.
	tcr := tc.Add(days(30 + g.rng.Float64()*200)).Truncate(time.Minute)
	for _, r := range k.referrals {
		if r.open() {
			return // still running at the limit
		}
		if r.updated.After(tcr) {
			tcr = r.updated.Add(days(1))
		}
	}
	reason := pick(g.rng, reasons)
	prior := "assistance" // closure comes after the conclusive decision, itself after the recovery period
	if !k.add("closure_requested", tcr, officer, map[string]string{"reason": reason}) {
		return
	}
	k.setStage(tcr, "closure")
	supervisor := k.agency.UserID
	ta := g.act(tcr, k.deadline("closure_review", tcr), 0.9, days(10))
	if g.chance(0.05) {
		if !k.add("closure_rejected", ta, supervisor, nil) {
			return
		}
		k.setStage(ta, prior)
		tcr = ta.Add(days(7 + g.rng.Float64()*30)).Truncate(time.Minute)
		if !k.add("closure_requested", tcr, officer, map[string]string{"reason": reason}) {
			return
		}
		k.setStage(tcr, "closure")
		ta = g.act(tcr, k.deadline("closure_review", tcr), 0.9, days(10))
	}
	if !k.add("closure_approved", ta, supervisor, map[string]string{"reason": reason}) {
		return
	}
	k.setStage(ta, "follow_up")
	if g.chance(0.05) {
		return // the follow-up check never happens
	}
	tf := g.act(ta, k.deadline("follow_up", ta), 0.82, days(30))
	if tf.After(k.limit) {
		return
	}
	k.close(tf, reason, officer, "follow_up_done")
}

// referral draws a referral's routing: each provider accepts, declines or
// lets the deadline pass; a decline or a missed deadline sends it on to the
// next provider, up to three; accepted referrals are completed later.
func (g *generator) referral(k *kase, service string, sent time.Time) {
	if sent.After(k.limit) {
		return
	}
	svc, ok := k.version.Service(service)
	if !ok {
		return
	}
	due := svc.ResponseDue
	if due.IsZero() {
		if def, ok := k.version.Obligation("referral_answer"); ok {
			due = def.Due
		}
	}
	r := &referral{id: newUUID(g.rng), service: service, urgent: svc.Urgent, status: "pending", created: sent, updated: sent}
	k.referrals = append(k.referrals, r)
	providers := g.dir.providers(service, k.region)
	if len(providers) > 1 && g.chance(0.3) {
		providers[0], providers[1] = providers[1], providers[0]
	}
	at := sent
	for i, p := range providers {
		if i == 3 {
			break
		}
		a := &attempt{n: i + 1, agency: p, sent: at, due: k.version.Calendar.Deadline(at, due)}
		r.attempts = append(r.attempts, a)
		kind := "referral_sent"
		if i > 0 {
			kind = "referral_redirected"
			r.redirections++
		}
		k.events = append(k.events, event{typ: kind, at: at, actor: k.agency.UserID, referral: r.id,
			data: map[string]string{"service": service, "agency_id": p.ID.String()}})
		r.updated = at
		roll := g.rng.Float64()
		answerAt := g.between(at.Add(a.due.Sub(at)/30), a.due.Add(-time.Minute))
		if roll >= 0.85 {
			answerAt = a.due // no answer: the attempt expires at its due time
		}
		if answerAt.After(k.limit) {
			return // waiting for the answer now
		}
		t := answerAt
		a.answered = &t
		switch {
		case roll < 0.72:
			a.answer = "accepted"
			r.status, r.accepted, r.updated = "accepted", &t, t
			k.events = append(k.events, event{typ: "referral_accepted", at: t, actor: p.UserID, referral: r.id,
				data: map[string]string{"agency_id": p.ID.String()}})
			done := t.Add(days(3 + g.rng.Float64()*57)).Truncate(time.Minute)
			// Progress notes while the service is given.
			for n := 1 + g.rng.IntN(3); n > 0; n-- {
				if at := g.between(t, done); !at.After(k.limit) {
					k.events = append(k.events, event{typ: "referral_progress", at: at, actor: p.UserID, referral: r.id})
				}
			}
			if done.After(k.limit) {
				return
			}
			r.status, r.completed, r.updated = "completed", &done, done
			k.events = append(k.events, event{typ: "referral_completed", at: done, actor: p.UserID, referral: r.id,
				data: map[string]string{"outcome": "completed"}})
			return
		case roll < 0.85:
			a.answer, a.reason = "declined", pick(g.rng, []weighted[string]{{"no_capacity", 60}, {"not_eligible", 25}, {"other", 15}})
			k.events = append(k.events, event{typ: "referral_declined", at: t, actor: p.UserID, referral: r.id,
				data: map[string]string{"agency_id": p.ID.String(), "reason": a.reason}})
		default:
			a.answer = "expired"
		}
		at = t
	}
	r.status, r.updated = "unrouted", at
}

// finish orders the events, derives the obligation instances and the
// events that report on them, and the final stage.
func (g *generator) finish(k *kase) []reports.Instance {
	sort.SliceStable(k.events, func(i, j int) bool { return k.events[i].at.Before(k.events[j].at) })
	evs := make([]reports.Event, len(k.events))
	for i, e := range k.events {
		evs[i] = reports.Event{Type: e.typ, At: e.at, Seq: i, Service: e.data["service"], Agency: e.data["agency_id"]}
		if e.referral != uuid.Nil {
			evs[i].Referral = e.referral.String()
		}
	}
	instances := reports.Replay(k.version, k.child, evs, g.now)
	// The workflows report each meeting and each breach as an event.
	for _, in := range instances {
		data := map[string]string{"obligation": in.Obligation}
		var ref uuid.UUID
		if in.Referral != "" {
			ref = uuid.MustParse(in.Referral)
			data["referral_id"] = in.Referral
		}
		switch in.Status {
		case reports.StatusMet, reports.StatusEnded:
			k.events = append(k.events, event{typ: "obligation_met", at: *in.MetAt, data: data, referral: ref})
		case reports.StatusBreached:
			k.events = append(k.events, event{typ: "obligation_breached", at: *in.BreachedAt, data: data, referral: ref})
		}
	}
	sort.SliceStable(k.events, func(i, j int) bool { return k.events[i].at.Before(k.events[j].at) })
	sort.SliceStable(k.stages, func(i, j int) bool { return k.stages[i].at.Before(k.stages[j].at) })
	k.stage = "screening"
	for _, s := range k.stages {
		if !s.at.After(g.now) {
			if s.stage == "assistance" && k.stage != "recovery" {
				continue // the recovery period ended after the case moved on
			}
			k.stage = s.stage
		}
	}
	return instances
}
