package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// RecordCorrection writes a correction whole or not at all: the history row,
// the case's columns, the person and its blind indexes in one transaction;
// a second correction under the same number is ErrConflict, and one of a
// shredded identity ErrNotFound, each writing nothing.
func TestRecordCorrection(t *testing.T) {
	st := reportStore(t)
	ctx := context.Background()
	db := st.DB()
	agency, user, caseID := uuid.New(), uuid.New(), uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO agencies (id, name, type, region) VALUES ($1, 'Lebap police', 'law_enforcement', 'lebap')`, []any{agency}},
		{`INSERT INTO users (id, email, name, role, agency_id, password_hash) VALUES ($1, 'o@x.invalid', 'Officer', 'frontline', $2, '!')`, []any{user, agency}},
		{`INSERT INTO cases (id, number, agency_id, created_by, sop_id, sop_version, sop_hash, stage, child, sex, age_band, citizenship,
			region, encounter_context, encountered_at, indicators, exploitation, urgent_needs, screening_outcome, screening, opened_at, updated_at)
			VALUES ($1, 'TM-2026-000001', $2, $3, 'tm-nrm', '2026.1', 'h', 'identification', false, 'female', '21-23', 'TM',
			'lebap', 'border_check', $4, '{}', '{labour}', '{}', 'presumed_victim', '{}', $4, $4)`, []any{caseID, agency, user, now}},
		{`INSERT INTO case_keys (case_id, key_id, wrapped, created_at, index_version) VALUES ($1, 'k', '\x01', $2, 2)`, []any{caseID, now}},
		{`INSERT INTO persons (case_id, given_name, family_name, birth_date, age_estimate, languages, phone, document_number, place,
			narrative, officer_concern) VALUES ($1, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')`, []any{caseID}},
		{`INSERT INTO person_index (case_id, kind, key_id, digest, opened_at) VALUES ($1, 'document', 'k', 'old', now())`, []any{caseID}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	fields := CaseFields{Sex: "female", Citizenship: "UZ", AgeBand: "21-23", EncounterContext: "outreach", EncounteredAt: now,
		Exploitation: Strings{"labour", "sexual"}, UrgentNeeds: Strings{}, ExploitationCountries: Strings{"TR"}, TransitCountries: Strings{}}
	person := &SealedPerson{GivenName: []byte("A"), FamilyName: []byte("B"), BirthDate: []byte("C"), AgeEstimate: []byte("D"),
		Languages: []byte("E"), Phone: []byte("F"), DocumentNumber: []byte("G"), Place: []byte("H"), Narrative: []byte("I"), OfficerConcern: []byte("J")}
	w := CorrectionWrite{
		Correction: Correction{ID: uuid.New(), CaseID: caseID, Seq: 1, At: now, ActorID: user, Role: "frontline", AgencyID: agency,
			Fields: Strings{"person.family_name", "exploitation_countries"}, PreviousValues: []byte{1}, NewValues: []byte{2}, Reason: []byte{3}},
		Case: fields, Person: person, Indexes: []PersonIndex{{Kind: "document", KeyID: "k", Digest: "new"}}, IndexVersion: 9,
	}
	if n, err := st.LastCorrection(ctx, caseID); err != nil || n != 0 {
		t.Fatalf("last correction before any: %d %v", n, err)
	}
	if err := st.RecordCorrection(ctx, w); err != nil {
		t.Fatal(err)
	}
	c, err := st.Case(ctx, CaseScope{All: true}, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Citizenship != "UZ" || c.EncounterContext != "outreach" || !slices.Equal(c.ExploitationCountries, []string{"TR"}) ||
		!slices.Equal(c.Exploitation, []string{"labour", "sexual"}) || c.Stage != "identification" {
		t.Errorf("case after the correction: %+v", c)
	}
	p, err := st.Person(ctx, caseID)
	if err != nil || string(p.FamilyName) != "B" || string(p.Narrative) != "I" {
		t.Errorf("person after the correction: %+v %v", p, err)
	}
	var ix []PersonIndex
	err = db.SelectContext(ctx, &ix, qIndexesOfCase, caseID)
	if err != nil || len(ix) != 1 || ix[0].Digest != "new" {
		t.Errorf("indexes after the correction: %+v %v", ix, err)
	}
	k, _ := st.CaseKey(ctx, caseID)
	if k.IndexVersion != 9 {
		t.Errorf("index version %d, want 9", k.IndexVersion)
	}

	// The same number again: a conflict, and nothing of it written.
	again := w
	again.Correction.ID = uuid.New()
	again.Case.Citizenship = "KZ"
	if err := st.RecordCorrection(ctx, again); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second correction 1: %v, want ErrConflict", err)
	}
	if c, _ := st.Case(ctx, CaseScope{All: true}, caseID); c.Citizenship != "UZ" {
		t.Errorf("the refused correction changed the case: %s", c.Citizenship)
	}

	// After shredding, a correction of the person writes nothing.
	if err := st.DestroyCaseKey(ctx, caseID, now); err != nil {
		t.Fatal(err)
	}
	gone := again
	gone.Correction.Seq = 2
	if err := st.RecordCorrection(ctx, gone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a correction of a shredded identity: %v, want ErrNotFound", err)
	}
	rows, err := st.Corrections(ctx, caseID)
	if err != nil || len(rows) != 1 || rows[0].ActorName != "Officer" || rows[0].AgencyName != "Lebap police" || rows[0].Seq != 1 {
		t.Errorf("corrections: %+v %v", rows, err)
	}
	if n, _ := st.LastCorrection(ctx, caseID); n != 1 {
		t.Errorf("last correction %d, want 1", n)
	}
}
