package app_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/testenv"
)

type catalogueBody struct {
	Version    string `json:"version"`
	Active     bool   `json:"active"`
	Indicators []struct {
		ID, Dimension, Strength string
		Label                   map[string]string `json:"label"`
	} `json:"indicators"`
	Services []struct {
		ID    string            `json:"id"`
		Label map[string]string `json:"label"`
	} `json:"services"`
	DeclineReasons  []string          `json:"decline_reasons"`
	AttachmentKinds []string          `json:"attachment_kinds"`
	Reopening       map[string]string `json:"reopening"`
}

// GET /api/v1/sop lists every indicator of the SOP in force with its labels
// in the three languages, its attachment kinds and the stage each reopening
// reason starts from, for any signed-in user; a named version too.
func TestSOPCatalogue(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	shelter := testenv.NewClient(sys).Login(t, "shelter@lebap-shelter.example")
	var got catalogueBody
	mustStatus(t, "sop", shelter.Do(t, "GET", "/api/v1/sop", nil, &got), http.StatusOK)
	active, err := sys.SOPs.Active(time.Now())
	testenv.Must(t, err)
	if got.Version != active.Version || !got.Active || len(got.Indicators) != len(active.Indicators) || len(got.Indicators) == 0 {
		t.Fatalf("catalogue %s (active %v) with %d indicators, want %s with %d", got.Version, got.Active, len(got.Indicators), active.Version, len(active.Indicators))
	}
	for i, ind := range got.Indicators {
		want := active.Indicators[i]
		if ind.ID != want.ID || ind.Dimension != want.Dimension || ind.Strength != want.Strength {
			t.Errorf("indicator %d: %+v, want %s/%s/%s", i, ind, want.ID, want.Dimension, want.Strength)
		}
		for _, lang := range []string{"en", "ru", "tk"} {
			if ind.Label[lang] == "" || ind.Label[lang] != want.Label[lang] {
				t.Errorf("indicator %s: label in %s %q, want %q", ind.ID, lang, ind.Label[lang], want.Label[lang])
			}
		}
	}
	if len(got.Services) == 0 || len(got.DeclineReasons) == 0 {
		t.Errorf("services %d, decline reasons %d: want the SOP's lists", len(got.Services), len(got.DeclineReasons))
	}
	if !slices.Equal(got.AttachmentKinds, active.AttachmentKinds) || len(got.AttachmentKinds) == 0 {
		t.Errorf("attachment kinds %v, want the SOP's %v", got.AttachmentKinds, active.AttachmentKinds)
	}
	if len(got.Reopening) != len(sop.ReopenReasons) {
		t.Errorf("reopening %v: want a stage for each of %v", got.Reopening, sop.ReopenReasons)
	}
	for _, reason := range sop.ReopenReasons {
		if got.Reopening[reason] != active.ReopenStage(reason) {
			t.Errorf("reopening %s starts from %q, the SOP says %q", reason, got.Reopening[reason], active.ReopenStage(reason))
		}
	}
	var named catalogueBody
	mustStatus(t, "sop 2026.1", shelter.Do(t, "GET", "/api/v1/sop/2026.1", nil, &named), http.StatusOK)
	if named.Version != "2026.1" {
		t.Errorf("named version %q", named.Version)
	}
	mustStatus(t, "unknown version", shelter.Do(t, "GET", "/api/v1/sop/1999.1", nil, nil), http.StatusNotFound)
	mustStatus(t, "anonymous", testenv.NewClient(sys).Do(t, "GET", "/api/v1/sop", nil, nil), http.StatusUnauthorized)
}
