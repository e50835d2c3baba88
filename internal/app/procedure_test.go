package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// TestRecoveryPeriodProtectsConclusiveDecisionOverHTTP: under an SOP whose
// recovery period forbids a conclusive decision (as sop/tm-nrm-2026.2.yaml
// does), the competent authority is answered 409 naming the period's rule
// while it runs, and the decision is taken once it has ended. The SOP is the
// seconds-scale test SOP published under another version with forbids.
func TestRecoveryPeriodProtectsConclusiveDecisionOverHTTP(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(testenv.FastSOP())
	testenv.Must(t, err)
	text := strings.Replace(string(data), `version: "test.fast"`, `version: "test.fast.protected"`, 1)
	text = strings.Replace(text, "    duration: 10s\n", "    duration: 10s\n    forbids: [conclusive_positive, conclusive_negative]\n", 1)
	if strings.Count(text, "forbids:") != 1 || !strings.Contains(text, "test.fast.protected") {
		t.Fatal("the test could not derive its SOP from the fast SOP")
	}
	file := filepath.Join(t.TempDir(), "protected.yaml")
	testenv.Must(t, os.WriteFile(file, []byte(text), 0o600))

	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = file
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")

	var c caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
	base := "/api/v1/cases/" + c.ID
	decided(t, decider, base, "preliminary", "positive")

	for _, outcome := range []string{"positive", "negative"} {
		var p problem
		st := decider.Do(t, "POST", base+"/decisions", decideBody("conclusive", outcome), &p)
		if st != http.StatusConflict || p.Rule != "recovery_period" || !strings.Contains(p.Type, "sop-rule") {
			t.Errorf("conclusive %s during the recovery period: %d %+v, want 409 with rule recovery_period", outcome, st, p)
		}
	}
	var during fullCase
	mustStatus(t, "case", officer.Do(t, "GET", base, nil, &during), http.StatusOK)
	if o := during.obligation("conclusive_decision"); during.Stage != workflows.StageRecovery || o == nil || o.Status != "pending" {
		t.Errorf("during the period: stage %s, conclusive decision %+v", during.Stage, o)
	}

	waitStage(t, officer, base, workflows.StageAssistance) // the period ends after 10s
	decided(t, decider, base, "conclusive", "positive")
}
