package cases

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/workflows"
)

// TestUnknownCodesAreValidationErrors: a code the case's SOP does not list
// is a 422 naming the field, found before the workflow is asked; a known
// code passes, whatever the case's state (the workflow judges that: 409).
func TestUnknownCodesAreValidationErrors(t *testing.T) {
	procedure, err := sop.LoadFile(filepath.Join("..", "..", "sop", "tm-nrm-2026.2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	refuses := func(name string, err error, field string) {
		t.Helper()
		var v *ValidationError
		if !errors.As(err, &v) || len(v.Errors) != 1 || v.Errors[0].Field != field {
			t.Errorf("%s: %v, want a ValidationError naming %s alone", name, err, field)
			return
		}
		if e := v.Errors[0]; e.Rule == "oneof" && !strings.HasPrefix(e.Message, "must be one of: ") || e.Rule == "" {
			t.Errorf("%s: %+v, want rule oneof listing the SOP's codes (or max)", name, e)
		}
	}
	refuses("unknown service", checkCommand(procedure, workflows.ReferCommand{Service: "spa"}), "service")
	refuses("unknown closure reason", checkCommand(procedure, workflows.ClosureCommand{Reason: "bored"}), "reason")
	refuses("extension beyond max_extension", checkCommand(procedure, workflows.ExtendRecoveryCommand{Days: procedure.RecoveryMaxExtensionDays + 1}), "days")
	refuses("unknown decline reason", checkAnswer(procedure, workflows.UpdateDecline, workflows.AnswerCommand{Reason: "bored"}), "reason")
	refuses("unknown completion outcome", checkAnswer(procedure, workflows.UpdateComplete, workflows.AnswerCommand{Outcome: "done"}), "outcome")

	for name, err := range map[string]error{
		"service":          checkCommand(procedure, workflows.ReferCommand{Service: procedure.Services[0].ID}),
		"closure reason":   checkCommand(procedure, workflows.ClosureCommand{Reason: procedure.ClosureReasons[0]}),
		"extension":        checkCommand(procedure, workflows.ExtendRecoveryCommand{Days: procedure.RecoveryMaxExtensionDays}),
		"decision":         checkCommand(procedure, workflows.DecideCommand{Kind: "preliminary", Outcome: "positive"}),
		"decline reason":   checkAnswer(procedure, workflows.UpdateDecline, workflows.AnswerCommand{Reason: procedure.DeclineReasons[0]}),
		"outcome":          checkAnswer(procedure, workflows.UpdateComplete, workflows.AnswerCommand{Outcome: procedure.CompletionOutcomes[0]}),
		"accept":           checkAnswer(procedure, workflows.UpdateAccept, workflows.AnswerCommand{}),
		"no SOP to check":  checkCommand(nil, workflows.ReferCommand{Service: "spa"}),
		"no SOP to answer": checkAnswer(nil, workflows.UpdateDecline, workflows.AnswerCommand{Reason: "bored"}),
	} {
		if err != nil {
			t.Errorf("known %s refused: %v", name, err)
		}
	}
}
