package web

import (
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/cases"
)

// Every ground of an erasure order has its label in every language.
func TestErasureReasonsAreLabelled(t *testing.T) {
	c, err := loadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cases.ErasureReasons {
		msg, ok := erasureReasonMsg[r]
		if !ok {
			t.Errorf("erasure reason %q has no message", r)
			continue
		}
		for _, lang := range Languages {
			if !c.translator(lang).has(msg) {
				t.Errorf("%s: %s is missing", lang, msg)
			}
		}
	}
}

// The queues say the time left or overdue in days, or in hours under a day.
func TestTimeLeft(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		due     time.Duration
		msg     string
		n       int
		overdue bool
	}{
		{50 * time.Hour, "authority.left.days", 2, false},
		{5 * time.Hour, "authority.left.hours", 5, false},
		{-90 * time.Minute, "authority.overdue.hours", 1, true},
		{-73 * time.Hour, "authority.overdue.days", 3, true},
	} {
		msg, n, overdue := timeLeft(now, now.Add(tc.due))
		if msg != tc.msg || n != tc.n || overdue != tc.overdue {
			t.Errorf("due in %v: %s %d %v, want %s %d %v", tc.due, msg, n, overdue, tc.msg, tc.n, tc.overdue)
		}
	}
}
