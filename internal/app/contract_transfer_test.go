package app_test

import (
	"net/http"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// contractTransfer exercises the transfer, the reopening and links for
// TestContractOpenAPI (its clients check every exchange against the
// document): each answers its 2xx and its usual refusals.
func contractTransfer(t *testing.T, officer, supervisor, decider *testenv.Client, hotline string) {
	t.Helper()
	open := func() string {
		var c caseBody
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
		return "/api/v1/cases/" + c.ID
	}
	moved := open()
	mustStatus(t, "transfer to no agency", supervisor.Do(t, "POST", moved+"/transfer", map[string]string{"agency_id": "x", "reason": "r"}, nil), http.StatusUnprocessableEntity)
	mustStatus(t, "transfer to its agency", decider.Do(t, "POST", moved+"/transfer", map[string]string{"agency_id": officerAgency(t, officer), "reason": "r"}, nil), http.StatusConflict)
	mustStatus(t, "transfer", supervisor.Do(t, "POST", moved+"/transfer", map[string]string{"agency_id": hotline, "reason": "The person moved."}, nil), http.StatusOK)
	mustStatus(t, "transfer by the old agency", supervisor.Do(t, "POST", moved+"/transfer", map[string]string{"agency_id": hotline, "reason": "r"}, nil), http.StatusNotFound)

	closed := open()
	mustStatus(t, "reopen an open case", decider.Do(t, "POST", closed+"/reopen", map[string]string{"reason": "new_information"}, nil), http.StatusConflict)
	mustStatus(t, "withdraw", officer.Do(t, "POST", closed+"/consent/withdraw", map[string]string{"reason": "r"}, nil), http.StatusOK)
	mustStatus(t, "reopen for no reason", decider.Do(t, "POST", closed+"/reopen", map[string]string{"reason": "bored"}, nil), http.StatusUnprocessableEntity)
	mustStatus(t, "reopen", decider.Do(t, "POST", closed+"/reopen", map[string]string{"reason": "new_information", "note": "n"}, nil), http.StatusOK)

	earlier, later := open(), open()
	earlierID := earlier[len("/api/v1/cases/"):]
	mustStatus(t, "link to itself", officer.Do(t, "POST", earlier+"/links", map[string]any{"earlier_case_id": earlierID}, nil), http.StatusUnprocessableEntity)
	mustStatus(t, "link", officer.Do(t, "POST", later+"/links", map[string]any{"earlier_case_id": earlierID, "re_trafficked": true}, nil), http.StatusCreated)
	mustStatus(t, "link again", officer.Do(t, "POST", later+"/links", map[string]any{"earlier_case_id": earlierID}, nil), http.StatusConflict)
}

// officerAgency is the agency of a signed-in user.
func officerAgency(t *testing.T, c *testenv.Client) string {
	t.Helper()
	var me struct {
		AgencyID string `json:"agency_id"`
	}
	mustStatus(t, "me", c.Do(t, "GET", "/api/v1/me", nil, &me), http.StatusOK)
	return me.AgencyID
}
