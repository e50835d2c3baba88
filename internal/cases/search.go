package cases

import (
	"context"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Count counts the cases of a list the caller may see (the filter's Stage
// and Number; Limit and Offset do not count), for "showing 50 of 312".
func (s *Service) Count(ctx context.Context, p auth.Principal, f store.CaseFilter) (int, error) {
	if !canReadCases(p) {
		return 0, ErrForbidden
	}
	return s.Store.CountCases(ctx, auth.CaseScope(p), f)
}
