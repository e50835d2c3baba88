package cases

import (
	"fmt"
	"strings"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// A code a command carries (a service, a closure or decline reason, a
// completion outcome) must be one the case's SOP lists: another is a bad
// request, answered 422 naming the field, whatever the case's state. The
// service checks it before anything is stored or sent to the workflow; the
// workflow keeps its own rules (unknown_service, bad_reason, …) as a second
// line, so that a 409 sop-rule only ever means that the procedure refuses
// a valid command now.

// procedureOf returns the SOP version the case follows, nil when this
// process has not loaded it (the workflow then decides alone).
func (s *Service) procedureOf(c *store.Case) *sop.SOP {
	if s.SOPs == nil {
		return nil
	}
	procedure, ok := s.SOPs.Get(c.SOPVersion)
	if !ok {
		if s.Log != nil {
			s.Log.Warn("the case's SOP version is not loaded: its codes are left to the workflow", "case_id", c.ID, "sop_version", c.SOPVersion)
		}
		return nil
	}
	return procedure
}

// checkCommand checks the codes of a case command's workflow argument
// against the case's SOP; nil when they are all known (or procedure is nil).
func checkCommand(procedure *sop.SOP, arg any) error {
	if procedure == nil {
		return nil
	}
	v := &ValidationError{}
	switch a := arg.(type) {
	case workflows.ReferCommand:
		checkService(procedure, a.Service, v)
	case workflows.ClosureCommand:
		oneOf(v, "reason", a.Reason, procedure.ClosureReasons)
	case workflows.ExtendRecoveryCommand:
		if most := procedure.RecoveryMaxExtensionDays; most > 0 && a.Days > most {
			v.add("days", "max", fmt.Sprintf("is longer or larger than %d (the max_extension of SOP %s)", most, procedure.Version))
		}
	}
	return v.orNil()
}

// checkAnswer checks the code of a provider's answer to a referral against
// the SOP of the referral's case.
func checkAnswer(procedure *sop.SOP, update string, cmd workflows.AnswerCommand) error {
	if procedure == nil {
		return nil
	}
	v := &ValidationError{}
	switch update {
	case workflows.UpdateDecline:
		oneOf(v, "reason", cmd.Reason, procedure.DeclineReasons)
	case workflows.UpdateComplete:
		oneOf(v, "outcome", cmd.Outcome, procedure.CompletionOutcomes)
	}
	return v.orNil()
}

func checkService(procedure *sop.SOP, service string, v *ValidationError) {
	ids := make([]string, 0, len(procedure.Services))
	for _, svc := range procedure.Services {
		ids = append(ids, svc.ID)
	}
	oneOf(v, "service", service, ids)
}

// oneOf adds the rule "oneof" on field unless value is one of allowed; the
// message lists them.
func oneOf(v *ValidationError, field, value string, allowed []string) {
	for _, a := range allowed {
		if a == value {
			return
		}
	}
	v.add(field, "oneof", "must be one of: "+strings.Join(allowed, ", "))
}

// orNil is v as an error, nil when it lists nothing.
func (e *ValidationError) orNil() error {
	if len(e.Errors) == 0 {
		return nil
	}
	return e
}
