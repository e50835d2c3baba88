package sop

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DimensionResult is how one screening dimension scored.
type DimensionResult struct {
	Positive             bool
	Strong, Medium, Weak int      // observed indicators of the dimension by strength
	Rule                 string   // the first dimension_positive rule that held, e.g. "strong:1+medium:1"; "" if none
	Indicators           []string // the observed indicators of the dimension, in catalogue order
}

// ScreeningResult is the outcome of the SOP's screening rule.
type ScreeningResult struct {
	Outcome    string // OutcomePresumedVictim or OutcomeNotIndicated
	Track      string // TrackAdult or TrackChild
	Dimensions map[string]DimensionResult
}

// UnknownIndicatorError is the error of Score for an indicator ID that is not
// in the SOP's catalogue.
type UnknownIndicatorError struct {
	ID string
}

func (e *UnknownIndicatorError) Error() string {
	return fmt.Sprintf("unknown indicator %q", e.ID)
}

// Score applies the SOP's screening rule to the observed indicators.
//
// A dimension is positive when at least one rule of dimension_positive holds
// for the counts of its observed indicators by strength. A rule holds when
// every count it names is reached by indicators of exactly that strength (a
// strong indicator does not stand in for a medium one). The person is a
// presumed victim when, for every group of the track's presumed_victim list,
// at least one dimension of the group is positive; a track without groups
// never yields a presumed victim.
//
// Repeated indicator IDs count once; an unknown ID is an
// *UnknownIndicatorError naming it. The result has an entry for every
// dimension of the SOP and does not depend on the order of indicators.
func (s *SOP) Score(indicators []string, child bool) (ScreeningResult, error) {
	observed := make(map[string]bool, len(indicators))
	for _, id := range indicators {
		if _, ok := s.Indicator(id); !ok {
			return ScreeningResult{}, &UnknownIndicatorError{ID: id}
		}
		observed[id] = true
	}
	res := ScreeningResult{Track: TrackAdult, Outcome: OutcomeNotIndicated, Dimensions: map[string]DimensionResult{}}
	for _, d := range s.Dimensions {
		res.Dimensions[d.ID] = DimensionResult{}
	}
	for _, ind := range s.Indicators {
		if !observed[ind.ID] {
			continue
		}
		r := res.Dimensions[ind.Dimension]
		switch ind.Strength {
		case StrengthStrong:
			r.Strong++
		case StrengthMedium:
			r.Medium++
		case StrengthWeak:
			r.Weak++
		}
		r.Indicators = append(r.Indicators, ind.ID)
		res.Dimensions[ind.Dimension] = r
	}
	for id, r := range res.Dimensions {
		for _, rule := range s.Screening.DimensionPositive {
			if rule.holds(r) {
				r.Positive, r.Rule = true, rule.String()
				break
			}
		}
		res.Dimensions[id] = r
	}
	groups := s.Screening.PresumedVictim.Adult
	if child {
		res.Track, groups = TrackChild, s.Screening.PresumedVictim.Child
	}
	if len(groups) == 0 {
		return res, nil
	}
	for _, g := range groups {
		positive := false
		for _, d := range g {
			if res.Dimensions[d].Positive {
				positive = true
				break
			}
		}
		if !positive {
			return res, nil
		}
	}
	res.Outcome = OutcomePresumedVictim
	return res, nil
}

// holds reports whether the counts reach every minimum of the rule. A rule
// naming no known strength never holds.
func (r Rule) holds(d DimensionResult) bool {
	named := false
	for k, want := range r {
		var have int
		switch k {
		case StrengthStrong:
			have = d.Strong
		case StrengthMedium:
			have = d.Medium
		case StrengthWeak:
			have = d.Weak
		default:
			return false
		}
		named = true
		if have < want {
			return false
		}
	}
	return named
}

// String formats the rule as "strong:1+medium:1", strongest first.
func (r Rule) String() string {
	var parts []string
	for _, st := range Strengths {
		if n, ok := r[st]; ok {
			parts = append(parts, st+":"+strconv.Itoa(n))
		}
	}
	var other []string
	for k, n := range r {
		if k != StrengthStrong && k != StrengthMedium && k != StrengthWeak {
			other = append(other, k+":"+strconv.Itoa(n))
		}
	}
	sort.Strings(other)
	return strings.Join(append(parts, other...), "+")
}
