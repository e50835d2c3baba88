package sop

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Reasons a closed case is reopened for (POST /api/v1/cases/{id}/reopen).
const (
	// ReopenReTrafficked: the person was trafficked again; the case keeps a
	// re-trafficking flag that the TWG's statistics count.
	ReopenReTrafficked = "re_trafficked"
	// ReopenNewInformation: something learnt after closure calls for the
	// identification to be taken up again.
	ReopenNewInformation = "new_information"
	// ReopenDecisionOverturned: a negative decision that closed the case was
	// overturned (on appeal, by a court): the person stands identified.
	ReopenDecisionOverturned = "decision_overturned"
)

// ReopenReasons lists the reasons, in the order forms offer them.
var ReopenReasons = []string{ReopenReTrafficked, ReopenNewInformation, ReopenDecisionOverturned}

// Stages a reopened case may start from (the workflow's stage names).
const (
	StageIdentification = "identification"
	StageRecovery       = "recovery"
)

// ReopenStages are the stages the optional key reopening may name: a new
// identification (its deadlines start as when the case was opened), or the
// recovery period with the preliminary decision standing positive (its
// obligations start as on preliminary_positive).
var ReopenStages = []string{StageIdentification, StageRecovery}

// DefaultReopening is the stage each reason starts from in a file without
// the key reopening, which every version written before the key existed is:
// a person trafficked again or new information is identified anew; an
// overturned decision counts as a positive preliminary decision, so the
// recovery period starts.
var DefaultReopening = map[string]string{
	ReopenReTrafficked:       StageIdentification,
	ReopenNewInformation:     StageIdentification,
	ReopenDecisionOverturned: StageRecovery,
}

// ReopenStage is the stage a case of this version reopened for reason
// starts from; "" for a reason that is not one of ReopenReasons.
func (s *SOP) ReopenStage(reason string) string {
	if st, ok := s.Reopening[reason]; ok {
		return st
	}
	return DefaultReopening[reason]
}

// reopening reads the optional key reopening: a mapping of reopen reasons
// to the stage each starts from. Reasons left out keep DefaultReopening.
// The key is optional so that the files already in force keep their
// meaning and their hash.
func (p *parser) reopening(s *SOP, n *yaml.Node) {
	s.Reopening = map[string]string{}
	for reason, stage := range DefaultReopening {
		s.Reopening[reason] = stage
	}
	const what = "reopening"
	if n == nil {
		return
	}
	m := p.mapping(n, what, ReopenReasons...)
	if m == nil {
		return
	}
	for _, reason := range ReopenReasons {
		v := m.get(reason)
		if v == nil {
			continue
		}
		stage, ok := p.scalar(v, what+" "+reason)
		if !ok {
			continue
		}
		if !slices.Contains(ReopenStages, stage) {
			p.add(v, RuleBadValue, "%s %s: %q is not a stage a reopened case starts from (%s)", what, reason, stage, strings.Join(ReopenStages, ", "))
			continue
		}
		s.Reopening[reason] = stage
	}
}
