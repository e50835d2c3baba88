package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileAndRate(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    int
		want time.Duration
	}{{50, 51 * time.Millisecond}, {99, 100 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(lat, c.p); got != c.want {
			t.Errorf("p%d = %s, want %s", c.p, got, c.want)
		}
	}
	if lat[0] != 100*time.Millisecond {
		t.Error("Percentile sorted its argument")
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %s", got)
	}
	if got := Rate(30, 2*time.Second); got != 15 {
		t.Errorf("rate = %v, want 15", got)
	}
	if got := Rate(3, 0); got != 0 {
		t.Errorf("rate without time = %v, want 0", got)
	}
}

func TestParseConcurrency(t *testing.T) {
	got, err := ParseConcurrency(" 1, 8,32")
	if err != nil || fmt.Sprint(got) != "[1 8 32]" {
		t.Errorf("ParseConcurrency = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1,,8", "0", "8,x", "2000"} {
		if _, err := ParseConcurrency(bad); err == nil {
			t.Errorf("ParseConcurrency(%q) accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	o := Defaults()
	o.API, o.Email, o.Password = "http://127.0.0.1:8080", "officer@example.org", "secret"
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	o.ReadsFor = 0 // no reads, whatever the rate
	o.ReadsPerSecond = 0
	if err := o.Validate(); err != nil {
		t.Errorf("no reads: %v", err)
	}
	bad := Options{API: "127.0.0.1:8080", N: 2, ReadsFor: time.Second}
	err := bad.Validate()
	for _, want := range []string{"http(s) base URL", "e-mail", "password", "task queue", "at least", "concurrency", "region", "reads"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate of bad options = %v; want it to mention %q", err, want)
		}
	}
}

// A run stops handing out operations after the first failure, lets those
// under way finish (they are not cancelled into failures), and counts why.
func TestRunOpsStopsAtFirstFailure(t *testing.T) {
	var ran atomic.Int32
	p := runOps(context.Background(), 2, 100, func(ctx context.Context, i int) error {
		ran.Add(1)
		if i == 3 {
			return &statusError{status: 503}
		}
		time.Sleep(time.Millisecond)
		return ctx.Err()
	})
	if n := ran.Load(); n > 8 {
		t.Errorf("%d operations ran after an early failure", n)
	}
	if len(p.failures) != 1 || p.failures["status 503"] != 1 {
		t.Errorf("failures = %v, want one status 503", p.failures)
	}
	var f Failures
	f.add(kindOpen, p.failures)
	f.add(kindOpen, map[string]int{"status 429": 2})
	if f.Total() != 3 || f.Open != 3 || f.String() != "open case: status 429 ×2, open case: status 503 ×1" {
		t.Errorf("failures %+v: %s", f, f)
	}
	if !strings.Contains(hint(f), "NRM_USER_RATE") {
		t.Error("no hint at the rate limit for 429s")
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		&statusError{status: 422, problem: "urn:nrm:problem:validation"}: "status 422 (urn:nrm:problem:validation)",
		fmt.Errorf("wrapped: %w", &statusError{status: 500}):             "status 500",
		errors.New(`Post "http://x/api": dial tcp: connection refused`):  "no answer: connection refused",
		errors.New(strings.Repeat("x", 200)):                             strings.Repeat("x", 120) + "…",
	} {
		if got := reason(err); got != want {
			t.Errorf("reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestScreeningPersons(t *testing.T) {
	person := func(b map[string]any) map[string]any { return b["person"].(map[string]any) }
	a, b := person(Screening(1, false, "lebap")), person(Screening(2, false, "lebap"))
	if a["given_name"] == b["given_name"] || a["document_number"] == b["document_number"] {
		t.Errorf("two different persons share a name or document: %v, %v", a, b)
	}
	if !strings.HasPrefix(a["given_name"].(string), "Load") {
		t.Errorf("given name %q is not plainly synthetic", a["given_name"])
	}
	s1, s2 := person(Screening(1, true, "mary")), person(Screening(2, true, "mary"))
	if fmt.Sprint(s1) != fmt.Sprint(s2) {
		t.Errorf("the same person differs: %v, %v", s1, s2)
	}
	if r := Screening(1, true, "mary")["encounter"].(map[string]any)["region"]; r != "mary" {
		t.Errorf("region %v", r)
	}
}
