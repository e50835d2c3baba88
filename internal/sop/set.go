package sop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Set holds the versions of one SOP.
type Set struct {
	sops []*SOP // sorted by EffectiveFrom
}

// LoadPath loads one SOP file, or every *.yaml and *.yml file of a folder
// (not its subfolders). Validation problems of all files, and duplicate
// versions across them, are returned together as one *Error.
func LoadPath(path string) (*Set, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = nil
		for _, e := range entries {
			name := e.Name()
			if !e.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
				files = append(files, filepath.Join(path, name))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no SOP files (*.yaml)", path)
		}
	}
	var sops []*SOP
	var problems []Problem
	for _, f := range files {
		s, err := LoadFile(f)
		var perr *Error
		switch {
		case errors.As(err, &perr):
			problems = append(problems, perr.Problems...)
		case err != nil:
			return nil, err
		default:
			sops = append(sops, s)
		}
	}
	set, err := NewSet(sops...)
	var perr *Error
	if errors.As(err, &perr) {
		problems = append(problems, perr.Problems...)
	} else if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Error{Problems: problems}
	}
	return set, nil
}

// NewSet makes a set of versions of one SOP. Two versions with the same
// version string or the same effective_from, or versions of different SOPs,
// are an *Error.
func NewSet(sops ...*SOP) (*Set, error) {
	set := &Set{}
	var problems []Problem
	byVersion := map[string]*SOP{}
	byDate := map[time.Time]*SOP{}
	for _, s := range sops {
		if s == nil {
			return nil, errors.New("sop: NewSet: nil SOP")
		}
		line := max(s.versionLine, 1)
		if len(set.sops) > 0 && s.ID != set.sops[0].ID {
			problems = append(problems, Problem{File: s.File, Line: line, Rule: RuleMixedSOP,
				Message: fmt.Sprintf("SOP %q cannot share a set with SOP %q (%s)", s.ID, set.sops[0].ID, set.sops[0].File)})
			continue
		}
		if other, dup := byVersion[s.Version]; dup {
			problems = append(problems, Problem{File: s.File, Line: line, Rule: RuleDuplicateVersion,
				Message: fmt.Sprintf("version %q of %s is also in %s", s.Version, s.ID, other.File)})
			continue
		}
		day := s.EffectiveFrom.UTC()
		if other, dup := byDate[day]; dup {
			problems = append(problems, Problem{File: s.File, Line: line, Rule: RuleAmbiguousEffectiveFrom,
				Message: fmt.Sprintf("version %q takes effect at the same time as version %q (%s)", s.Version, other.Version, other.File)})
			continue
		}
		byVersion[s.Version], byDate[day] = s, s
		set.sops = append(set.sops, s)
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Error{Problems: problems}
	}
	sort.SliceStable(set.sops, func(i, j int) bool { return set.sops[i].EffectiveFrom.Before(set.sops[j].EffectiveFrom) })
	return set, nil
}

// Get returns the version with that version string.
func (s *Set) Get(version string) (*SOP, bool) {
	for _, x := range s.sops {
		if x.Version == version {
			return x, true
		}
	}
	return nil, false
}

// Active returns the version in effect at now: the one with the latest
// effective_from not after now.
func (s *Set) Active(now time.Time) (*SOP, error) {
	for i := len(s.sops) - 1; i >= 0; i-- {
		if !s.sops[i].EffectiveFrom.After(now) {
			return s.sops[i], nil
		}
	}
	if len(s.sops) == 0 {
		return nil, errors.New("sop: no SOP versions loaded")
	}
	return nil, fmt.Errorf("sop: no SOP version is in effect at %s (the first, %s, takes effect at %s)",
		now.Format(time.RFC3339), s.sops[0].Version, s.sops[0].EffectiveFrom.Format(time.RFC3339))
}

// All returns the versions sorted by effective_from, oldest first.
func (s *Set) All() []*SOP {
	return append([]*SOP(nil), s.sops...)
}
