package cases

import (
	"context"
	"time"
)

// Reconcile starts the workflows of cases recorded without one (the API
// wrote the case but could not reach Temporal). It returns how many it started.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	// Leave a minute to the API's own start attempt.
	list, err := s.Store.UnstartedCases(ctx, s.now().Add(-time.Minute), 200)
	if err != nil {
		return 0, err
	}
	started := 0
	for i := range list {
		if err := s.StartWorkflow(ctx, &list[i]); err != nil {
			s.Log.Warn("reconcile: start failed", "case_id", list[i].ID, "error", err)
			continue
		}
		started++
	}
	return started, nil
}

// Reindex is the backfill of the blind indexes (identity.Vault.Reindex):
// the live cases whose indexes an earlier identity.IndexVersion computed get
// the current kinds, so that a search finds them too. When every case is
// current it costs one indexed query per older version. It returns how many
// cases it reindexed and how many it could not open (left for a later run).
func (s *Service) Reindex(ctx context.Context) (done, failed int, err error) {
	return s.Vault.Reindex(ctx)
}

// ReconcileLoop runs Reconcile and Reindex every interval until ctx ends.
func (s *Service) ReconcileLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("reconcile failed", "error", err)
		} else if n > 0 {
			s.Log.Info("reconciled case workflows", "started", n)
		}
		if n, failed, err := s.Reindex(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("reindex failed", "error", err)
		} else if n > 0 || failed > 0 {
			s.Log.Info("recomputed blind indexes", "cases", n, "failed", failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
