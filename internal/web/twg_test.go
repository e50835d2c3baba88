package web

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/reports"
)

// The TWG's answers: one build per query at a time, errors not kept, a
// stale answer shown at once while a new one is built behind it, one too
// old built again before the request is answered.
func TestTWGCache(t *testing.T) {
	c := &twgCache{entries: map[string]*twgEntry{}}
	ctx := context.Background()
	var builds atomic.Int32
	slow := func(v string) func(context.Context) (any, error) {
		return func(context.Context) (any, error) {
			builds.Add(1)
			time.Sleep(30 * time.Millisecond)
			return v, nil
		}
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.get(ctx, "k", slow("one")); v != "one" || err != nil {
				t.Errorf("got %v %v", v, err)
			}
		}()
	}
	wg.Wait()
	if builds.Load() != 1 {
		t.Fatalf("%d builds for one query", builds.Load())
	}

	fail := errors.New("down")
	if _, err := c.get(ctx, "e", func(context.Context) (any, error) { return nil, fail }); err != fail {
		t.Fatalf("error %v", err)
	}
	if v, _ := c.get(ctx, "e", slow("later")); v != "later" {
		t.Fatalf("an error was kept: %v", v)
	}

	// Stale: the old answer now, the new one for the next request.
	c.mu.Lock()
	c.entries["k"].at = time.Now().Add(-twgCacheTTL - time.Second)
	c.mu.Unlock()
	if v, _ := c.get(ctx, "k", slow("two")); v != "one" {
		t.Fatalf("a stale answer was not shown at once: %v", v)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if v, _ := c.get(ctx, "k", slow("three")); v == "two" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stale answer was never refreshed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Too old: built again while the request waits.
	c.mu.Lock()
	c.entries["k"].at = time.Now().Add(-twgStaleMax - time.Second)
	c.mu.Unlock()
	if v, _ := c.get(ctx, "k", slow("four")); v != "four" {
		t.Fatalf("an answer older than %s was shown: %v", twgStaleMax, v)
	}
}

// A page's CSV neutralises formulas and writes withheld cells as
// "suppressed"; the number format follows the language.
func TestTWGFormats(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "-5": "'-5", "@x": "'@x", "lebap": "lebap", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
	p := &Pages{}
	var err error
	if p.msgs, err = loadCatalogue(); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string][3]string{"en": {"12", "85.3%", "36.5"}, "ru": {"12", "85,3 %", "36,5"}, "tk": {"12", "85,3 %", "36,5"}} {
		b := &twgBuild{lang: lang, t: p.msgs.translator(lang)}
		got := [3]string{b.number(reports.KindCount, 12), b.number(reports.KindShare, 0.8532), b.number(reports.KindHours, 36.46)}
		if got != want {
			t.Errorf("%s: %v, want %v", lang, got, want)
		}
		if s := b.t.T("twg.suppressed"); s == "" || strings.Contains(s, "twg.") {
			t.Errorf("%s: no word for suppressed", lang)
		}
	}
}
