package reports

import (
	"context"

	"github.com/nrm-tm/nrm/internal/store"
)

// Agencies lists the directory's agencies — names, types and IDs, no
// identity data —, which the compliance report's agency filter takes by ID
// and its tables name: what a reader needs to choose that filter.
func (s *Service) Agencies(ctx context.Context) ([]store.Agency, error) {
	return s.Store.Agencies(ctx)
}
