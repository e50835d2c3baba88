// Package activities holds the side effects of the workflows: writes to the
// PostgreSQL read model. Every activity is idempotent, keyed by IDs derived
// from the workflow ID and a sequence, so retries and replays never
// duplicate rows.
package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Activities carries the dependencies of every activity.
type Activities struct {
	Store *store.Store
	Vault *identity.Vault
}

// Register adds the activities to a worker under the names the workflows use.
func (a *Activities) Register(w worker.ActivityRegistry) {
	w.RegisterActivityWithOptions(a.RecordCaseEvents, activity.RegisterOptions{Name: workflows.ActivityRecord})
	w.RegisterActivityWithOptions(a.RecordReferral, activity.RegisterOptions{Name: workflows.ActivityRecordReferral})
	w.RegisterActivityWithOptions(a.NextProvider, activity.RegisterOptions{Name: workflows.ActivityNextProvider})
	w.RegisterActivityWithOptions(a.HoldBed, activity.RegisterOptions{Name: workflows.ActivityHoldBed})
	w.RegisterActivityWithOptions(a.FreeBed, activity.RegisterOptions{Name: workflows.ActivityFreeBed})
	w.RegisterActivityWithOptions(a.ShredIdentity, activity.RegisterOptions{Name: workflows.ActivityShredIdentity})
}

func badInput(what string, err error) error {
	return temporal.NewNonRetryableApplicationError(what, "BadInput", err)
}

// RecordCaseEvents writes one transition of a case: events, stage,
// obligations and notifications, in one transaction.
func (a *Activities) RecordCaseEvents(ctx context.Context, in workflows.RecordInput) error {
	caseID, err := uuid.Parse(in.CaseID)
	if err != nil {
		return badInput("bad case ID", err)
	}
	t := store.Transition{CaseID: caseID, At: in.At, Stage: in.Stage, ClosureReason: in.ClosureReason, RemoveIdentity: in.RemoveIdentity}
	if t.Events, err = events(caseID, in.Events); err != nil {
		return err
	}
	if t.Obligations, err = obligations(caseID, in.SOPVersion, in.Obligations); err != nil {
		return err
	}
	if t.Notifications, err = notifications(caseID, in.At, in.Notifications); err != nil {
		return err
	}
	if t.Transfer, err = transfer(in.Transfer); err != nil {
		return err
	}
	if r := in.Reopen; r != nil {
		t.Reopen = &store.CaseReopen{Count: r.Count, ReTrafficked: r.ReTrafficked}
	}
	if err := a.Store.RecordTransition(ctx, t); err != nil {
		return fmt.Errorf("record transition of case %s: %w", caseID, err)
	}
	return nil
}

// transfer reads the agencies of a transfer (transfer.go of workflows).
func transfer(in *workflows.TransferRecord) (*store.CaseTransfer, error) {
	if in == nil {
		return nil, nil
	}
	from, err := uuid.Parse(in.FromAgencyID)
	if err != nil {
		return nil, badInput("transfer from agency", err)
	}
	to, err := uuid.Parse(in.ToAgencyID)
	if err != nil {
		return nil, badInput("transfer to agency", err)
	}
	return &store.CaseTransfer{FromAgencyID: from, ToAgencyID: to, Region: in.Region}, nil
}

func events(caseID uuid.UUID, in []workflows.EventRecord) ([]store.Event, error) {
	var out []store.Event
	for _, e := range in {
		data, err := json.Marshal(e.Data)
		if err != nil {
			return nil, badInput("event data", err)
		}
		ev := store.Event{ID: e.ID, Seq: e.Seq, CaseID: caseID, Type: e.Type, At: e.At, Data: data}
		if actor, err := uuid.Parse(e.ActorID); err == nil {
			ev.ActorID = &actor
		}
		out = append(out, ev)
	}
	return out, nil
}

func optionalID(s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, badInput("bad ID", err)
	}
	return &id, nil
}

func obligations(caseID uuid.UUID, sopVersion string, in []workflows.ObligationRecord) ([]store.Obligation, error) {
	var out []store.Obligation
	for _, o := range in {
		owner, err := optionalID(o.OwnerAgencyID)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Obligation{ID: o.ID, CaseID: caseID, Obligation: o.Obligation, Kind: o.Kind,
			SOPVersion: sopVersion, OwnerRole: o.OwnerRole, OwnerAgencyID: owner, OwnerAgencyType: o.OwnerAgencyType, StartsAt: o.StartsAt, DueAt: o.DueAt,
			MetAt: o.MetAt, BreachedAt: o.BreachedAt, CancelledAt: o.CancelledAt, Status: o.Status})
	}
	return out, nil
}

func notifications(caseID uuid.UUID, at time.Time, in []workflows.NotificationRecord) ([]store.Notification, error) {
	var out []store.Notification
	for _, n := range in {
		agency, err := optionalID(n.RecipientAgencyID)
		if err != nil {
			return nil, err
		}
		var due *time.Time
		if !n.DueAt.IsZero() {
			d := n.DueAt
			due = &d
		}
		out = append(out, store.Notification{ID: n.ID, CaseID: caseID, Kind: n.Kind, Obligation: n.Obligation,
			ObligationID: n.ObligationID, RecipientRole: n.RecipientRole, RecipientAgencyID: agency, RecipientAgencyType: n.RecipientAgencyType,
			DueAt: due, CreatedAt: at})
	}
	return out, nil
}

// RecordReferral writes one step of a referral in one transaction.
func (a *Activities) RecordReferral(ctx context.Context, in workflows.ReferralRecordInput) error {
	row, err := referralRow(in.Referral, in.At)
	if err != nil {
		return err
	}
	step := store.ReferralStep{Referral: row}
	if in.Attempt != nil {
		agency, err := uuid.Parse(in.Attempt.AgencyID)
		if err != nil {
			return badInput("attempt agency", err)
		}
		at := &store.ReferralAttempt{ReferralID: row.ID, Attempt: in.Attempt.Attempt, AgencyID: agency, SentAt: in.Attempt.SentAt,
			DueAt: in.Attempt.DueAt, AnsweredAt: in.Attempt.AnsweredAt}
		if in.Attempt.Answer != "" {
			at.Answer = &in.Attempt.Answer
		}
		if in.Attempt.DeclineReason != "" {
			at.DeclineReason = &in.Attempt.DeclineReason
		}
		step.Attempt = at
	}
	if step.Events, err = events(row.CaseID, in.Events); err != nil {
		return err
	}
	if step.Obligations, err = obligations(row.CaseID, in.SOPVersion, in.Obligations); err != nil {
		return err
	}
	if step.Notifications, err = notifications(row.CaseID, in.At, in.Notifications); err != nil {
		return err
	}
	if err := a.Store.RecordReferral(ctx, step); err != nil {
		return fmt.Errorf("record referral %s: %w", row.ID, err)
	}
	return nil
}

func referralRow(r workflows.ReferralRow, at time.Time) (store.Referral, error) {
	var out store.Referral
	var err error
	ids := []struct {
		dst *uuid.UUID
		src string
	}{{&out.ID, r.ID}, {&out.CaseID, r.CaseID}, {&out.SenderID, r.SenderID}, {&out.SenderAgencyID, r.SenderAgencyID}}
	for _, id := range ids {
		if *id.dst, err = uuid.Parse(id.src); err != nil {
			return out, badInput("referral IDs", err)
		}
	}
	if out.RequestedAgencyID, err = optionalID(r.RequestedAgencyID); err != nil {
		return out, err
	}
	if out.AgencyID, err = optionalID(r.AgencyID); err != nil {
		return out, err
	}
	if out.NoteID, err = optionalID(r.NoteID); err != nil {
		return out, err
	}
	out.Service, out.Urgent, out.Region, out.Status = r.Service, r.Urgent, r.Region, r.Status
	out.Attempt, out.Redirections, out.SentAt = r.Attempt, r.Redirections, r.SentAt
	if out.SentAt.IsZero() {
		out.SentAt = at
	}
	if !r.DueAt.IsZero() {
		d := r.DueAt
		out.DueAt = &d
	}
	out.AcceptedAt, out.CompletedAt, out.WithdrawnAt = r.AcceptedAt, r.CompletedAt, r.WithdrawnAt
	if r.Outcome != "" {
		out.Outcome = &r.Outcome
	}
	out.UpdatedAt = at
	return out, nil
}

// NextProvider routes a referral to the next provider; "" when none is left.
func (a *Activities) NextProvider(ctx context.Context, q workflows.ProviderQuery) (string, error) {
	var exclude []uuid.UUID
	for _, s := range q.Exclude {
		id, err := uuid.Parse(s)
		if err != nil {
			return "", badInput("excluded agency", err)
		}
		exclude = append(exclude, id)
	}
	requested, err := optionalID(q.Requested)
	if err != nil {
		return "", err
	}
	id, err := a.Store.NextProvider(ctx, q.Service, q.Region, exclude, requested, q.Beds, q.At)
	if err != nil || id == nil {
		return "", err
	}
	return id.String(), nil
}

// HoldBed holds a shelter bed for an accepted referral; false when full.
func (a *Activities) HoldBed(ctx context.Context, r workflows.BedRequest) (bool, error) {
	ref, agency, err := bedIDs(r)
	if err != nil {
		return false, err
	}
	return a.Store.HoldBed(ctx, ref, agency)
}

// FreeBed frees the referral's bed.
func (a *Activities) FreeBed(ctx context.Context, r workflows.BedRequest) error {
	ref, agency, err := bedIDs(r)
	if err != nil {
		return err
	}
	return a.Store.FreeBed(ctx, ref, agency)
}

func bedIDs(r workflows.BedRequest) (uuid.UUID, uuid.UUID, error) {
	ref, err := uuid.Parse(r.ReferralID)
	if err != nil {
		return uuid.Nil, uuid.Nil, badInput("referral ID", err)
	}
	agency, err := uuid.Parse(r.AgencyID)
	if err != nil {
		return uuid.Nil, uuid.Nil, badInput("agency ID", err)
	}
	return ref, agency, nil
}

// ShredIdentity destroys a case's identity once its retention period ended.
func (a *Activities) ShredIdentity(ctx context.Context, caseID string) error {
	id, err := uuid.Parse(caseID)
	if err != nil {
		return badInput("case ID", err)
	}
	return a.Vault.Shred(ctx, id, time.Now())
}
