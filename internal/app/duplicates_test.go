package app_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// A person screened again and again: each new case is matched against the
// cases.DuplicatesChecked most recent earlier ones only — the officer who
// may see them is told of those, the competent authority notified of each —
// so the check costs the same on the twentieth screening as on the second.
func TestRepeatedPersonChecksTheMostRecentCases(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	var ids []string
	var last duplicateAnswer
	for range cases.DuplicatesChecked + 3 {
		last = duplicateAnswer{}
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &last), http.StatusCreated)
		ids = append(ids, last.ID)
	}
	newest := ids[len(ids)-1]
	want := slices.Clone(ids[len(ids)-1-cases.DuplicatesChecked : len(ids)-1])
	slices.Sort(want)
	if last.PossibleDuplicate == nil {
		t.Fatalf("the officer is told of no earlier case of the person")
	}
	var told []string
	for _, c := range last.PossibleDuplicate.Cases {
		told = append(told, c.ID)
	}
	slices.Sort(told)
	if !slices.Equal(told, want) {
		t.Errorf("the officer is told of %v, want the %d most recent earlier cases %v", told, cases.DuplicatesChecked, want)
	}
	var inbox notificationAnswer
	mustStatus(t, "authority's notifications", decider.Do(t, "GET", "/api/v1/notifications?limit=200", nil, &inbox), http.StatusOK)
	var related []string
	for _, n := range inbox.Notifications {
		if n.Kind == "possible_duplicate" && n.CaseID == newest && n.RelatedCaseID != nil {
			related = append(related, *n.RelatedCaseID)
		}
	}
	slices.Sort(related)
	if !slices.Equal(related, want) {
		t.Errorf("the authority is notified of %v for the newest case, want the %d most recent earlier cases %v", related, cases.DuplicatesChecked, want)
	}
}
