package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// Preview is the screening rule's result for a screening still being filled
// in (the web form shows it live): the SOP in force, the track Open would
// choose and the SOP's score of the indicators.
type Preview struct {
	SOP *sop.SOP
	// Child: the child track, as Open decides it (under the SOP's age, or
	// of unknown age); AgeKnown tells the two apart.
	Child    bool
	AgeKnown bool
	Result   sop.ScreeningResult
}

// Preview scores a screening as Open would, with the same track rule and
// the SOP's own Score, and records nothing. Only frontline officers open
// cases, so only they preview. Indicators the SOP does not list are left
// out of the score (Open refuses them); without a valid encounter time the
// age is taken now.
func (s *Service) Preview(p auth.Principal, req OpenRequest) (*Preview, error) {
	if !p.Is(auth.Frontline) {
		return nil, ErrForbidden
	}
	now := s.now()
	active, err := s.SOPs.Active(now)
	if err != nil {
		return nil, fmt.Errorf("preview screening: %w", err)
	}
	if _, ok := req.occurredAt(); !ok {
		req.Encounter.OccurredAt = now.Format(time.RFC3339)
	}
	child, band := classifyAge(active, req)
	known := make([]string, 0, len(req.Indicators))
	for _, id := range req.Indicators {
		if _, ok := active.Indicator(id); ok {
			known = append(known, id)
		}
	}
	result, err := active.Score(known, child)
	if err != nil {
		return nil, fmt.Errorf("preview screening: %w", err)
	}
	return &Preview{SOP: active, Child: child, AgeKnown: band != "unknown", Result: result}, nil
}

// Opening is what opening a case answered (Opened), read back for a case
// the caller may see: the web UI shows it on the page it redirects to
// after the screening form, so that a reload or a retried form shows the
// same. The duplicates are the possible duplicates recorded when the case
// opened, of which the caller sees only the cases it may already see; the
// case is read without its identity.
func (s *Service) Opening(ctx context.Context, p auth.Principal, id uuid.UUID) (*Opened, *View, error) {
	v, err := s.Get(ctx, p, id, RequestInfo{})
	if err != nil {
		return nil, nil, err
	}
	c := v.Case
	out := &Opened{Case: c, Screening: sop.ScreeningResult{Outcome: c.ScreeningOutcome, Track: sop.TrackAdult}}
	if c.Child {
		out.Screening.Track = sop.TrackChild
	}
	if len(c.Screening) > 0 {
		if err := json.Unmarshal(c.Screening, &out.Screening.Dimensions); err != nil {
			return nil, nil, fmt.Errorf("screening of case %s: %w", id, err)
		}
	}
	out.ClosedAtOnce = c.ScreeningOutcome != sop.OutcomePresumedVictim && !c.OfficerConcern
	notes, err := s.Store.CaseNotifications(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range notes {
		if n.Kind != NotificationPossibleDuplicate || n.RelatedCaseID == nil {
			continue
		}
		earlier, err := s.Store.Case(ctx, auth.CaseScope(p), *n.RelatedCaseID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out.Duplicates = append(out.Duplicates, DuplicateCase{ID: earlier.ID, Number: earlier.Number})
	}
	return out, v, nil
}

// Validate checks a screening as Open does before anything else, against
// the SOP in force now: nil, or a *ValidationError listing every broken
// rule. The web form checks with it before it opens, so that its officer
// sees every problem at once.
func (s *Service) Validate(req OpenRequest) error {
	now := s.now()
	active, err := s.SOPs.Active(now)
	if err != nil {
		return fmt.Errorf("validate screening: %w", err)
	}
	if verr := s.check(active, &req, now); verr != nil {
		return verr
	}
	return nil
}

// check applies every rule of a screening: its struct tags' (CheckRules,
// which the API's decoder applied already; a form did not) and those that
// need the SOP and the clock (validate). nil when it keeps them all.
func (s *Service) check(active *sop.SOP, req *OpenRequest, now time.Time) *ValidationError {
	verr := &ValidationError{}
	if err := CheckRules(req); err != nil && !errors.As(err, &verr) {
		verr.add("", "invalid", err.Error()) // an OpenRequest is a struct: not reached
	}
	s.validate(active, req, now, verr)
	if len(verr.Errors) == 0 {
		return nil
	}
	return verr
}
