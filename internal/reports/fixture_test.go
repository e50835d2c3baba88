package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// The fixed history of the report tests, written straight into the read
// model. Times are in Asia/Ashgabat (UTC+5, no daylight saving). Every due
// time below is computed by hand and checked against the SOP calendar.
//
// Working days of March 2026 in the 2026.1 calendar: weekends Sat/Sun;
// holidays 8 (Sun), 20 (Fri, Oraza baýramy), 21-22 (Nowruz, a weekend).
//
//	C1 adult 2026.1 lebap, opened Mon 2 Mar 10:00. preliminary_decision 5wd:
//	   3,4,5,6,9 → due Tue 10 Mar 00:00; positive Thu 5 Mar 10:00: on time, 72 h.
//	   Referral R1 shelter, sent 5 Mar 12:00 to the shelter (4h → due 16:00),
//	   accepted 13:00: on time, 1 h.
//	   Referral R2 medical, sent 6 Mar 10:00 to the clinic (due 14:00), no
//	   answer: breached 14:00, redirected to clinic 2 (due 18:00), accepted
//	   15:00 by clinic 2: attempt 1 breached and open (clinic 2's answer
//	   does not meet the clinic's deadline), attempt 2 on time, 1 h.
//	C2 adult 2026.1 lebap, opened Mon 16 Mar 09:00. preliminary_decision 5wd:
//	   17,18,19,(20 holiday, 21-22 weekend),23,24 → due Wed 25 Mar 00:00;
//	   breached then; positive Fri 27 Mar 09:00: met late, 264 h.
//	C3 adult 2026.1 dashoguz, opened Wed 18 Mar 15:00. 5wd: 19,23,24,25,26 →
//	   due Fri 27 Mar 00:00; no decision: breached and open.
//	C4 child 2026.1 lebap, opened Mon 30 Mar 08:00. child_protection_notified
//	   24h → due Tue 31 Mar 08:00; guardian 31 Mar 07:00: on time, 23 h.
//	   preliminary_decision 5wd: 31,1,2,3,6 → due Tue 7 Apr 00:00 (April);
//	   positive Thu 2 Apr 10:00: on time, 74 h.
//	C5 adult 2025.1-synthetic lebap, opened 25 Nov 2025 10:00, positive
//	   1 Dec 2025 10:00; conclusive_decision 120d → due Tue 31 Mar 2026
//	   10:00; conclusive positive 20 Mar 10:00: on time, 2616 h.
//	C7 adult 2026.1 mary, opened Wed 8 Apr 10:00. 5wd: 9,10,13,14,15 → due
//	   Thu 16 Apr 00:00: pending at as_of (10 Apr 12:00).
//	C8 adult 2026.1 lebap, not indicated but forwarded (officer concern),
//	   opened Tue 3 Mar 10:00; consent withdrawn and closed 4 Mar 10:00:
//	   preliminary_decision (due 11 Mar 00:00) cancelled, not counted.
type fixture struct {
	t     *testing.T
	st    *store.Store
	db    *sqlx.DB
	loc   *time.Location
	sops  *sop.Set
	v2026 *sop.SOP
	v2025 *sop.SOP

	user                                               uuid.UUID
	police, dpolice, authority, shelter, clinic, clin2 uuid.UUID
	seq                                                map[uuid.UUID]int
	asOf                                               time.Time
}

func loadSOPs(t testing.TB) *sop.Set {
	t.Helper()
	a, err := sop.LoadFile(filepath.Join(repoRoot(), "sop", "tm-nrm-2026.1.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sop.LoadFile(filepath.Join(repoRoot(), "internal", "synthetic", "sop", "tm-nrm-2025.1-synthetic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := sop.NewSet(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := newBareFixture(t)
	f.build()
	return f
}

// newBareFixture is the fixture's database, SOPs and directory, without
// the fixed history.
func newBareFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Ashgabat")
	f := &fixture{t: t, st: st, db: st.DB(), loc: loc, sops: loadSOPs(t), seq: map[uuid.UUID]int{}}
	f.v2026, _ = f.sops.Get("2026.1")
	f.v2025, _ = f.sops.Get("2025.1-synthetic")
	f.asOf = f.at("2026-04-10 12:00")
	f.directory()
	return f
}

func (f *fixture) service(threshold int) *Service {
	return &Service{Store: f.st, SOPs: f.sops, Threshold: threshold, Now: func() time.Time { return f.asOf }}
}

func (f *fixture) at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, f.loc)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) agency(name, typ, region string) uuid.UUID {
	id := uuid.New()
	f.exec(`INSERT INTO agencies (id, name, type, region) VALUES ($1, $2, $3, $4)`, id, name, typ, region)
	return id
}

type caseSpec struct {
	id                 uuid.UUID
	version            string
	child              bool
	region, sex, band  string
	citizenship        string
	exploitation       []string
	outcome            string
	concern            bool
	agency             uuid.UUID
	opened             time.Time
	stage              string
	closed             *time.Time
	reason             string
	consent            *bool
	encounteredContext string
}

func (f *fixture) kase(c caseSpec) uuid.UUID {
	if c.outcome == "" {
		c.outcome = "presumed_victim"
	}
	if c.stage == "" {
		c.stage = "identification"
	}
	var reason *string
	if c.reason != "" {
		reason = &c.reason
	}
	f.exec(`INSERT INTO cases (id, number, agency_id, created_by, sop_id, sop_version, sop_hash, stage, child, sex, age_band,
		citizenship, region, encounter_context, encountered_at, indicators, exploitation, urgent_needs, consent_referral,
		consent_data_sharing, screening_outcome, screening, officer_concern, opened_at, updated_at, closed_at, closure_reason,
		workflow_started_at)
		VALUES ($1, $2, $3, $4, 'tm-nrm', $5, 'hash', $6, $7, $8, $9, $10, $11, 'border_check', $12, '{}', $13, '{}', $14, $14,
		$15, '{}', $16, $12, $12, $17, $18, $12)`,
		c.id, "T-"+c.id.String()[:8], c.agency, f.user, c.version, c.stage, c.child, c.sex, c.band, c.citizenship, c.region,
		c.opened, store.Strings(c.exploitation), c.consent, c.outcome, c.concern, c.closed, reason)
	return c.id
}

func (f *fixture) event(caseID uuid.UUID, typ string, at time.Time, data map[string]string) {
	f.seq[caseID]++
	if data == nil {
		data = map[string]string{}
	}
	b, _ := json.Marshal(data)
	f.exec(`INSERT INTO case_events (id, seq, case_id, type, at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		fmt.Sprintf("case-%s/%d", caseID, f.seq[caseID]), f.seq[caseID], caseID, typ, at, b)
}

type obl struct {
	id, obligation, kind, version, role string
	owner                               *uuid.UUID
	starts, due                         time.Time
	status                              string
	met, breached, cancelled            *time.Time
}

func (f *fixture) obligation(caseID uuid.UUID, o obl) {
	if o.kind == "" {
		o.kind = "deadline"
	}
	if o.id == "" {
		o.id = fmt.Sprintf("case-%s/%s/1", caseID, o.obligation)
	}
	f.exec(`INSERT INTO obligations (id, case_id, obligation, kind, sop_version, owner_role, owner_agency_id, starts_at, due_at,
		met_at, breached_at, cancelled_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		o.id, caseID, o.obligation, o.kind, o.version, o.role, o.owner, o.starts, o.due, o.met, o.breached, o.cancelled, o.status)
}

// checkDue asserts that a hand-computed due time is what the SOP calendar says.
func (f *fixture) checkDue(v *sop.SOP, obligation string, start, due time.Time) {
	f.t.Helper()
	def, ok := v.Obligation(obligation)
	if !ok {
		f.t.Fatalf("no obligation %s in %s", obligation, v.Version)
	}
	d := def.Due
	if def.Kind == sop.KindProtected {
		d = def.Duration
	}
	if got := v.Calendar.Deadline(start, d); !got.Equal(due) {
		f.t.Fatalf("%s %s from %s: hand-computed due %s, calendar says %s", v.Version, obligation, start, due, got)
	}
}

func ptr(t time.Time) *time.Time { return &t }

// directory adds the agencies and the user who opens the cases.
func (f *fixture) directory() {
	f.police = f.agency("Lebap police", "law_enforcement", "lebap")
	f.dpolice = f.agency("Dashoguz police", "law_enforcement", "dashoguz")
	f.authority = f.agency("Identification unit", "competent_authority", "ashgabat")
	f.shelter = f.agency("Lebap shelter", "ngo", "lebap")
	f.clinic = f.agency("Lebap clinic", "health", "lebap")
	f.clin2 = f.agency("Ashgabat clinic", "health", "ashgabat")
	f.user = uuid.New()
	f.exec(`INSERT INTO users (id, email, name, role, agency_id, password_hash) VALUES ($1, 'u@x.invalid', 'u', 'frontline', $2, '!')`, f.user, f.police)
}

func (f *fixture) build() {
	yes := true
	v26, v25 := "2026.1", "2025.1-synthetic"
	auth := &f.authority

	// C1
	c1 := f.kase(caseSpec{id: uuid.New(), version: v26, region: "lebap", sex: "female", band: "21-23", citizenship: "TM",
		exploitation: []string{"labour"}, agency: f.police, opened: f.at("2026-03-02 10:00"), consent: &yes, stage: "assistance"})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c1, e, f.at("2026-03-02 10:00"), nil)
	}
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-03-02 10:00"), f.at("2026-03-10 00:00"))
	f.obligation(c1, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-02 10:00"), due: f.at("2026-03-10 00:00"), status: "met", met: ptr(f.at("2026-03-05 10:00"))})
	f.event(c1, "preliminary_positive", f.at("2026-03-05 10:00"), nil)
	f.event(c1, "obligation_met", f.at("2026-03-05 10:00"), map[string]string{"obligation": "preliminary_decision"})
	f.obligation(c1, obl{obligation: "recovery_period", kind: "protected", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-05 10:00"), due: f.at("2026-04-04 10:00"), status: "ended", met: ptr(f.at("2026-04-04 10:00"))})
	f.obligation(c1, obl{obligation: "conclusive_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-05 10:00"), due: f.at("2026-06-03 10:00"), status: "pending"})
	r1, r2 := uuid.New(), uuid.New()
	f.event(c1, "referral_sent", f.at("2026-03-05 12:00"), map[string]string{"referral_id": r1.String(), "service": "shelter", "agency_id": f.shelter.String()})
	f.event(c1, "referral_accepted", f.at("2026-03-05 13:00"), map[string]string{"referral_id": r1.String(), "agency_id": f.shelter.String()})
	f.obligation(c1, obl{id: "referral-" + r1.String() + "/referral_answer/1", obligation: "referral_answer", version: v26,
		role: "service_provider", owner: &f.shelter, starts: f.at("2026-03-05 12:00"), due: f.at("2026-03-05 16:00"),
		status: "met", met: ptr(f.at("2026-03-05 13:00"))})
	f.event(c1, "referral_sent", f.at("2026-03-06 10:00"), map[string]string{"referral_id": r2.String(), "service": "medical", "agency_id": f.clinic.String()})
	f.event(c1, "obligation_breached", f.at("2026-03-06 14:00"), map[string]string{"referral_id": r2.String(), "obligation": "referral_answer"})
	f.event(c1, "referral_redirected", f.at("2026-03-06 14:00"), map[string]string{"referral_id": r2.String(), "service": "medical", "agency_id": f.clin2.String()})
	f.event(c1, "referral_accepted", f.at("2026-03-06 15:00"), map[string]string{"referral_id": r2.String(), "agency_id": f.clin2.String()})
	f.obligation(c1, obl{id: "referral-" + r2.String() + "/referral_answer/1", obligation: "referral_answer", version: v26,
		role: "service_provider", owner: &f.clinic, starts: f.at("2026-03-06 10:00"), due: f.at("2026-03-06 14:00"),
		status: "breached", breached: ptr(f.at("2026-03-06 14:00"))})
	f.obligation(c1, obl{id: "referral-" + r2.String() + "/referral_answer/2", obligation: "referral_answer", version: v26,
		role: "service_provider", owner: &f.clin2, starts: f.at("2026-03-06 14:00"), due: f.at("2026-03-06 18:00"),
		status: "met", met: ptr(f.at("2026-03-06 15:00"))})
	f.exec(`INSERT INTO referrals (id, case_id, service, urgent, region, sender_id, sender_agency_id, agency_id, status, attempt,
		redirections, sent_at, due_at, accepted_at, updated_at) VALUES
		($1, $3, 'shelter', true, 'lebap', $4, $5, $6, 'accepted', 1, 0, $8, $9, $10, $10),
		($2, $3, 'medical', true, 'lebap', $4, $5, $7, 'accepted', 2, 1, $11, $12, $13, $13)`,
		r1, r2, c1, f.user, f.police, f.shelter, f.clin2,
		f.at("2026-03-05 12:00"), f.at("2026-03-05 16:00"), f.at("2026-03-05 13:00"),
		f.at("2026-03-06 14:00"), f.at("2026-03-06 18:00"), f.at("2026-03-06 15:00"))
	f.exec(`INSERT INTO referral_attempts (referral_id, attempt, agency_id, sent_at, due_at, answered_at, answer) VALUES
		($1, 1, $3, $6, $7, $8, 'accepted'),
		($2, 1, $4, $9, $10, $10, 'expired'),
		($2, 2, $5, $10, $11, $12, 'accepted')`,
		r1, r2, f.shelter, f.clinic, f.clin2,
		f.at("2026-03-05 12:00"), f.at("2026-03-05 16:00"), f.at("2026-03-05 13:00"),
		f.at("2026-03-06 10:00"), f.at("2026-03-06 14:00"), f.at("2026-03-06 18:00"), f.at("2026-03-06 15:00"))

	// C2
	c2 := f.kase(caseSpec{id: uuid.New(), version: v26, region: "lebap", sex: "male", band: "31-38", citizenship: "UZ",
		exploitation: []string{"sexual"}, agency: f.police, opened: f.at("2026-03-16 09:00"), consent: &yes, stage: "recovery"})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c2, e, f.at("2026-03-16 09:00"), nil)
	}
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-03-16 09:00"), f.at("2026-03-25 00:00"))
	f.obligation(c2, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-16 09:00"), due: f.at("2026-03-25 00:00"), status: "breached", breached: ptr(f.at("2026-03-25 00:00"))})
	f.event(c2, "obligation_breached", f.at("2026-03-25 00:00"), map[string]string{"obligation": "preliminary_decision"})
	f.event(c2, "preliminary_positive", f.at("2026-03-27 09:00"), nil)
	f.obligation(c2, obl{obligation: "recovery_period", kind: "protected", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-27 09:00"), due: f.at("2026-04-26 09:00"), status: "running"})
	f.obligation(c2, obl{obligation: "conclusive_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-27 09:00"), due: f.at("2026-06-25 09:00"), status: "pending"})

	// C3
	c3 := f.kase(caseSpec{id: uuid.New(), version: v26, region: "dashoguz", sex: "female", band: "18-20", citizenship: "TM",
		exploitation: []string{"labour"}, agency: f.dpolice, opened: f.at("2026-03-18 15:00"), consent: &yes})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c3, e, f.at("2026-03-18 15:00"), nil)
	}
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-03-18 15:00"), f.at("2026-03-27 00:00"))
	f.obligation(c3, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-18 15:00"), due: f.at("2026-03-27 00:00"), status: "breached", breached: ptr(f.at("2026-03-27 00:00"))})
	f.event(c3, "obligation_breached", f.at("2026-03-27 00:00"), map[string]string{"obligation": "preliminary_decision"})

	// C4 (child)
	c4 := f.kase(caseSpec{id: uuid.New(), version: v26, child: true, region: "lebap", sex: "female", band: "9-17", citizenship: "TM",
		exploitation: []string{"forced_begging"}, agency: f.police, opened: f.at("2026-03-30 08:00"), stage: "recovery"})
	f.event(c4, "case_opened", f.at("2026-03-30 08:00"), nil)
	f.event(c4, "screening_submitted", f.at("2026-03-30 08:00"), nil)
	f.checkDue(f.v2026, "child_protection_notified", f.at("2026-03-30 08:00"), f.at("2026-03-31 08:00"))
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-03-30 08:00"), f.at("2026-04-07 00:00"))
	f.obligation(c4, obl{obligation: "child_protection_notified", version: v26, role: "opening_agency", owner: &f.police,
		starts: f.at("2026-03-30 08:00"), due: f.at("2026-03-31 08:00"), status: "met", met: ptr(f.at("2026-03-31 07:00"))})
	f.event(c4, "guardian_appointed", f.at("2026-03-31 07:00"), nil)
	f.obligation(c4, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-30 08:00"), due: f.at("2026-04-07 00:00"), status: "met", met: ptr(f.at("2026-04-02 10:00"))})
	f.event(c4, "preliminary_positive", f.at("2026-04-02 10:00"), nil)

	// C5 (2025.1-synthetic)
	c5 := f.kase(caseSpec{id: uuid.New(), version: v25, region: "lebap", sex: "female", band: "24-26", citizenship: "TM",
		exploitation: []string{"labour"}, agency: f.police, opened: f.at("2025-11-25 10:00"), consent: &yes, stage: "assistance"})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c5, e, f.at("2025-11-25 10:00"), nil)
	}
	f.checkDue(f.v2025, "preliminary_decision", f.at("2025-11-25 10:00"), f.at("2025-12-10 00:00"))
	f.obligation(c5, obl{obligation: "preliminary_decision", version: v25, role: "competent_authority", owner: auth,
		starts: f.at("2025-11-25 10:00"), due: f.at("2025-12-10 00:00"), status: "met", met: ptr(f.at("2025-12-01 10:00"))})
	f.event(c5, "preliminary_positive", f.at("2025-12-01 10:00"), nil)
	f.checkDue(f.v2025, "conclusive_decision", f.at("2025-12-01 10:00"), f.at("2026-03-31 10:00"))
	f.obligation(c5, obl{obligation: "recovery_period", kind: "protected", version: v25, role: "competent_authority", owner: auth,
		starts: f.at("2025-12-01 10:00"), due: f.at("2025-12-31 10:00"), status: "ended", met: ptr(f.at("2025-12-31 10:00"))})
	f.obligation(c5, obl{obligation: "conclusive_decision", version: v25, role: "competent_authority", owner: auth,
		starts: f.at("2025-12-01 10:00"), due: f.at("2026-03-31 10:00"), status: "met", met: ptr(f.at("2026-03-20 10:00"))})
	f.event(c5, "conclusive_positive", f.at("2026-03-20 10:00"), nil)

	// C7
	c7 := f.kase(caseSpec{id: uuid.New(), version: v26, region: "mary", sex: "male", band: "39-47", citizenship: "TM",
		exploitation: []string{"labour"}, agency: f.police, opened: f.at("2026-04-08 10:00"), consent: &yes})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c7, e, f.at("2026-04-08 10:00"), nil)
	}
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-04-08 10:00"), f.at("2026-04-16 00:00"))
	f.obligation(c7, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-04-08 10:00"), due: f.at("2026-04-16 00:00"), status: "pending"})

	// C8: forwarded on an officer's concern, then consent withdrawn.
	closed := f.at("2026-03-04 10:00")
	c8 := f.kase(caseSpec{id: uuid.New(), version: v26, region: "lebap", sex: "male", band: "27-30", citizenship: "TM",
		outcome: "not_indicated", concern: true, agency: f.police, opened: f.at("2026-03-03 10:00"), consent: &yes,
		stage: "closed", closed: &closed, reason: "consent_withdrawn"})
	for _, e := range []string{"case_opened", "screening_submitted", "consent_given"} {
		f.event(c8, e, f.at("2026-03-03 10:00"), nil)
	}
	f.checkDue(f.v2026, "preliminary_decision", f.at("2026-03-03 10:00"), f.at("2026-03-11 00:00"))
	f.obligation(c8, obl{obligation: "preliminary_decision", version: v26, role: "competent_authority", owner: auth,
		starts: f.at("2026-03-03 10:00"), due: f.at("2026-03-11 00:00"), status: "cancelled", cancelled: &closed})
	f.event(c8, "consent_withdrawn", closed, nil)
	f.event(c8, "case_closed", closed, map[string]string{"reason": "consent_withdrawn"})
}
