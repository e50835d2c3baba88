package cases

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// The work queues of the competent authority and of supervisors, and what
// their forms show of a decision under review or a closure request. They
// answer case numbers, codes and times (no identity); the forms' commands go
// through Do like every other command.

// The SOP obligations the competent authority's queue lists: the decisions
// due, and the negative decisions waiting for a second review.
var (
	DecisionObligations = []string{"preliminary_decision", "conclusive_decision"}
	ReviewObligations   = []string{"preliminary_negative_review", "conclusive_negative_review"}
)

// Timeline events the queues and forms read.
const (
	eventClosureRequested = "closure_requested"
	eventClosureApproved  = "closure_approved"
	eventClosureRejected  = "closure_rejected"
	eventReviewConfirmed  = "negative_review_confirmed"
	eventReviewOverturned = "negative_review_overturned"
	// ClosureReviewObligation is the SOP's deadline to answer a closure request.
	ClosureReviewObligation = "closure_review"
)

// endsOpenObligations: an approved closure ends every open deadline of the
// case (the workflow cancels them), so a deadline breached before it is no
// longer work to do.
var endsOpenObligations = []string{eventClosureApproved}

// DecisionQueue lists, for the competent authority, the decisions due and
// the negative decisions waiting for their second review across all open
// cases: pending deadlines, and breached ones until the decision or review
// is recorded; overdue first, then by deadline.
func (s *Service) DecisionQueue(ctx context.Context, p auth.Principal, limit int) ([]store.QueueItem, error) {
	if !p.Is(auth.CompetentAuthority) {
		return nil, ErrForbidden
	}
	q := s.queueQuery(p, append(slices.Clone(DecisionObligations), ReviewObligations...), limit)
	for _, v := range s.sopVersions() {
		for _, id := range ReviewObligations {
			if def, ok := v.Obligation(id); ok {
				q.StartedBy = addPair(q.StartedBy, id, def.StartsOn)
			}
		}
	}
	return s.Store.Queue(ctx, q)
}

// OverdueQueue lists, for a supervisor, every deadline of their agency's
// open cases that is past due and not met, whoever owns it; the longest
// overdue first.
func (s *Service) OverdueQueue(ctx context.Context, p auth.Principal, limit int) ([]store.QueueItem, error) {
	if !p.Is(auth.Supervisor) {
		return nil, ErrForbidden
	}
	q := s.queueQuery(p, nil, limit)
	q.DueBefore = s.now()
	return s.Store.Queue(ctx, q)
}

// ClosureQueue lists, for a supervisor, their agency's cases whose closure
// request waits for an answer, with the request's reason and time and the
// deadline to answer it.
func (s *Service) ClosureQueue(ctx context.Context, p auth.Principal, limit int) ([]store.ClosureItem, error) {
	if !p.Is(auth.Supervisor) {
		return nil, ErrForbidden
	}
	return s.Store.ClosureQueue(ctx, store.ClosureQuery{Scope: auth.CaseScope(p), Stage: workflows.StageClosure,
		RequestEvent: eventClosureRequested, ReviewObligation: ClosureReviewObligation, Limit: limit})
}

func (s *Service) queueQuery(p auth.Principal, obligations []string, limit int) store.QueueQuery {
	q := store.QueueQuery{Scope: auth.CaseScope(p), Obligations: obligations, EndedBy: endsOpenObligations, Limit: limit}
	for _, v := range s.sopVersions() {
		for _, def := range v.Obligations {
			for _, ev := range def.MetBy {
				q.MetBy = addPair(q.MetBy, def.ID, ev)
			}
		}
	}
	return q
}

func (s *Service) sopVersions() []*sop.SOP {
	if s.SOPs == nil {
		return nil
	}
	return s.SOPs.All()
}

func addPair(list []store.ObligationEvent, obligation, event string) []store.ObligationEvent {
	p := store.ObligationEvent{Obligation: obligation, Event: event}
	if event == "" || slices.Contains(list, p) {
		return list
	}
	return append(list, p)
}

// DecisionRecord is an identification decision as the case's timeline
// records it, and its second review if it had one.
type DecisionRecord struct {
	ID, Kind, Outcome string
	At                time.Time
	DecidedBy         uuid.UUID
	Reviewed          bool
	// Confirmed tells a confirmed negative decision from an overturned one.
	Confirmed bool
}

// Decision returns a decision of a case the caller may see, read from the
// case's timeline; ErrNotFound when the case has no such decision.
func (s *Service) Decision(ctx context.Context, p auth.Principal, caseID uuid.UUID, decisionID string) (*DecisionRecord, error) {
	events, err := s.Timeline(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	var d *DecisionRecord
	for _, e := range events {
		data := eventStrings(e.Data)
		if data["decision_id"] != decisionID {
			continue
		}
		switch e.Type {
		case eventReviewConfirmed, eventReviewOverturned:
			if d != nil {
				d.Reviewed, d.Confirmed = true, e.Type == eventReviewConfirmed
			}
			continue
		}
		if d != nil {
			continue // an overturned decision records a positive one under its ID
		}
		for _, kind := range []string{workflows.KindPreliminary, workflows.KindConclusive} {
			for _, outcome := range []string{workflows.OutcomePositive, workflows.OutcomeNegative} {
				if e.Type == kind+"_"+outcome && e.ActorID != nil {
					d = &DecisionRecord{ID: decisionID, Kind: kind, Outcome: outcome, At: e.At, DecidedBy: *e.ActorID}
				}
			}
		}
	}
	if d == nil {
		return nil, ErrNotFound
	}
	return d, nil
}

// ClosureRequest is a closure request waiting for a supervisor's answer.
type ClosureRequest struct {
	Reason        string
	At            time.Time
	RequestedBy   uuid.UUID
	RequesterName string
	// Note is the requester's free text, "" when they wrote none or the
	// case keeps no personal data any more.
	Note string
}

// PendingClosure returns the closure request of a case the caller may see
// that waits for an answer, read from the case's timeline; nil when none
// waits.
func (s *Service) PendingClosure(ctx context.Context, p auth.Principal, caseID uuid.UUID) (*ClosureRequest, error) {
	events, err := s.Timeline(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	var req *store.Event
	for i, e := range events {
		switch e.Type {
		case eventClosureRequested:
			req = &events[i]
		case eventClosureApproved, eventClosureRejected:
			req = nil
		}
	}
	if req == nil || req.ActorID == nil {
		return nil, nil
	}
	data := eventStrings(req.Data)
	out := &ClosureRequest{Reason: data["reason"], At: req.At, RequestedBy: *req.ActorID}
	if u, err := s.Store.User(ctx, *req.ActorID); err == nil {
		out.RequesterName = u.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if noteID, err := uuid.Parse(data["note_id"]); err == nil {
		sealed, err := s.Store.NoteBody(ctx, noteID, caseID)
		if err == nil {
			out.Note, err = s.Vault.OpenNote(ctx, caseID, sealed)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, identity.ErrGone) {
			return nil, err
		}
	}
	return out, nil
}

// Erased tells whether the identity of a case the caller may see was
// destroyed by an erasure order (its timeline records the erasure).
func (s *Service) Erased(ctx context.Context, p auth.Principal, caseID uuid.UUID) (bool, error) {
	events, err := s.Timeline(ctx, p, caseID)
	if err != nil {
		return false, err
	}
	for _, e := range events {
		if e.Type == EventIdentityErased {
			return true, nil
		}
	}
	return false, nil
}

// eventStrings reads the string values of an event's data.
func eventStrings(raw json.RawMessage) map[string]string {
	var m map[string]any
	out := map[string]string{}
	if json.Unmarshal(raw, &m) != nil {
		return out
	}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
