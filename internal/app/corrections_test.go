package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// Corrections with history (issue 15, point 1): PATCH /api/v1/cases/{id}/person
// and PATCH /api/v1/cases/{id} as JSON merge patches, GET …/history.

var mergePatch = http.Header{"Content-Type": {"application/merge-patch+json"}}

// patch sends a merge patch and answers the status and the decoded answer.
func patch(t *testing.T, c *testenv.Client, path string, body any, out any) int {
	t.Helper()
	resp := c.Raw(t, "PATCH", path, body, mergePatch)
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if out != nil && buf.Len() > 0 {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			t.Fatalf("PATCH %s: decode %q: %v", path, buf.String(), err)
		}
	}
	return resp.StatusCode
}

// fieldRules are a problem's errors as "field rule".
func fieldRules(p problemBody) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field+" "+e.Rule)
	}
	return out
}

type personBody struct {
	GivenName      string   `json:"given_name"`
	FamilyName     string   `json:"family_name"`
	BirthDate      *string  `json:"birth_date"`
	AgeEstimate    *int     `json:"age_estimate"`
	Sex            string   `json:"sex"`
	Citizenship    string   `json:"citizenship"`
	Languages      []string `json:"languages"`
	Phone          string   `json:"phone"`
	DocumentNumber string   `json:"document_number"`
	Place          string   `json:"place"`
}

type correctedCase struct {
	ID                    string      `json:"id"`
	Sex                   string      `json:"sex"`
	AgeBand               string      `json:"age_band"`
	Citizenship           string      `json:"citizenship"`
	Exploitation          []string    `json:"exploitation"`
	UrgentNeeds           []string    `json:"urgent_needs"`
	ExploitationCountries []string    `json:"exploitation_countries"`
	TransitCountries      []string    `json:"transit_countries"`
	Indicators            []string    `json:"indicators"`
	Person                *personBody `json:"person"`
	PossibleDuplicate     *struct {
		Cases []struct {
			ID string `json:"id"`
		} `json:"cases"`
	} `json:"possible_duplicate"`
}

type historyBody struct {
	Corrections []struct {
		ID         string   `json:"id"`
		Seq        int      `json:"seq"`
		AuthorID   string   `json:"author_id"`
		AuthorName string   `json:"author_name"`
		Role       string   `json:"role"`
		AgencyName string   `json:"agency_name"`
		Fields     []string `json:"fields"`
		Reason     *string  `json:"reason"`
		Changes    []struct {
			Field string          `json:"field"`
			From  json.RawMessage `json:"from"`
			To    json.RawMessage `json:"to"`
		} `json:"changes"`
	} `json:"corrections"`
}

func readCase(t *testing.T, c *testenv.Client, id string) correctedCase {
	t.Helper()
	var out correctedCase
	mustStatus(t, "GET case", c.Do(t, "GET", "/api/v1/cases/"+id, nil, &out), http.StatusOK)
	return out
}

func readHistory(t *testing.T, c *testenv.Client, id string) historyBody {
	t.Helper()
	var out historyBody
	mustStatus(t, "GET history", c.Do(t, "GET", "/api/v1/cases/"+id+"/history", nil, &out), http.StatusOK)
	return out
}

func auditActions(t *testing.T, sys *app.System, action string) int {
	n := 0
	for _, row := range testenv.AuditRows(t, sys.Store) {
		if row.Action == action {
			n++
		}
	}
	return n
}

// A misspelt name and a mistyped document number are corrected: the case
// answers the new values, the history keeps the old ones with who, when and
// why, the search finds the person by the new document number (typed any
// way) and no longer by the old one, a new screening of the same person is
// found to be a possible duplicate by the new values, and nothing of the
// old or new values is stored in clear.
func TestCorrectPersonWithHistory(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	authority := anon.Login(t, "decider@authority.example")

	k := openWith(t, officer, map[string]any{"given_name": "Aýna", "family_name": "Berdiyewa",
		"phone": "+99365000000", "document_number": "I-AS 12345"})
	path := "/api/v1/cases/" + k.ID + "/person"
	var out correctedCase
	st := patch(t, officer, path, map[string]any{"reason": "Typed from the passport again: family name and number were wrong",
		"family_name": "Berdiýewa", "document_number": "I-AŞ 123456", "phone": nil}, &out)
	mustStatus(t, "correct the person", st, http.StatusOK)
	if out.ID != k.ID || out.Person != nil {
		t.Errorf("answer %+v: the case, without identity", out)
	}
	got := readCase(t, officer, k.ID).Person
	if got == nil || got.FamilyName != "Berdiýewa" || got.DocumentNumber != "I-AŞ 123456" || got.Phone != "" || got.GivenName != "Aýna" {
		t.Fatalf("person after the correction: %+v", got)
	}

	h := readHistory(t, supervisor, k.ID)
	if len(h.Corrections) != 1 {
		t.Fatalf("history %+v, want one correction", h)
	}
	c := h.Corrections[0]
	wantFields := []string{"person.family_name", "person.phone", "person.document_number"}
	if c.Seq != 1 || c.Role != "frontline" || c.AgencyName == "" || c.AuthorName == "" || !slices.Equal(c.Fields, wantFields) {
		t.Errorf("correction %+v, want fields %v by the officer", c, wantFields)
	}
	if c.Reason == nil || !strings.HasPrefix(*c.Reason, "Typed from the passport") {
		t.Errorf("reason %v", c.Reason)
	}
	changes := map[string]string{}
	for _, ch := range c.Changes {
		changes[ch.Field] = string(ch.From) + " → " + string(ch.To)
	}
	if changes["person.family_name"] != `"Berdiyewa" → "Berdiýewa"` || changes["person.document_number"] != `"I-AS 12345" → "I-AŞ 123456"` ||
		changes["person.phone"] != `"+99365000000" → ""` {
		t.Errorf("changes %v", changes)
	}

	// The blind indexes follow: the new number is found typed any way, the old one no longer.
	if ids := searchFor(t, authority, "i aş123456"); !slices.Equal(ids, []string{k.ID}) {
		t.Errorf("the corrected document number finds %v, want %s", ids, k.ID)
	}
	if ids := searchFor(t, authority, "I-AS 12345"); len(ids) != 0 {
		t.Errorf("the old document number still finds %v", ids)
	}
	if ids := searchFor(t, officer, "Айна Бердиева"); !slices.Equal(ids, []string{k.ID}) {
		t.Errorf("the corrected name finds %v", ids)
	}
	// A new screening of the person with the corrected number is a possible duplicate.
	var again struct {
		PossibleDuplicate *struct {
			Cases []struct {
				ID string `json:"id"`
			} `json:"cases"`
		} `json:"possible_duplicate"`
	}
	body := testenv.Screening()
	body["person"].(map[string]any)["document_number"] = "I-AŞ 123456"
	body["person"].(map[string]any)["given_name"] = "Someone"
	mustStatus(t, "open again", officer.Do(t, "POST", "/api/v1/cases", body, &again), http.StatusCreated)
	if again.PossibleDuplicate == nil || len(again.PossibleDuplicate.Cases) != 1 || again.PossibleDuplicate.Cases[0].ID != k.ID {
		t.Errorf("a new screening with the corrected number: possible_duplicate %+v, want %s", again.PossibleDuplicate, k.ID)
	}

	// Audited: the correction with the fields it changed, the history's reads with what they disclosed.
	var corrections, reads int
	for _, row := range testenv.AuditRows(t, sys.Store) {
		switch row.Action {
		case "case.correct":
			corrections++
			if row.CaseID == nil || row.CaseID.String() != k.ID || !slices.Equal([]string(row.Fields), wantFields) {
				t.Errorf("audit row %+v", row)
			}
		case "case.history.read":
			reads++
			if !slices.Contains([]string(row.Fields), "person.document_number") || !slices.Contains([]string(row.Fields), "reason") {
				t.Errorf("history read audited with %v", row.Fields)
			}
		}
	}
	if corrections != 1 || reads != 1 {
		t.Errorf("%d case.correct and %d case.history.read rows, want 1 and 1", corrections, reads)
	}

	// Nothing in clear: not the old or new values, not the reason.
	var sealed struct {
		Previous []byte `db:"previous_values"`
		New      []byte `db:"new_values"`
		Reason   []byte `db:"reason"`
	}
	testenv.Must(t, sys.Store.DB().Get(&sealed, `SELECT previous_values, new_values, reason FROM case_corrections WHERE case_id = $1`, k.ID))
	for _, secret := range []string{"Berdiyewa", "12345", "99365000000", "passport", "Berdiýewa"} {
		for _, col := range [][]byte{sealed.Previous, sealed.New, sealed.Reason} {
			if bytes.Contains(col, []byte(secret)) {
				t.Errorf("case_corrections holds %q in clear", secret)
			}
		}
	}
	// The audit log names fields, never values.
	var leaked int
	testenv.Must(t, sys.Store.DB().Get(&leaked, `SELECT count(*) FROM audit_log WHERE fields::text LIKE '%12345%' OR action LIKE '%12345%'`))
	if leaked != 0 {
		t.Errorf("%d audit rows hold the document number", leaked)
	}

	// A patch that changes nothing records nothing.
	mustStatus(t, "a patch to the same values", patch(t, officer, path, map[string]any{"reason": "check", "family_name": "Berdiýewa"}, nil), http.StatusOK)
	if n := len(readHistory(t, officer, k.ID).Corrections); n != 1 {
		t.Errorf("%d corrections after a patch that changes nothing, want 1", n)
	}
}

// The case's own fields: the encounter, the exploitation, the urgent needs
// and the countries; the indicators are never rewritten.
func TestCorrectCaseFields(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	authority := anon.Login(t, "decider@authority.example")
	k := openWith(t, officer, nil)
	before := readCase(t, officer, k.ID)

	var out correctedCase
	st := patch(t, authority, "/api/v1/cases/"+k.ID, map[string]any{
		"reason":                 "The person told us more at the shelter",
		"encounter":              map[string]any{"place": "Farap border post", "context": "outreach"},
		"exploitation":           []string{"labour", "domestic_servitude"},
		"urgent_needs":           nil,
		"exploitation_countries": []string{"TR", "AE"},
		"transit_countries":      []string{"UZ"},
	}, &out)
	mustStatus(t, "correct the case (the competent authority)", st, http.StatusOK)
	if !slices.Equal(out.Exploitation, []string{"labour", "domestic_servitude"}) || len(out.UrgentNeeds) != 0 ||
		!slices.Equal(out.ExploitationCountries, []string{"TR", "AE"}) || !slices.Equal(out.TransitCountries, []string{"UZ"}) {
		t.Errorf("answer %+v", out)
	}
	after := readCase(t, officer, k.ID)
	if after.Person == nil || after.Person.Place != "Farap border post" {
		t.Errorf("place after the correction: %+v", after.Person)
	}
	if !slices.Equal(after.Indicators, before.Indicators) {
		t.Errorf("indicators changed: %v → %v", before.Indicators, after.Indicators)
	}
	h := readHistory(t, officer, k.ID)
	want := []string{"encounter.place", "encounter.context", "exploitation", "urgent_needs", "exploitation_countries", "transit_countries"}
	if len(h.Corrections) != 1 || !slices.Equal(h.Corrections[0].Fields, want) || h.Corrections[0].Role != "competent_authority" {
		t.Fatalf("history %+v, want one correction of %v by the authority", h, want)
	}
	for _, ch := range h.Corrections[0].Changes {
		if ch.Field == "exploitation_countries" && (string(ch.From) != "[]" || string(ch.To) != `["TR","AE"]`) {
			t.Errorf("countries %s → %s", ch.From, ch.To)
		}
	}
}

// Bad input answers a clear 4xx and changes nothing: an unknown field, no
// reason, another media type, the region, a country that does not exist, a
// required field removed, a wrong type, another agency's case, a role that
// may not correct, a correction that would change the track.
func TestCorrectionRefusals(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	foreign := anon.Login(t, "officer@dashoguz-police.example")
	provider := anon.Login(t, "shelter@lebap-shelter.example")
	twg := anon.Login(t, "twg@twg.example")
	k := openWith(t, officer, nil)
	person, kase := "/api/v1/cases/"+k.ID+"/person", "/api/v1/cases/"+k.ID
	snapshot := func() string {
		c := readCase(t, officer, k.ID)
		data, _ := json.Marshal(c)
		return string(data)
	}
	start := snapshot()
	auditsBefore := auditActions(t, sys, "case.correct")

	for _, c := range []struct {
		name   string
		path   string
		body   any
		status int
		want   []string // "field rule" of a 422, or the rule of a 409
	}{
		{"an unknown field", person, map[string]any{"reason": "x", "given_name": "Ayna", "nickname": "A"}, 422, []string{"nickname unknown_field"}},
		{"a screening field that is not correctable", kase, map[string]any{"reason": "x", "indicators": []string{"debt_bondage"}}, 422, []string{"indicators unknown_field"}},
		{"no reason", person, map[string]any{"given_name": "Ayna"}, 422, []string{"reason required"}},
		{"a blank reason", person, map[string]any{"reason": "  ", "given_name": "Ayna"}, 422, []string{"reason required"}},
		{"the reason removed", person, map[string]any{"reason": nil, "given_name": "Ayna"}, 422, []string{"reason required"}},
		{"the region", kase, map[string]any{"reason": "x", "encounter": map[string]any{"region": "ahal"}}, 422, []string{"encounter.region not_correctable"}},
		{"the encounter removed", kase, map[string]any{"reason": "x", "encounter": nil}, 422, []string{"encounter required"}},
		{"a country that does not exist", kase, map[string]any{"reason": "x", "exploitation_countries": []string{"TR", "XX"}}, 422, []string{"exploitation_countries[1] country"}},
		{"a country in lower case", kase, map[string]any{"reason": "x", "transit_countries": []string{"uz"}}, 422, []string{"transit_countries[0] uppercase"}},
		{"a type of exploitation the screening does not know", kase, map[string]any{"reason": "x", "exploitation": []string{"theft"}}, 422, []string{"exploitation[0] oneof"}},
		{"an urgent need the SOP does not list", kase, map[string]any{"reason": "x", "urgent_needs": []string{"spa"}}, 422, []string{"urgent_needs[0] sop_service"}},
		{"the given name removed", person, map[string]any{"reason": "x", "given_name": nil}, 422, []string{"given_name required"}},
		{"a sex that is not one", person, map[string]any{"reason": "x", "sex": "f"}, 422, []string{"sex oneof"}},
		{"a birth date in the future", person, map[string]any{"reason": "x", "birth_date": "2999-01-01"}, 422, []string{"birth_date not_future"}},
		{"an age estimate beside the birth date", person, map[string]any{"reason": "x", "age_estimate": 30}, 422, []string{"age_estimate excluded_with"}},
		{"a wrong type", person, map[string]any{"reason": "x", "languages": "tk"}, 422, []string{"languages type"}},
		{"an encounter in the future", kase, map[string]any{"reason": "x", "encounter": map[string]any{"occurred_at": "2999-01-01T10:00:00+05:00"}}, 422, []string{"encounter.occurred_at not_future"}},
		{"a child's age for an adult", person, map[string]any{"reason": "x", "birth_date": "2015-01-01"}, 409, []string{"track_change"}},
		{"an unknown age for an adult", person, map[string]any{"reason": "x", "birth_date": nil}, 409, []string{"track_change"}},
	} {
		var p problemBody
		st := patch(t, officer, c.path, c.body, &p)
		if st != c.status {
			t.Errorf("%s: %d %+v, want %d", c.name, st, p, c.status)
			continue
		}
		if c.status == 409 {
			if p.Rule != c.want[0] {
				t.Errorf("%s: rule %q, want %q", c.name, p.Rule, c.want[0])
			}
			continue
		}
		if got := fieldRules(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: errors %v, want %v", c.name, got, c.want)
		}
	}
	// Other media types, the wrong callers.
	resp := officer.Raw(t, "PATCH", person, map[string]any{"reason": "x", "given_name": "Ayna"}, nil) // application/json
	resp.Body.Close()
	mustStatus(t, "a patch sent as application/json", resp.StatusCode, http.StatusUnsupportedMediaType)
	resp = officer.Raw(t, "PATCH", person, []byte(`{"reason": "x", "given_name": `), mergePatch)
	resp.Body.Close()
	mustStatus(t, "malformed JSON", resp.StatusCode, http.StatusBadRequest)
	mustStatus(t, "another agency's case", patch(t, foreign, person, map[string]any{"reason": "x", "given_name": "Ayna"}, nil), http.StatusNotFound)
	mustStatus(t, "another agency's case, bad body", patch(t, foreign, kase, map[string]any{"nickname": 1}, nil), http.StatusNotFound)
	mustStatus(t, "another agency's history", foreign.Do(t, "GET", kase+"/history", nil, nil), http.StatusNotFound)
	mustStatus(t, "a provider", patch(t, provider, person, map[string]any{"reason": "x", "given_name": "Ayna"}, nil), http.StatusForbidden)
	mustStatus(t, "the TWG", patch(t, twg, kase, map[string]any{"reason": "x"}, nil), http.StatusForbidden)
	mustStatus(t, "the TWG's history", twg.Do(t, "GET", kase+"/history", nil, nil), http.StatusForbidden)

	if after := snapshot(); after != start {
		t.Errorf("refused corrections changed the case:\n%s\n%s", start, after)
	}
	if n := len(readHistory(t, officer, k.ID).Corrections); n != 0 {
		t.Errorf("%d corrections recorded by refused requests", n)
	}
	if n := auditActions(t, sys, "case.correct") - auditsBefore; n != 0 {
		t.Errorf("%d case.correct audit rows for refused requests", n)
	}
}

// Corrections sent at the same time are all recorded, one after the other,
// each applied to what the one before left.
func TestConcurrentCorrections(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	k := openWith(t, officer, nil)
	bodies := []map[string]any{
		{"reason": "one", "phone": "+99361000001"},
		{"reason": "two", "family_name": "Annaýewa"},
		{"reason": "three", "languages": []string{"tk", "ru", "en"}},
		{"reason": "four", "document_number": "I-AŞ 999999"},
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(bodies))
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = patch(t, officer, "/api/v1/cases/"+k.ID+"/person", b, nil)
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Errorf("correction %d: %d", i, st)
		}
	}
	p := readCase(t, officer, k.ID).Person
	if p.Phone != "+99361000001" || p.FamilyName != "Annaýewa" || !slices.Equal(p.Languages, []string{"tk", "ru", "en"}) || p.DocumentNumber != "I-AŞ 999999" {
		t.Errorf("person after concurrent corrections: %+v (one was lost)", p)
	}
	h := readHistory(t, officer, k.ID)
	var seqs []int
	for _, c := range h.Corrections {
		seqs = append(seqs, c.Seq)
	}
	if !slices.Equal(seqs, []int{1, 2, 3, 4}) {
		t.Errorf("corrections numbered %v, want 1 to 4", seqs)
	}
}

// After the identity is erased, the history keeps who, when and what, but
// its values and reasons are gone with the key, and no new correction can
// be recorded.
func TestCorrectionsAfterErasure(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	authority := anon.Login(t, "decider@authority.example")
	k := openWith(t, officer, nil)
	mustStatus(t, "correct", patch(t, officer, "/api/v1/cases/"+k.ID+"/person", map[string]any{"reason": "typo", "given_name": "Aýnagül"}, nil), http.StatusOK)
	mustStatus(t, "erase", authority.Do(t, "POST", "/api/v1/cases/"+k.ID+"/erasure", map[string]any{"reason": "court_order", "order": "No. 7/2026"}, nil), http.StatusOK)

	h := readHistory(t, authority, k.ID)
	if len(h.Corrections) != 1 || h.Corrections[0].Reason != nil || h.Corrections[0].Changes != nil ||
		!slices.Equal(h.Corrections[0].Fields, []string{"person.given_name"}) {
		t.Errorf("history after erasure %+v: who and what, no values", h)
	}
	var p problemBody
	mustStatus(t, "correct after erasure", patch(t, officer, "/api/v1/cases/"+k.ID, map[string]any{"reason": "x", "exploitation": []string{"sexual"}}, &p), http.StatusConflict)
	if p.Rule != "identity_gone" {
		t.Errorf("rule %q, want identity_gone", p.Rule)
	}
	if fmt.Sprint(readCase(t, officer, k.ID).Exploitation) != "[labour]" {
		t.Errorf("a refused correction changed the exploitation")
	}
}
