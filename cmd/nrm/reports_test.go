package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestSeedAndSimulateCommands seeds a synthetic history, then simulates a
// draft SOP whose preliminary decision is due in 2 working days instead of
// 5: no more of its instances can be on time under the draft than under
// the recorded versions, and the other obligations are unchanged.
func TestSeedAndSimulateCommands(t *testing.T) {
	url := testenv.Database(t)
	sopDir := filepath.Join(testenv.RepoRoot(), "sop")
	common := []string{"--database-url", url, "--log-level", "error"}

	code, out, errb := runCmd(t, append([]string{"seed", "synthetic", "--cases", "400", "--seed", "5", "--until", "2026-11-20", "--sop", sopDir}, common...)...)
	if code != 0 || !strings.HasPrefix(out, "seeded 400 cases") {
		t.Fatalf("seed: exit %d, stdout %q, stderr %q", code, out, errb)
	}

	base, err := os.ReadFile(filepath.Join(sopDir, "tm-nrm-2026.1.yaml"))
	testenv.Must(t, err)
	draft := strings.Replace(string(base), `version: "2026.1"`, `version: "2027.1-draft"`, 1)
	draft = strings.Replace(draft, "met_by: [preliminary_positive, preliminary_negative]\n    due: 5wd\n    remind: [3wd]",
		"met_by: [preliminary_positive, preliminary_negative]\n    due: 2wd\n    remind: [1wd]", 1)
	if draft == string(base) || !strings.Contains(draft, "due: 2wd") {
		t.Fatal("the test could not derive a draft from the SOP file")
	}
	draftFile := filepath.Join(t.TempDir(), "draft.yaml")
	testenv.Must(t, os.WriteFile(draftFile, []byte(draft), 0o600))

	// In `sop simulate`, --sop is the candidate; --recorded the versions in force.
	common = append(common, "--recorded", sopDir)
	same := strings.Replace(string(base), `version: "2026.1"`, `version: "2027.1-same"`, 1)
	sameFile := filepath.Join(t.TempDir(), "same.yaml")
	testenv.Must(t, os.WriteFile(sameFile, []byte(same), 0o600))

	draftRows := simulate(t, common, draftFile, "2027.1-draft")
	sameRows := simulate(t, common, sameFile, "2027.1-same")
	if len(draftRows) == 0 || len(draftRows) != len(sameRows) {
		t.Fatalf("%d obligations under the draft, %d under the unchanged copy", len(draftRows), len(sameRows))
	}
	for o, d := range draftRows {
		u := sameRows[o]
		if o != "preliminary_decision" {
			if fmt.Sprint(d) != fmt.Sprint(u) {
				t.Errorf("%s changed although its deadline did not:\n draft %v\n same  %v", o, d, u)
			}
			continue
		}
		if d["instances"] != u["instances"] || d["instances"] == nil {
			t.Errorf("preliminary_decision instances %v vs %v", d["instances"], u["instances"])
		}
		dOn, _ := d["met_on_time"].(float64)
		uOn, _ := u["met_on_time"].(float64)
		if !(dOn < uOn) {
			t.Errorf("preliminary decisions on time: %v within 2 working days, %v within 5; want fewer", d["met_on_time"], u["met_on_time"])
		}
	}

	code, out, _ = runCmd(t, append([]string{"sop", "simulate", "--sop", draftFile, "--from", "2025-01", "--to", "2026-11"}, common...)...)
	if code != 0 || !strings.Contains(out, "preliminary_decision") || !strings.Contains(out, "2027.1-draft") {
		t.Errorf("simulate text: exit %d\n%s", code, out)
	}

	for _, bad := range [][]string{
		{"sop", "simulate", "--from", "2025-01"},
		{"sop", "simulate", "--sop", draftFile, "--format", "xml"},
		{"sop", "simulate", "--sop", draftFile, "--from", "2025-13"},
		{"seed", "synthetic"},
		{"seed", "synthetic", "--cases", "-3"},
		{"seed", "other"},
	} {
		if code, _, errb := runCmd(t, append(bad, common...)...); code != 2 || errb == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", bad, code, errb)
		}
	}
	if code, _, errb := runCmd(t, append([]string{"sop", "simulate", "--sop", filepath.Join(t.TempDir(), "missing.yaml")}, common...)...); code != 1 || !strings.Contains(errb, "missing.yaml") {
		t.Errorf("a missing SOP file: exit %d, stderr %q", code, errb)
	}
}

// simulate runs `nrm sop simulate --format json` and returns the candidate's
// rows by obligation.
func simulate(t *testing.T, common []string, file, version string) map[string]map[string]any {
	t.Helper()
	code, out, errb := runCmd(t, append([]string{"sop", "simulate", "--sop", file, "--from", "2025-01", "--to", "2026-11",
		"--format", "json", "--suppression-threshold", "2"}, common...)...)
	if code != 0 {
		t.Fatalf("simulate %s: exit %d, stderr %q", version, code, errb)
	}
	var sim struct {
		Candidate string `json:"candidate"`
		Cases     int    `json:"cases"`
		Table     struct {
			Rows []map[string]any `json:"rows"`
		} `json:"table"`
	}
	if err := json.Unmarshal([]byte(out), &sim); err != nil {
		t.Fatalf("simulate JSON: %v\n%s", err, out)
	}
	if sim.Candidate != version || sim.Cases == 0 {
		t.Fatalf("simulation: candidate %q, %d cases", sim.Candidate, sim.Cases)
	}
	rows := map[string]map[string]any{}
	for _, r := range sim.Table.Rows {
		if r["version"] == version {
			delete(r, "version")
			rows[r["obligation"].(string)] = r
		}
	}
	return rows
}
