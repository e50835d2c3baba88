package app_test

import (
	"context"
	"testing"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/synthetic"
	"github.com/nrm-tm/nrm/internal/testenv"
	"github.com/nrm-tm/nrm/internal/web"
)

// The TWG's dashboard built ahead (web.Pages.KeepTWGWarm, run by every API
// process): nothing while the database holds no case — a bulk load that
// follows would otherwise stay hidden behind kept answers —, the default
// page's answers once it does.
func TestTWGDashboardBuiltAhead(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	ctx := context.Background()
	pages, err := web.New(sys.Cases, sys.Log, "en", api.ProblemOf)
	testenv.Must(t, err)
	pages.Reports = &reports.Service{Store: sys.Store, SOPs: sys.SOPs}
	if built, err := pages.WarmTWG(ctx); built || err != nil {
		t.Fatalf("built ahead on a database without cases: %v %v", built, err)
	}
	if _, err := synthetic.Seed(ctx, sys.Store, sys.SOPs, synthetic.Options{Cases: 300, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	if built, err := pages.WarmTWG(ctx); !built || err != nil {
		t.Fatalf("not built ahead once the database holds cases: %v %v", built, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	done := make(chan struct{})
	go func() { defer close(done); pages.KeepTWGWarm(cancelled) }()
	<-done // returns once its context ends
}
