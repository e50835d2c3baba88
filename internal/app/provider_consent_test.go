package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// providerView is what a provider reads of a referral's person.
type providerView struct {
	Person struct {
		GivenName *string  `json:"given_name"`
		Languages []string `json:"languages"`
		AgeBand   string   `json:"age_band"`
	} `json:"person"`
}

// A provider gets the person's name only with their consent to sharing
// their data with other agencies — the last consent recorded counts —
// and otherwise only what the service needs.
func TestProviderSeesTheNameOnlyWithConsentToDataSharing(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	shelter := testenv.NewClient(sys).Login(t, "shelter@lebap-shelter.example")
	body := testenv.Screening()
	body["consent"] = map[string]bool{"referral": true, "data_sharing": false}
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", body, &opened), http.StatusCreated)
	base := "/api/v1/cases/" + opened.ID
	mustStatus(t, "refer", officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter"}, nil), http.StatusCreated)
	var inbox struct {
		Referrals []struct {
			ID string `json:"id"`
		} `json:"referrals"`
	}
	testenv.Eventually(t, 20*time.Second, "the referral reaches the shelter", func() bool {
		mustStatus(t, "inbox", shelter.Do(t, "GET", "/api/v1/referrals", nil, &inbox), http.StatusOK)
		return len(inbox.Referrals) == 1
	})
	ref := "/api/v1/referrals/" + inbox.Referrals[0].ID

	var v providerView
	mustStatus(t, "read without sharing consent", shelter.Do(t, "GET", ref, nil, &v), http.StatusOK)
	if v.Person.GivenName != nil || len(v.Person.Languages) == 0 || v.Person.AgeBand == "" {
		t.Errorf("without consent to data sharing the provider reads name %v, languages %v, age band %q; want no name, the rest",
			v.Person.GivenName, v.Person.Languages, v.Person.AgeBand)
	}
	var fields []string
	testenv.Must(t, sys.Store.DB().Select(&fields, `SELECT unnest(fields) FROM audit_log WHERE case_id = $1 AND action = 'referral.identity.read'`, opened.ID))
	if len(fields) != 1 || fields[0] != "languages" {
		t.Errorf("the read is audited with fields %v, want [languages]", fields)
	}

	// The person agrees later: the provider now reads the name.
	mustStatus(t, "consent", officer.Do(t, "POST", base+"/consent", map[string]bool{"referral": true, "data_sharing": true}, nil), http.StatusOK)
	v = providerView{}
	mustStatus(t, "read with sharing consent", shelter.Do(t, "GET", ref, nil, &v), http.StatusOK)
	if v.Person.GivenName == nil || *v.Person.GivenName != "Aýna" {
		t.Errorf("with consent to data sharing the provider reads name %v, want Aýna", v.Person.GivenName)
	}

	// And takes it back: the name is withheld again.
	mustStatus(t, "consent withdrawn from sharing", officer.Do(t, "POST", base+"/consent", map[string]bool{"referral": true, "data_sharing": false}, nil), http.StatusOK)
	v = providerView{}
	mustStatus(t, "read after sharing refused", shelter.Do(t, "GET", ref, nil, &v), http.StatusOK)
	if v.Person.GivenName != nil {
		t.Errorf("after data sharing was refused again the provider reads the name")
	}
}
