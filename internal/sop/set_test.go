package sop

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeVersion writes testdata/minimal.yaml as another version.
func writeVersion(t *testing.T, dir, name, version, effective string) string {
	t.Helper()
	text := readFile(t, "testdata/minimal.yaml")
	text = strings.Replace(text, `version: "1"`, `version: "`+version+`"`, 1)
	text = strings.Replace(text, "effective_from: 2026-01-01", "effective_from: "+effective, 1)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPathAndActive(t *testing.T) {
	dir := t.TempDir()
	writeVersion(t, dir, "b.yaml", "2027.1", "2027-01-01")
	writeVersion(t, dir, "a.yml", "2026.1", "2026-01-01")
	writeVersion(t, dir, "c.yaml", "2026.2", "2026-07-01")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not an SOP"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeVersion(t, filepath.Join(dir, "old"), "x.yaml", "2026.1", "2025-01-01") // subfolders are not read
	set, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, s := range set.All() {
		versions = append(versions, s.Version)
	}
	if strings.Join(versions, " ") != "2026.1 2026.2 2027.1" {
		t.Errorf("All() = %v", versions)
	}
	tm, _ := time.LoadLocation("Asia/Ashgabat")
	cases := []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, tm), "2026.1"},
		{time.Date(2026, 6, 30, 23, 59, 59, 0, tm), "2026.1"},
		{time.Date(2026, 7, 1, 0, 0, 0, 0, tm), "2026.2"},
		{time.Date(2026, 6, 30, 19, 0, 0, 0, time.UTC), "2026.2"}, // already 1 July in Ashgabat
		{time.Date(2030, 1, 1, 0, 0, 0, 0, tm), "2027.1"},
	}
	for _, c := range cases {
		s, err := set.Active(c.now)
		if err != nil || s.Version != c.want {
			t.Errorf("Active(%s) = %v, %v; want %s", c.now, s, err, c.want)
		}
	}
	if _, err := set.Active(time.Date(2025, 12, 31, 18, 59, 0, 0, time.UTC)); err == nil {
		t.Error("Active before the first version: want an error")
	}
	if s, ok := set.Get("2026.2"); !ok || s.Version != "2026.2" || filepath.Base(s.File) != "c.yaml" {
		t.Errorf("Get(2026.2) = %v, %v", s, ok)
	}
	if _, ok := set.Get("2025.9"); ok {
		t.Error("Get(2025.9) found")
	}
	// All returns a copy.
	set.All()[0] = nil
	if set.All()[0] == nil {
		t.Error("All() exposes the set's slice")
	}
}

func TestLoadPathProblems(t *testing.T) {
	dir := t.TempDir()
	writeVersion(t, dir, "a.yaml", "1", "2026-01-01")
	dup := writeVersion(t, dir, "b.yaml", "1", "2026-02-01")
	same := writeVersion(t, dir, "c.yaml", "2", "2026-01-01")
	broken := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(broken, []byte("sop: test-min\nversion: \"3\"\nextra: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadPath(dir)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("LoadPath: %v, want *Error", err)
	}
	has := func(file string, line int, rule string) {
		t.Helper()
		for _, p := range e.Problems {
			if p.File == file && p.Line == line && p.Rule == rule {
				return
			}
		}
		t.Errorf("no problem %s:%d: %s in\n%v", file, line, rule, err)
	}
	has(dup, 3, RuleDuplicateVersion)
	has(same, 3, RuleAmbiguousEffectiveFrom)
	has(broken, 3, RuleUnknownKey)
	has(broken, 1, RuleMissingKey)
	// Problems of every file, sorted by file and line.
	for i := 1; i < len(e.Problems); i++ {
		a, b := e.Problems[i-1], e.Problems[i]
		if a.File > b.File || (a.File == b.File && a.Line > b.Line) {
			t.Errorf("problems not sorted: %v before %v", a, b)
		}
	}
}

func TestLoadPathRealFolder(t *testing.T) {
	set, err := LoadPath("../../sop")
	if err != nil {
		t.Fatal(err)
	}
	s, err := set.Active(time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC))
	if err != nil || s.Version != "2026.1" {
		t.Fatalf("Active = %v, %v", s, err)
	}
	one, err := LoadPath("../../sop/tm-nrm-2026.1.yaml")
	if err != nil || len(one.All()) != 1 || one.All()[0].Hash != s.Hash {
		t.Errorf("LoadPath(file) = %v, %v", one, err)
	}
}

func TestLoadPathErrors(t *testing.T) {
	if _, err := LoadPath("testdata/nowhere"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
	if _, err := LoadPath(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no SOP files") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestNewSet(t *testing.T) {
	minimal, err := LoadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := LoadFile("testdata/fast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	real := realSOP(t)
	set, err := NewSet(real, fast)
	if err != nil {
		t.Fatal(err)
	}
	if all := set.All(); all[0] != fast || all[1] != real {
		t.Error("All() not sorted by effective_from")
	}
	if s, _ := set.Active(time.Now()); time.Now().After(real.EffectiveFrom) && s != real {
		t.Errorf("Active(now) = %s", s.Version)
	}
	_, err = NewSet(real, minimal)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Rule != RuleMixedSOP || e.Problems[0].File != "testdata/minimal.yaml" || e.Problems[0].Line != 3 {
		t.Errorf("mixed SOPs: %v", err)
	}
	_, err = NewSet(real, real)
	if !errors.As(err, &e) || e.Problems[0].Rule != RuleDuplicateVersion || e.Problems[0].Line != 14 {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := NewSet(nil); err == nil {
		t.Error("nil SOP accepted")
	}
	empty, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Active(time.Now()); err == nil {
		t.Error("Active of an empty set: want an error")
	}
}
