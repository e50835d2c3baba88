package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// scrape answers the registry's exposition as Prometheus' scraper gets it.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("exposition lacks %q", w)
		}
	}
}

func TestSDKHandlerNamesAndLabels(t *testing.T) {
	r := New()
	root := r.Temporal().WithTags(map[string]string{"namespace": "nrm", "client_name": "temporal_go", "workflow_type": "none"})
	root.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(2)
	// The same name with another tag key set must not panic, and both series stay.
	root.WithTags(map[string]string{"operation": "StartWorkflowExecution", "status_code": "UNAVAILABLE"}).Counter("temporal_request").Inc(1)
	root.Counter("temporal_request").Inc(1)
	root.Counter("temporal_request").Inc(-5) // ignored, not a panic
	root.WithTags(map[string]string{"workflow_type": "CaseWorkflow"}).Timer("temporal_workflow_task_execution_latency").Record(30 * time.Millisecond)
	root.WithTags(map[string]string{"poller_type": "activity_task"}).Gauge("temporal_num_pollers").Update(2)
	// Unsafe names and keys are sanitised; IDs and per-process queues never become labels.
	root.WithTags(map[string]string{"workflow_id": "case-" + uuid.NewString(), "run_id": uuid.NewString(), "bad-key": "v",
		"task_queue": "temporal-sys/worker-commands/nrm/" + uuid.NewString(), "le": "x"}).Timer("odd.name-here").Record(time.Second)
	// A name another kind already owns gets the kind as suffix instead of failing the scrape.
	root.Gauge("temporal_clash_total").Update(1)
	root.Counter("temporal_clash").Inc(1)

	body := scrape(t, r)
	mustContain(t, body,
		`temporal_request_total{client_name="temporal_go",namespace="nrm",operation="StartWorkflowExecution",workflow_type="none"} 2`,
		`temporal_request_total{client_name="temporal_go",namespace="nrm",operation="StartWorkflowExecution",status_code="UNAVAILABLE",workflow_type="none"} 1`,
		`temporal_request_total{client_name="temporal_go",namespace="nrm",workflow_type="none"} 1`,
		`temporal_workflow_task_execution_latency_seconds_bucket{client_name="temporal_go",namespace="nrm",workflow_type="CaseWorkflow",le="0.05"} 1`,
		`temporal_num_pollers{client_name="temporal_go",namespace="nrm",poller_type="activity_task",workflow_type="none"} 2`,
		`temporal_odd_name_here_seconds_count{bad_key="v",client_name="temporal_go",le_tag="x",namespace="nrm",task_queue="temporal-sys/worker-commands/*",workflow_type="none"} 1`,
		`temporal_clash_total{client_name="temporal_go",namespace="nrm",workflow_type="none"} 1`,
		`temporal_clash_total_counter{client_name="temporal_go",namespace="nrm",workflow_type="none"} 1`,
	)
	for _, bad := range []string{"workflow_id", "run_id", "case-"} {
		if strings.Contains(body, bad) {
			t.Errorf("exposition holds %q", bad)
		}
	}
	if strings.Count(body, "# TYPE temporal_request_total counter") != 1 {
		t.Error("one name must be one family, whatever its label sets")
	}
}

// TestSDKHandlerConcurrent is for -race: the SDK calls the handler from
// many goroutines while Prometheus scrapes.
func TestSDKHandlerConcurrent(t *testing.T) {
	r := New()
	root := r.Temporal()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tags := map[string]string{"namespace": "nrm", "operation": fmt.Sprint("op", i%7)}
				if g%2 == 0 {
					tags["status_code"] = "OK" // another label set for the same names
				}
				h := root.WithTags(tags)
				h.Counter("temporal_request").Inc(1)
				h.Timer("temporal_request_latency").Record(time.Millisecond)
				h.Gauge(fmt.Sprint("temporal_gauge_", i%3)).Update(float64(i))
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if _, err := r.Gatherer().Gather(); err != nil {
				t.Errorf("gather: %v", err)
			}
		}
	}()
	wg.Wait()
	<-done
	mfs, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "temporal_request_total" {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	if total != 16*200 {
		t.Errorf("temporal_request_total sums to %v, want %d", total, 16*200)
	}
}

func TestHTTPMiddlewareLabelsRouteTemplates(t *testing.T) {
	r := New()
	// Not Immutable (unlike the API): the labels must not alias Fiber's buffers.
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(r.HTTP())
	app.Get("/api/v1/cases/:id", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Post("/api/v1/cases", func(c *fiber.Ctx) error { return fiber.NewError(fiber.StatusUnprocessableEntity, "no") })
	id := uuid.NewString()
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/api/v1/cases/"+id, nil),
		httptest.NewRequest("POST", "/api/v1/cases", strings.NewReader("{}")),
		httptest.NewRequest("GET", "/no/such/"+id, nil),
	} {
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	body := scrape(t, r)
	mustContain(t, body,
		`nrm_http_request_duration_seconds_count{method="GET",route="/api/v1/cases/:id",status="200"} 1`,
		`nrm_http_request_duration_seconds_count{method="POST",route="/api/v1/cases",status="422"} 1`,
		`nrm_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1`,
	)
	if strings.Contains(body, id) {
		t.Error("a concrete ID reached a label")
	}
}

// fakeReadModel answers fixed rows, or fails the queries named in fail.
type fakeReadModel struct {
	fail  map[string]bool
	block bool // wait for the deadline
	asOf  time.Time
}

func (f *fakeReadModel) err(ctx context.Context, q string) error {
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if f.fail[q] {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeReadModel) OpenCasesByStage(ctx context.Context) ([]store.StageCount, error) {
	return []store.StageCount{{Stage: "identification", Count: 3}, {Stage: "recovery", Count: 1}}, f.err(ctx, "cases")
}

func (f *fakeReadModel) BreachedObligations(ctx context.Context) ([]store.ObligationCount, error) {
	return []store.ObligationCount{{Obligation: "preliminary_decision", AgencyType: "none", Count: 2}}, f.err(ctx, "breached")
}

func (f *fakeReadModel) OverdueObligations(ctx context.Context, asOf time.Time) ([]store.ObligationCount, error) {
	f.asOf = asOf
	return []store.ObligationCount{{Obligation: "referral_answer", AgencyType: "shelter", Count: 1}}, f.err(ctx, "overdue")
}

func (f *fakeReadModel) WaitingReferrals(ctx context.Context) ([]store.ServiceCount, error) {
	return []store.ServiceCount{{Service: "shelter", Count: 4}}, f.err(ctx, "referrals")
}

func TestReadModelGauges(t *testing.T) {
	r := New()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	src := &fakeReadModel{}
	if err := r.reg.Register(&readModelCollector{src: src, timeout: time.Second, now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, scrape(t, r),
		`nrm_open_cases{stage="identification"} 3`,
		`nrm_open_cases{stage="recovery"} 1`,
		`nrm_obligations_breached{agency_type="none",obligation="preliminary_decision"} 2`,
		`nrm_obligations_overdue{agency_type="shelter",obligation="referral_answer"} 1`,
		`nrm_referrals_waiting{service="shelter"} 4`,
		"nrm_scrape_error 0",
		"nrm_scrape_duration_seconds ",
	)
	if want := now.Add(-OverdueGrace); !src.asOf.Equal(want) {
		t.Errorf("overdue as of %v, want %v", src.asOf, want)
	}

	// One failing query costs its own gauges only.
	src.fail = map[string]bool{"breached": true}
	body := scrape(t, r)
	mustContain(t, body, `nrm_open_cases{stage="identification"} 3`, `nrm_referrals_waiting{service="shelter"} 4`, "nrm_scrape_error 1",
		"go_goroutines ")
	if strings.Contains(body, "nrm_obligations_breached{") {
		t.Error("the failed query's gauges are exposed")
	}
}

func TestReadModelScrapeIsBounded(t *testing.T) {
	r := New()
	if err := r.reg.Register(&readModelCollector{src: &fakeReadModel{block: true}, timeout: 50 * time.Millisecond, now: time.Now}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	body := scrape(t, r)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("scrape took %v despite the timeout", d)
	}
	mustContain(t, body, "nrm_scrape_error 1", "process_start_time_seconds ")
}
