package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/workflows"
)

// TestMetrics scrapes a running system after a case was opened and
// referred: the read-model gauges count it, the HTTP histogram names route
// templates only, the Temporal SDK reports through the same registry, and
// no case ID or number appears anywhere in the exposition.
func TestMetrics(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	ctx := context.Background()
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")

	var c caseBody
	mustStatus(t, "open a case", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &c), http.StatusCreated)
	mustStatus(t, "read it", officer.Do(t, "GET", "/api/v1/cases/"+c.ID, nil, nil), http.StatusOK)
	var ref struct {
		ID string `json:"id"`
	}
	mustStatus(t, "refer it", officer.Do(t, "POST", "/api/v1/cases/"+c.ID+"/referrals", map[string]any{"service": "shelter"}, &ref),
		http.StatusCreated)

	scrape := func(auth string) (int, string) {
		t.Helper()
		h := http.Header{}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		resp := anon.Raw(t, "GET", "/metrics", nil, h)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		testenv.Must(t, err)
		return resp.StatusCode, string(body)
	}
	if st, _ := scrape(""); st != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", st)
	}
	if st, _ := scrape("Bearer not-the-" + testenv.MetricsToken); st != http.StatusUnauthorized {
		t.Errorf("with a wrong token: %d, want 401", st)
	}
	if st, _ := scrape("Bearer " + officer.Token); st != http.StatusUnauthorized {
		t.Errorf("with a session token: %d, want 401", st)
	}

	// What the read model holds now, counted through the store; false until
	// the shelter referral waits for an answer.
	want := func() ([]string, bool) {
		cs, err := sys.Store.Case(ctx, store.CaseScope{All: true}, uuid.MustParse(c.ID))
		testenv.Must(t, err)
		refs, err := sys.Store.CaseReferrals(ctx, uuid.MustParse(c.ID))
		testenv.Must(t, err)
		waiting := map[string]int{}
		for _, r := range refs {
			if r.Status == workflows.ReferralPending {
				waiting[r.Service]++
			}
		}
		out := []string{fmt.Sprintf(`nrm_open_cases{stage=%q} 1`, cs.Stage)}
		for service, n := range waiting {
			out = append(out, fmt.Sprintf(`nrm_referrals_waiting{service=%q} %d`, service, n))
		}
		return out, waiting["shelter"] > 0
	}
	var body string
	testenv.Eventually(t, 30*time.Second, "the gauges and the SDK's metrics in the exposition", func() bool {
		var st int
		if st, body = scrape("Bearer " + testenv.MetricsToken); st != http.StatusOK {
			t.Fatalf("with the token: %d %s", st, body)
		}
		gauges, ok := want()
		if !ok {
			return false
		}
		for _, w := range append(gauges,
			"nrm_scrape_error 0",
			`temporal_request_total{`,
			`temporal_workflow_task_execution_latency_seconds_bucket{`,
			`workflow_type="`+workflows.CaseWorkflowName+`"`,
		) {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	for _, w := range []string{
		`nrm_http_request_duration_seconds_bucket{method="POST",route="/api/v1/cases",status="201",le="`,
		`nrm_http_request_duration_seconds_bucket{method="GET",route="/api/v1/cases/:id",status="200",le="`,
		`nrm_http_request_duration_seconds_bucket{method="POST",route="/api/v1/cases/:id/referrals",status="201",le="`,
		`nrm_http_request_duration_seconds_count{method="GET",route="/metrics",status="401"} 3`,
		"go_sql_open_connections{db_name=\"nrm\"}",
		"process_start_time_seconds ",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("exposition lacks %q", w)
		}
	}
	for _, secret := range []string{c.ID, c.Number, ref.ID, officer.Token, testenv.MetricsToken, "Berdiýewa"} {
		if strings.Contains(body, secret) {
			t.Errorf("the exposition holds %q", secret)
		}
	}

	// The worker's health listener serves the same registry without a token.
	addr := freeAddr(t)
	stop, err := sys.ServeHealth(addr)
	testenv.Must(t, err)
	defer stop()
	resp, err := http.Get("http://" + addr + "/metrics")
	testenv.Must(t, err)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "temporal_request_total{") {
		t.Errorf("health listener /metrics: %d", resp.StatusCode)
	}
}

// TestMetricsOffWithoutToken: without NRM_METRICS_TOKEN the API serves no /metrics.
func TestMetricsOffWithoutToken(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.MetricsToken = ""
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	for _, auth := range []string{"", "Bearer " + testenv.MetricsToken} {
		resp := anon.Raw(t, "GET", "/metrics", nil, http.Header{"Authorization": {auth}})
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Authorization %q: %d, want 404", auth, resp.StatusCode)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
