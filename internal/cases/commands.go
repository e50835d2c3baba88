package cases

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// RuleError is a command the SOP does not allow in the case's current state.
type RuleError struct {
	Rule   string
	Detail string
}

func (e *RuleError) Error() string { return fmt.Sprintf("%s: %s", e.Rule, e.Detail) }

// Note is the free text that goes with a command; it stays in PostgreSQL.
type Note struct {
	Kind string
	Body string
}

// Command is one command on a case.
type Command struct {
	CaseID uuid.UUID
	Update string
	// Arg builds the workflow update's argument from the common fields.
	Arg  func(c workflows.Command) any
	Note *Note
	// Retry makes a retried request the same workflow update.
	Retry Retry
}

// Retry identifies a request a client may send again: its Idempotency-Key
// and a fingerprint of the request (method, path and body). Empty when the
// client sent no key.
type Retry struct {
	Key         string
	Fingerprint []byte
}

// updateID names the workflow update a command runs as. Temporal keeps an
// update ID unique per workflow run and answers a repeated ID with the first
// update's result, so the ID must name exactly one command: the user, their
// key, the update and the request. The key alone is not enough — two users
// may pick the same key for the same case, and the second command would be
// dropped while its caller was answered success. Without a key every
// attempt is a new update.
func updateID(p auth.Principal, name string, r Retry) string {
	if r.Key == "" {
		return uuid.NewString()
	}
	h := sha256.New()
	for _, part := range [][]byte{p.UserID[:], []byte(name), []byte(r.Key), r.Fingerprint} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return "cmd-" + hex.EncodeToString(h.Sum(nil))
}

// Do runs a command on a case the caller may see: its codes are checked
// against the case's SOP (check.go: 422), the note (if any) is stored, then
// the workflow update runs; a refused update removes the note again. It
// returns the case's state as the workflow answered the update.
func (s *Service) Do(ctx context.Context, p auth.Principal, cmd Command) (*workflows.CaseState, error) {
	c, err := s.Store.Case(ctx, auth.CaseScope(p), cmd.CaseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	wc := actor(p)
	if err := checkCommand(s.procedureOf(c), cmd.Arg(wc)); err != nil {
		return nil, err
	}
	if c.WorkflowStartedAt == nil {
		// Recorded while Temporal was away: start its workflow now rather
		// than wait for the reconciler (StartWorkflow is safe to repeat).
		sctx, cancel := context.WithTimeout(ctx, CommandTimeout)
		err := s.StartWorkflow(sctx, c)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	if cmd.Note != nil {
		id, err := s.addNote(ctx, c.ID, cmd.Note.Kind, p, cmd.Note.Body)
		if err != nil {
			return nil, err
		}
		wc.NoteID = id.String()
	}
	state, err := s.update(ctx, c.ID, cmd.Update, updateID(p, cmd.Update, cmd.Retry), cmd.Arg(wc))
	if err != nil && wc.NoteID != "" {
		if derr := s.Store.DeleteNote(context.WithoutCancel(ctx), uuid.MustParse(wc.NoteID)); derr != nil {
			s.Log.Warn("remove note of refused command", "case_id", c.ID, "error", derr)
		}
	}
	if err != nil {
		return nil, err
	}
	return state, nil
}

// actor is who gives a command, as the workflows check it against their
// command tables: the signed-in user, their role and their agency.
func actor(p auth.Principal) workflows.Command {
	return workflows.Command{ActorID: p.UserID.String(), ActorRole: string(p.Role), ActorAgencyID: p.AgencyID.String()}
}

func (s *Service) update(ctx context.Context, caseID uuid.UUID, name, updateID string, arg any) (*workflows.CaseState, error) {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	handle, err := s.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.CaseWorkflowID(caseID.String()),
		UpdateID:     updateID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var state workflows.CaseState
		if err = handle.Get(ctx, &state); err == nil {
			return &state, nil
		}
	}
	if re := asRuleError(err); re != nil {
		return nil, re
	}
	var gone *serviceerror.NotFound
	if errors.As(err, &gone) { // the case's workflow has ended
		return nil, &RuleError{Rule: "case_closed", Detail: "the case is closed"}
	}
	return nil, fmt.Errorf("%s on case %s: %w", name, caseID, err)
}

// asRuleError turns a workflow's refusal into a RuleError; nil for other errors.
func asRuleError(err error) *RuleError {
	var appErr *temporal.ApplicationError
	var actErr *temporal.ActivityError
	if err != nil && !errors.As(err, &actErr) && errors.As(err, &appErr) {
		return &RuleError{Rule: appErr.Type(), Detail: appErr.Message()}
	}
	return nil
}

// Timeline returns a case's events for a caller who may see the case.
func (s *Service) Timeline(ctx context.Context, p auth.Principal, id uuid.UUID) ([]store.Event, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	if _, err := s.Store.Case(ctx, auth.CaseScope(p), id); errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return s.Store.Timeline(ctx, id)
}

// Obligations returns a case's obligations. It takes no caller and checks
// nothing: it is for a case the caller's own request has just opened or
// already passed through CheckVisible.
func (s *Service) Obligations(ctx context.Context, id uuid.UUID) ([]store.Obligation, error) {
	return s.Store.Obligations(ctx, id)
}

// addNote seals a note's text under the case's key and stores it. A case
// whose identity is gone (declined, shredded) keeps no new free text either.
func (s *Service) addNote(ctx context.Context, caseID uuid.UUID, kind string, p auth.Principal, body string) (uuid.UUID, error) {
	sealed, err := s.Vault.SealNote(ctx, caseID, body)
	if errors.Is(err, identity.ErrGone) {
		return uuid.Nil, &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; send the command without free text"}
	}
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.New()
	if err := s.Store.AddNote(ctx, id, caseID, kind, p.UserID, sealed, s.now().UTC()); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}
