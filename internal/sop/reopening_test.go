package sop

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The versions in force carry no reopening key: they keep their hash (the
// content cases were opened under is pinned by it) and get the defaults.
func TestReopeningDefaultsKeepTheVersionsInForce(t *testing.T) {
	pinned := map[string]string{
		"tm-nrm-2026.1.yaml": "5c2c0bc6bd6f9ded0cd7351b4ad59f332885605c826c14232bc71a61bc8cf4d3",
		"tm-nrm-2026.2.yaml": "07c7c627585e575ef7acf5d060cbc5348f554c96c88bbdc9299d41640fdb005d",
	}
	for file, hash := range pinned {
		s, err := LoadFile(filepath.Join("..", "..", "sop", file))
		if err != nil {
			t.Fatal(err)
		}
		if s.Hash != hash {
			t.Errorf("%s: hash %s, want the pinned %s", file, s.Hash, hash)
		}
		for reason, want := range map[string]string{ReopenReTrafficked: StageIdentification,
			ReopenNewInformation: StageIdentification, ReopenDecisionOverturned: StageRecovery} {
			if got := s.ReopenStage(reason); got != want {
				t.Errorf("%s: %s reopens in %q, want the default %q", file, reason, got, want)
			}
		}
		if got := s.ReopenStage("bored"); got != "" {
			t.Errorf("%s: an unknown reason reopens in %q", file, got)
		}
	}
}

// reopeningVersion is the seconds-scale test SOP published as another
// version with a reopening key.
func reopeningVersion(t *testing.T, key string) string {
	t.Helper()
	text := readFile(t, filepath.Join("testdata", "fast.yaml"))
	if strings.Count(text, "\nversion: ") != 1 || strings.Contains(text, "\nreopening:") {
		t.Fatal("fast.yaml changed shape")
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "version: ") {
			lines[i] = `version: "test.reopening"`
		}
	}
	return strings.Join(lines, "\n") + "\n" + key
}

func TestReopeningKey(t *testing.T) {
	s, err := Parse("reopening.yaml", []byte(reopeningVersion(t, "reopening:\n  re_trafficked: recovery\n  decision_overturned: identification\n")))
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]string{ReopenReTrafficked: StageRecovery, ReopenNewInformation: StageIdentification,
		ReopenDecisionOverturned: StageIdentification} {
		if got := s.ReopenStage(reason); got != want {
			t.Errorf("%s reopens in %q, want %q", reason, got, want)
		}
	}

	for _, c := range []struct {
		name, key string
		rule      string
	}{
		{"an unknown reason", "reopening:\n  bored: identification\n", RuleUnknownKey},
		{"a stage no case reopens in", "reopening:\n  re_trafficked: closed\n", RuleBadValue},
		{"assistance", "reopening:\n  new_information: assistance\n", RuleBadValue},
		{"no stage", "reopening:\n  new_information:\n", RuleBadValue},
		{"not a mapping", "reopening: [identification]\n", RuleBadValue},
		{"a reason twice", "reopening:\n  re_trafficked: recovery\n  re_trafficked: identification\n", RuleDuplicateKey},
	} {
		text := reopeningVersion(t, c.key)
		got := problemsOf(t, "reopening.yaml", text)
		line := strings.Count(text[:strings.LastIndex(text, "reopening:")], "\n") + 1
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasSuffix(p, " "+c.rule) }) {
			t.Errorf("%s: problems %v, want %s", c.name, got, c.rule)
		}
		for _, p := range got {
			var l int
			var rule string
			if _, err := fmt.Sscan(p, &l, &rule); err != nil || l < line {
				t.Errorf("%s: problem %q outside the reopening key (from line %d)", c.name, p, line)
			}
		}
	}
}
