package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// Corrections with history (issue 15, point 1). A case is not frozen at
// screening: the owning agency (its officers and supervisors) and the
// competent authority correct the person's identity and what the screening
// recorded about the encounter, the exploitation, the urgent needs and the
// countries, each change as a JSON merge patch (RFC 7396) with a reason.
//
//   - The patch is applied to the record as it stands and the result is
//     checked by the screening's own rules (CheckRules and validate, under
//     the case's SOP version), so a correction can never store what a
//     screening could not. Only the rules of the fields it touches (and of
//     those their meaning depends on: birth date, age estimate and encounter
//     time decide the age) are held against it.
//   - A case keeps the track it was opened on: a correction that would move
//     the person between the child and adult tracks is refused (409
//     track_change). The region changes by transfer, never by correction,
//     and the screening's indicators are never rewritten.
//   - The identity stays sealed under the case's data key: the corrected
//     person is sealed anew, its blind indexes follow the new values (the
//     search and the duplicate check find the person by them), and earlier
//     cases the new values match are reported to the competent authority
//     as possible duplicates, as when a case opens.
//   - Each correction keeps, sealed under the same key, the values before
//     and after and the reason, with who made it and when in clear
//     (store.Correction); it is audited (case.correct, naming the fields).
//     History reads disclose values only to the roles that may read
//     identity, and are audited too.

// PersonPatch is the body of PATCH /api/v1/cases/{id}/person: the person's
// fields to change, as in the screening's person (PersonInput), and the
// reason. A field left out is unchanged; null removes an optional value
// (family name, birth date, age estimate, languages, phone, document).
type PersonPatch struct {
	Reason         *string  `json:"reason"`
	GivenName      *string  `json:"given_name"`
	FamilyName     *string  `json:"family_name"`
	BirthDate      *string  `json:"birth_date"`
	AgeEstimate    *int     `json:"age_estimate"`
	Sex            *string  `json:"sex"`
	Citizenship    *string  `json:"citizenship"`
	Languages      []string `json:"languages"`
	Phone          *string  `json:"phone"`
	DocumentNumber *string  `json:"document_number"`
}

// EncounterPatch is the encounter's part of a CasePatch. Region is read only
// to refuse it: a case changes region by transfer.
type EncounterPatch struct {
	OccurredAt *string `json:"occurred_at"`
	Region     *string `json:"region"`
	Place      *string `json:"place"`
	Context    *string `json:"context"`
}

// CasePatch is the body of PATCH /api/v1/cases/{id}: the encounter, the
// types of exploitation, the urgent needs and the countries, as in the
// screening (OpenRequest), and the reason. Lists are replaced whole; null
// empties a list.
type CasePatch struct {
	Reason                *string         `json:"reason"`
	Encounter             *EncounterPatch `json:"encounter"`
	Exploitation          []string        `json:"exploitation"`
	UrgentNeeds           []string        `json:"urgent_needs"`
	ExploitationCountries []string        `json:"exploitation_countries"`
	TransitCountries      []string        `json:"transit_countries"`
}

// Correction is one correction of a case: a person patch, a case patch or
// both (the web form sends both at once), and why.
type Correction struct {
	Reason *string
	Person *PersonPatch
	Case   *CasePatch
	// Null lists the fields the patch gave as null, by their path from the
	// case: "person.family_name", "encounter.place", "exploitation",
	// "encounter" (the whole object), "reason".
	Null map[string]bool
}

// Corrected is what a correction answers: the case as it is now (without
// identity), the fields it changed (none: the patch changed nothing and
// nothing was recorded), and the earlier cases of the person, found by the
// corrected values, that the caller may see.
type Corrected struct {
	Case       *store.Case
	Fields     []string
	Duplicates []DuplicateCase
}

// CorrectionPaths are the fields a correction may change, by their path
// from the case, in the order the history lists them.
var CorrectionPaths = []string{
	"person.given_name", "person.family_name", "person.birth_date", "person.age_estimate", "person.sex",
	"person.citizenship", "person.languages", "person.phone", "person.document_number",
	"encounter.occurred_at", "encounter.place", "encounter.context",
	"exploitation", "urgent_needs", "exploitation_countries", "transit_countries",
}

// identityPaths are the corrected fields of the sealed identity.
var identityPaths = []string{"person.given_name", "person.family_name", "person.birth_date", "person.age_estimate",
	"person.languages", "person.phone", "person.document_number", "encounter.place"}

// duplicatePaths are the fields the duplicate check's indexes read.
var duplicatePaths = []string{"person.given_name", "person.family_name", "person.birth_date", "person.document_number"}

// agePaths decide the person's age, hence the track and the age band: a rule
// of one of them is held against a correction of any.
var agePaths = []string{"person.birth_date", "person.age_estimate", "encounter.occurred_at"}

// ErrTrackChange: the corrected age would move the case to the other track.
var ErrTrackChange = &RuleError{Rule: "track_change", Detail: "the corrected age would move the case between the child and adult tracks; a case keeps the track it was opened on"}

// ErrCorrectionGone: the case keeps no identity, so no correction (whose
// history is sealed under its key) can be recorded.
var ErrCorrectionGone = &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; its record can no longer be corrected"}

// maxCorrectionAttempts bounds how often a correction is computed again
// when another one of the same case was recorded while it was computed.
const maxCorrectionAttempts = 8

// CanCorrect reports whether the role may correct the cases it sees: the
// owning agency's officers and supervisors and the competent authority.
func CanCorrect(p auth.Principal) bool {
	return p.Is(auth.Frontline, auth.Supervisor, auth.CompetentAuthority)
}

// Correct applies a correction to a case the caller may see and records it
// with its history. A patch that changes nothing records nothing.
func (s *Service) Correct(ctx context.Context, p auth.Principal, caseID uuid.UUID, c Correction, ri RequestInfo) (*Corrected, error) {
	if !CanCorrect(p) {
		return nil, ErrForbidden
	}
	if err := s.CheckVisible(ctx, p, caseID); err != nil {
		return nil, err
	}
	reason, err := c.check()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		out, err := s.correctOnce(ctx, p, caseID, c, reason, ri)
		if errors.Is(err, store.ErrConflict) && attempt < maxCorrectionAttempts {
			continue // another correction came first: apply this one to its result
		}
		return out, err
	}
}

// check applies the rules that need nothing but the patch: a reason, no
// region, no encounter removed. It returns the reason.
func (c Correction) check() (string, error) {
	v := &ValidationError{}
	reason := ""
	if c.Reason != nil {
		reason = strings.TrimSpace(*c.Reason)
	}
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		v.add("reason", "required", "say why the record is corrected")
	case n > MaxNoteLength:
		v.add("reason", "max", fmt.Sprintf("is longer or larger than %d", MaxNoteLength))
	}
	if c.Null["encounter"] {
		v.add("encounter", "required", "is required")
	}
	if (c.Case != nil && c.Case.Encounter != nil && c.Case.Encounter.Region != nil) || c.Null["encounter.region"] {
		v.add("encounter.region", "not_correctable", "a case changes region by transfer, not by correction")
	}
	return reason, v.orNil()
}

// correctOnce reads the record, applies the correction and writes it as the
// next correction of the case; store.ErrConflict when another came first.
func (s *Service) correctOnce(ctx context.Context, p auth.Principal, caseID uuid.UUID, c Correction, reason string, ri RequestInfo) (*Corrected, error) {
	// The number first, then the record: a correction written in between
	// makes this one's number collide, never be lost.
	last, err := s.Store.LastCorrection(ctx, caseID)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.Case(ctx, auth.CaseScope(p), caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	person, err := s.Vault.Open(ctx, caseID)
	if errors.Is(err, identity.ErrGone) {
		return nil, ErrCorrectionGone
	}
	if err != nil {
		return nil, fmt.Errorf("correct case %s: %w", caseID, err)
	}
	now := s.now()
	procedure := s.procedureOf(k)
	if procedure == nil {
		if procedure, err = s.SOPs.Active(now); err != nil {
			return nil, fmt.Errorf("correct case %s: %w", caseID, err)
		}
	}
	before := RecordOf(k, person)
	after := before
	after.Person.Languages = slices.Clone(before.Person.Languages)
	touched := c.apply(&after)
	if err := s.checkCorrected(procedure, &after, touched, now); err != nil {
		return nil, err
	}
	oldValues, newValues := correctionValues(before), correctionValues(after)
	var changed []string
	for _, path := range CorrectionPaths {
		if slices.Contains(touched, path) && !sameValue(oldValues[path], newValues[path]) {
			changed = append(changed, path)
		}
	}
	if len(changed) == 0 {
		return &Corrected{Case: k}, nil
	}
	band := k.AgeBand
	if slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(agePaths, f) }) {
		var child bool
		if child, band = classifyAge(procedure, after); child != k.Child {
			return nil, ErrTrackChange
		}
	}
	at := now.UTC()
	w := store.CorrectionWrite{
		Correction: store.Correction{ID: uuid.New(), CaseID: caseID, Seq: last + 1, At: at, ActorID: p.UserID,
			Role: string(p.Role), AgencyID: p.AgencyID, Fields: store.Strings(changed)},
		Case: caseFieldsOf(after, band),
	}
	var visible []DuplicateCase
	if slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(identityPaths, f) }) {
		corrected := personRecord(after)
		corrected.OfficerConcern = person.OfficerConcern // not correctable: kept as written
		if w.Person, w.Indexes, err = s.Vault.Reseal(ctx, caseID, corrected); errors.Is(err, identity.ErrGone) {
			return nil, ErrCorrectionGone
		} else if err != nil {
			return nil, fmt.Errorf("correct case %s: %w", caseID, err)
		}
		w.IndexVersion = identity.IndexVersion
		if slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(duplicatePaths, f) }) {
			if visible, w.Notifications, err = s.possibleDuplicates(ctx, p, corrected, caseID, at); err != nil {
				return nil, fmt.Errorf("correct case %s: %w", caseID, err)
			}
			for i := range w.Notifications { // the SOP says which agency answers for the role
				w.Notifications[i].RecipientAgencyType = procedure.AgencyFor(w.Notifications[i].RecipientRole)
			}
		}
	}
	prev, next := map[string]any{}, map[string]any{}
	for _, f := range changed {
		prev[f], next[f] = oldValues[f], newValues[f]
	}
	vals := identity.CorrectionValues{Reason: reason}
	if vals.Previous, err = json.Marshal(prev); err != nil {
		return nil, fmt.Errorf("correct case %s: %w", caseID, err)
	}
	if vals.New, err = json.Marshal(next); err != nil {
		return nil, fmt.Errorf("correct case %s: %w", caseID, err)
	}
	if err := s.Vault.SealCorrection(ctx, &w.Correction, vals); errors.Is(err, identity.ErrGone) {
		return nil, ErrCorrectionGone
	} else if err != nil {
		return nil, fmt.Errorf("correct case %s: %w", caseID, err)
	}
	switch err := s.Store.RecordCorrection(ctx, w); {
	case errors.Is(err, store.ErrConflict):
		return nil, err
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrCorrectionGone // shredded while this was computed
	case err != nil:
		return nil, err
	}
	entry := store.AuditEntry{At: at, UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID, Action: "case.correct",
		CaseID: &caseID, Fields: store.Strings(changed), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(context.WithoutCancel(ctx), entry); err != nil {
		return nil, errors.Join(fmt.Errorf("case %s corrected, but not audited", caseID), err)
	}
	fresh, err := s.Store.Case(ctx, store.CaseScope{All: true}, caseID)
	if err != nil {
		return nil, err
	}
	return &Corrected{Case: fresh, Fields: changed, Duplicates: visible}, nil
}

// RecordOf is a case's correctable record in the screening's shape, with
// the case's indicators and consent so that the screening's rules can be
// run on it (a form shows it to be corrected).
func RecordOf(k *store.Case, p *identity.Person) OpenRequest {
	r := OpenRequest{
		Person: PersonInput{GivenName: p.GivenName, FamilyName: p.FamilyName, AgeEstimate: p.AgeEstimate, Sex: k.Sex,
			Citizenship: k.Citizenship, Languages: p.Languages, Phone: p.Phone, DocumentNumber: p.DocumentNumber},
		Encounter: EncounterInput{OccurredAt: k.EncounteredAt.UTC().Format(time.RFC3339), Region: k.Region, Place: p.Place,
			Context: k.EncounterContext},
		Indicators: k.Indicators, Exploitation: k.Exploitation, UrgentNeeds: k.UrgentNeeds,
		ExploitationCountries: k.ExploitationCountries, TransitCountries: k.TransitCountries, Narrative: p.Narrative,
	}
	if p.BirthDate != nil {
		d := p.BirthDate.Format(time.DateOnly)
		r.Person.BirthDate = &d
	}
	if r.Person.Languages == nil {
		r.Person.Languages = []string{}
	}
	if k.ConsentReferral != nil && k.ConsentDataSharing != nil {
		r.Consent = &ConsentInput{Referral: *k.ConsentReferral, DataSharing: *k.ConsentDataSharing}
	}
	return r
}

// apply writes the patch onto r and returns the paths it touched (given a
// value or null).
func (c Correction) apply(r *OpenRequest) []string {
	var touched []string
	str := func(path string, dst *string, v *string) {
		switch {
		case v != nil:
			*dst = *v
		case c.Null[path]:
			*dst = ""
		default:
			return
		}
		touched = append(touched, path)
	}
	list := func(path string, dst *[]string, v []string) {
		switch {
		case v != nil:
			*dst = dedupe(v)
		case c.Null[path]:
			*dst = []string{}
		default:
			return
		}
		touched = append(touched, path)
	}
	if pp := c.Person; pp != nil || c.hasNull("person.") {
		if pp == nil {
			pp = &PersonPatch{}
		}
		str("person.given_name", &r.Person.GivenName, pp.GivenName)
		str("person.family_name", &r.Person.FamilyName, pp.FamilyName)
		switch {
		case pp.BirthDate != nil:
			d := *pp.BirthDate
			r.Person.BirthDate = &d
			touched = append(touched, "person.birth_date")
		case c.Null["person.birth_date"]:
			r.Person.BirthDate = nil
			touched = append(touched, "person.birth_date")
		}
		switch {
		case pp.AgeEstimate != nil:
			n := *pp.AgeEstimate
			r.Person.AgeEstimate = &n
			touched = append(touched, "person.age_estimate")
		case c.Null["person.age_estimate"]:
			r.Person.AgeEstimate = nil
			touched = append(touched, "person.age_estimate")
		}
		str("person.sex", &r.Person.Sex, pp.Sex)
		str("person.citizenship", &r.Person.Citizenship, pp.Citizenship)
		list("person.languages", &r.Person.Languages, pp.Languages)
		str("person.phone", &r.Person.Phone, pp.Phone)
		str("person.document_number", &r.Person.DocumentNumber, pp.DocumentNumber)
	}
	if cp := c.Case; cp != nil || c.hasNull("") {
		if cp == nil {
			cp = &CasePatch{}
		}
		e := cp.Encounter
		if e == nil {
			e = &EncounterPatch{}
		}
		str("encounter.occurred_at", &r.Encounter.OccurredAt, e.OccurredAt)
		str("encounter.place", &r.Encounter.Place, e.Place)
		str("encounter.context", &r.Encounter.Context, e.Context)
		list("exploitation", &r.Exploitation, cp.Exploitation)
		list("urgent_needs", &r.UrgentNeeds, cp.UrgentNeeds)
		list("exploitation_countries", &r.ExploitationCountries, cp.ExploitationCountries)
		list("transit_countries", &r.TransitCountries, cp.TransitCountries)
	}
	return touched
}

// hasNull reports whether the patch nulls a field under prefix.
func (c Correction) hasNull(prefix string) bool {
	for k, null := range c.Null {
		if null && strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// checkCorrected runs the screening's rules on the corrected record and
// keeps the broken rules of the fields the correction touched.
func (s *Service) checkCorrected(procedure *sop.SOP, r *OpenRequest, touched []string, now time.Time) error {
	all := &ValidationError{}
	if err := CheckRules(r); err != nil && !errors.As(err, &all) {
		return err
	}
	s.validate(procedure, r, now, all)
	concerns := func(field string) bool {
		base := field
		if i := strings.IndexAny(base, "["); i >= 0 {
			base = base[:i]
		}
		for _, t := range touched {
			if base == t || strings.HasPrefix(base, t+".") || slices.Contains(agePaths, base) && slices.Contains(agePaths, t) {
				return true
			}
		}
		return false
	}
	out := &ValidationError{}
	for _, e := range all.Errors {
		if concerns(e.Field) {
			out.Errors = append(out.Errors, e)
		}
	}
	return out.orNil()
}

// caseFieldsOf are the case's correctable columns of a corrected record.
func caseFieldsOf(r OpenRequest, band string) store.CaseFields {
	at, _ := r.occurredAt()
	return store.CaseFields{Sex: r.Person.Sex, Citizenship: r.Person.Citizenship, AgeBand: band,
		EncounterContext: r.Encounter.Context, EncounteredAt: at.UTC(),
		Exploitation: store.Strings(nonNilList(r.Exploitation)), UrgentNeeds: store.Strings(nonNilList(r.UrgentNeeds)),
		ExploitationCountries: store.Strings(nonNilList(r.ExploitationCountries)), TransitCountries: store.Strings(nonNilList(r.TransitCountries))}
}

func nonNilList(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// correctionValues are a record's values by correction path, as the
// history shows them: text, lists, numbers, null for what is not set, and
// the encounter's time in UTC.
func correctionValues(r OpenRequest) map[string]any {
	at := r.Encounter.OccurredAt
	if t, ok := r.occurredAt(); ok {
		at = t.UTC().Format(time.RFC3339)
	}
	var birth, age any
	if r.Person.BirthDate != nil {
		birth = *r.Person.BirthDate
	}
	if r.Person.AgeEstimate != nil {
		age = *r.Person.AgeEstimate
	}
	return map[string]any{
		"person.given_name": r.Person.GivenName, "person.family_name": r.Person.FamilyName, "person.birth_date": birth,
		"person.age_estimate": age, "person.sex": r.Person.Sex, "person.citizenship": r.Person.Citizenship,
		"person.languages": nonNilList(r.Person.Languages), "person.phone": r.Person.Phone,
		"person.document_number": r.Person.DocumentNumber, "encounter.occurred_at": at, "encounter.place": r.Encounter.Place,
		"encounter.context": r.Encounter.Context, "exploitation": nonNilList(r.Exploitation), "urgent_needs": nonNilList(r.UrgentNeeds),
		"exploitation_countries": nonNilList(r.ExploitationCountries), "transit_countries": nonNilList(r.TransitCountries),
	}
}

// sameValue compares two values of a path; lists as sets (their order
// carries no meaning).
func sameValue(a, b any) bool {
	if x, ok := a.([]string); ok {
		y, ok := b.([]string)
		if !ok {
			return false
		}
		x, y = slices.Clone(x), slices.Clone(y)
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// HistoryEntry is one correction as the history lists it. Changes and
// Reason are set only for roles that may read identity; Gone when the
// case's key was destroyed and they can no longer be read.
type HistoryEntry struct {
	ID         uuid.UUID
	Seq        int
	At         time.Time
	ActorID    uuid.UUID
	ActorName  string
	Role       string
	AgencyID   uuid.UUID
	AgencyName string
	Fields     []string
	Changes    []FieldChange
	Reason     *string
	Gone       bool
}

// FieldChange is one field's value before and after a correction (JSON).
type FieldChange struct {
	Field    string
	From, To json.RawMessage
}

// History lists the corrections of a case the caller may see, oldest
// first. For the roles that may read identity it opens their values and
// reasons, and that read is audited (case.history.read) before anything is
// returned; other roles get who, when and which fields only.
func (s *Service) History(ctx context.Context, p auth.Principal, caseID uuid.UUID, ri RequestInfo) ([]HistoryEntry, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	if err := s.CheckVisible(ctx, p, caseID); err != nil {
		return nil, err
	}
	rows, err := s.Store.Corrections(ctx, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]HistoryEntry, 0, len(rows))
	for _, r := range rows {
		out = append(out, HistoryEntry{ID: r.ID, Seq: r.Seq, At: r.At, ActorID: r.ActorID, ActorName: r.ActorName, Role: r.Role,
			AgencyID: r.AgencyID, AgencyName: r.AgencyName, Fields: r.Fields})
	}
	if len(rows) == 0 || !auth.SeesIdentity(p) {
		return out, nil
	}
	var disclosed []string
	for i, r := range rows {
		vals, err := s.Vault.OpenCorrection(ctx, r.Correction)
		if errors.Is(err, identity.ErrGone) {
			out[i].Gone = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history of case %s: %w", caseID, err)
		}
		var prev, next map[string]json.RawMessage
		if err := json.Unmarshal(vals.Previous, &prev); err != nil {
			return nil, fmt.Errorf("history of case %s: correction %d: %w", caseID, r.Seq, err)
		}
		if err := json.Unmarshal(vals.New, &next); err != nil {
			return nil, fmt.Errorf("history of case %s: correction %d: %w", caseID, r.Seq, err)
		}
		for _, f := range r.Fields {
			out[i].Changes = append(out[i].Changes, FieldChange{Field: f, From: prev[f], To: next[f]})
			if !slices.Contains(disclosed, f) {
				disclosed = append(disclosed, f)
			}
		}
		reason := vals.Reason
		out[i].Reason = &reason
	}
	if disclosed == nil {
		return out, nil // every value destroyed with the key: nothing disclosed
	}
	entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.history.read", CaseID: &caseID, Fields: store.Strings(append(disclosed, "reason")),
		RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(ctx, entry); err != nil {
		return nil, fmt.Errorf("history of case %s: %w", caseID, err)
	}
	return out, nil
}

// CorrectionTo is the correction that makes the record current what wanted
// says: the fields whose values differ, set (or, for a value removed,
// nulled), the others left out. The web form sends the whole record.
func CorrectionTo(current, wanted OpenRequest, reason string) Correction {
	c := Correction{Reason: &reason, Person: &PersonPatch{}, Case: &CasePatch{Encounter: &EncounterPatch{}}, Null: map[string]bool{}}
	from, to := correctionValues(current), correctionValues(wanted)
	w := wanted
	for _, path := range CorrectionPaths {
		if sameValue(from[path], to[path]) {
			continue
		}
		if to[path] == nil {
			c.Null[path] = true
			continue
		}
		switch path {
		case "person.given_name":
			c.Person.GivenName = &w.Person.GivenName
		case "person.family_name":
			c.Person.FamilyName = &w.Person.FamilyName
		case "person.birth_date":
			c.Person.BirthDate = w.Person.BirthDate
		case "person.age_estimate":
			c.Person.AgeEstimate = w.Person.AgeEstimate
		case "person.sex":
			c.Person.Sex = &w.Person.Sex
		case "person.citizenship":
			c.Person.Citizenship = &w.Person.Citizenship
		case "person.languages":
			c.Person.Languages = nonNilList(w.Person.Languages)
		case "person.phone":
			c.Person.Phone = &w.Person.Phone
		case "person.document_number":
			c.Person.DocumentNumber = &w.Person.DocumentNumber
		case "encounter.occurred_at":
			c.Case.Encounter.OccurredAt = &w.Encounter.OccurredAt
		case "encounter.place":
			c.Case.Encounter.Place = &w.Encounter.Place
		case "encounter.context":
			c.Case.Encounter.Context = &w.Encounter.Context
		case "exploitation":
			c.Case.Exploitation = nonNilList(w.Exploitation)
		case "urgent_needs":
			c.Case.UrgentNeeds = nonNilList(w.UrgentNeeds)
		case "exploitation_countries":
			c.Case.ExploitationCountries = nonNilList(w.ExploitationCountries)
		case "transit_countries":
			c.Case.TransitCountries = nonNilList(w.TransitCountries)
		}
	}
	return c
}
