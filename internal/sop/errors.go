package sop

import (
	"fmt"
	"strings"
)

// Problem rules: short stable codes of validation problems.
const (
	RuleSyntax                 = "syntax"                  // not YAML, empty, or more than one document
	RuleUnknownKey             = "unknown_key"             // a key the format does not have
	RuleDuplicateKey           = "duplicate_key"           // a key twice in one mapping
	RuleMissingKey             = "missing_key"             // a required key, list entry or closure reason is missing
	RuleBadValue               = "bad_value"               // wrong YAML shape, not a number/boolean/date/time zone, out of range
	RuleBadID                  = "bad_id"                  // an ID that is not lower_snake_case
	RuleBadDuration            = "bad_duration"            // not 90s, 4h, 30d or 5wd
	RuleMissingTranslation     = "missing_translation"     // a label without en, ru or tk text
	RuleUnknownEvent           = "unknown_event"           // not one of Events
	RuleUnknownDimension       = "unknown_dimension"       // a dimension the SOP does not define
	RuleUnknownStrength        = "unknown_strength"        // not strong, medium or weak
	RuleUnknownRole            = "unknown_role"            // an owner or escalation role that does not exist
	RuleDuplicateID            = "duplicate_id"            // an ID (or weekday, holiday, closure reason) given twice
	RuleInconsistentObligation = "inconsistent_obligation" // an obligation whose fields contradict each other or the SOP
	RuleCycle                  = "cycle"                   // an obligation that can start or be met by itself
	RuleDuplicateVersion       = "duplicate_version"       // two files of a set with the same version
	RuleMixedSOP               = "mixed_sop"               // a set holding versions of different SOPs
	RuleAmbiguousEffectiveFrom = "ambiguous_effective_from"
)

// Problem is one validation problem of an SOP file.
type Problem struct {
	File    string
	Line    int
	Rule    string
	Message string
}

// String formats the problem as "file:line: rule: message".
func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Rule, p.Message)
}

// Error is the error of an SOP that does not validate: every problem found.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one "file:line: rule: message" per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
