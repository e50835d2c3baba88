package cases

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Actions answers which commands the caller may give on a case now, asked of
// the case's workflow (workflows.QueryActions): the same command table and
// rules that check the commands themselves, so a page offers exactly what
// would be accepted. A case whose workflow has not started yet (the
// reconciler starts it) allows nothing; a closed case nothing either once
// its retention period has ended or its identity is gone, and otherwise
// what its workflow, waiting out retention, allows: the reopening.
func (s *Service) Actions(ctx context.Context, p auth.Principal, id uuid.UUID) (workflows.Actions, error) {
	c, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return workflows.Actions{}, ErrNotFound
	}
	if err != nil {
		return workflows.Actions{}, err
	}
	if c.Stage == workflows.StageScreening {
		return workflows.Actions{}, nil
	}
	if c.Stage == workflows.StageClosed {
		if c.ClosedAt == nil {
			return workflows.Actions{}, nil
		}
		var over *RuleError
		if err := s.checkRetention(ctx, c); errors.As(err, &over) {
			return workflows.Actions{}, nil
		} else if err != nil {
			return workflows.Actions{}, err
		}
	}
	v, err := s.Temporal.QueryWorkflow(ctx, workflows.CaseWorkflowID(id.String()), "", workflows.QueryActions, actor(p))
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) {
		return workflows.Actions{}, nil
	}
	if err != nil {
		return workflows.Actions{}, fmt.Errorf("actions on case %s: %w", id, err)
	}
	var out workflows.Actions
	if err := v.Get(&out); err != nil {
		return workflows.Actions{}, fmt.Errorf("actions on case %s: %w", id, err)
	}
	return out, nil
}
