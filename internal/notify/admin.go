package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// Admin is what administrators do with the outbox and the agencies'
// channels: read the dead letters and queue one again, list an agency's
// webhook and e-mail channels and add one. The changes are written to the
// audit log (notification_retry, channel_add) before they are answered, and
// a failure to write that row is returned: the API then answers 500
// although the change stands (a retry answers 409 not dead, a second add
// 409 duplicate).
type Admin struct {
	Store *store.Store
	// Keys seals new webhooks' signing secrets (Secrets).
	Keys *crypto.Keyring
	// Webhooks says which receivers a new webhook may target (CheckTarget);
	// nil allows public addresses only.
	Webhooks *WebhookPolicy
	Now      func() time.Time
}

// RequestInfo identifies, in the audit log, the request that asked for a
// change.
type RequestInfo struct {
	RequestID string
	// ClientRequestID is the X-Request-ID the client sent, kept apart.
	ClientRequestID string
}

// Errors of Admin's commands that the API answers as 409.
var (
	// ErrNotDead: only a dead letter can be retried.
	ErrNotDead = errors.New("the notification is not dead: only dead letters can be retried")
	// ErrDuplicateChannel: the agency has a channel of this kind and target.
	ErrDuplicateChannel = errors.New("the agency already has this channel")
)

func (a *Admin) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// DeadLetters lists the notifications whose delivery was given up, newest
// first, with the channel and error of the last attempt (at most limit,
// 1–500).
func (a *Admin) DeadLetters(ctx context.Context, limit int) ([]store.DeadLetter, error) {
	return a.Store.DeadLetters(ctx, limit)
}

// RetryDeadLetter puts a dead notification back in the queue, due at once;
// its failed channels get a new round of attempts. An unknown ID is
// store.ErrNotFound, a notification that is not dead ErrNotDead.
func (a *Admin) RetryDeadLetter(ctx context.Context, p auth.Principal, ri RequestInfo, id string) (*store.Notification, error) {
	n, err := a.Store.RetryDeadLetter(ctx, id, a.now())
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrNotDead
	}
	if err != nil {
		return nil, err
	}
	if err := a.audit(ctx, p, ri, "notification_retry", &n.CaseID); err != nil {
		return nil, err
	}
	return n, nil
}

// CheckAgency is nil when the agency exists, store.ErrNotFound when not:
// the channel routes answer 404 for an unknown agency before they read a
// body.
func (a *Admin) CheckAgency(ctx context.Context, agencyID uuid.UUID) error {
	ok, err := a.Store.AgencyExists(ctx, agencyID)
	if err != nil {
		return err
	}
	if !ok {
		return store.ErrNotFound
	}
	return nil
}

// Channels lists an agency's channels, active or not, oldest first; an
// unknown agency is store.ErrNotFound. The secrets stay sealed.
func (a *Admin) Channels(ctx context.Context, agencyID uuid.UUID) ([]store.Channel, error) {
	if err := a.CheckAgency(ctx, agencyID); err != nil {
		return nil, err
	}
	return a.Store.Channels(ctx, agencyID)
}

// AddChannel adds a webhook or e-mail channel to an agency and answers it
// with a webhook's signing secret, which is never shown again (Secrets).
// A target the policy refuses is a *TargetError; the same kind and target
// twice ErrDuplicateChannel; an unknown agency store.ErrNotFound.
func (a *Admin) AddChannel(ctx context.Context, p auth.Principal, ri RequestInfo, agencyID uuid.UUID, kind, target string) (*store.Channel, string, error) {
	if err := CheckTarget(ctx, a.Webhooks, kind, target); err != nil {
		var te *TargetError
		if !errors.As(err, &te) {
			return nil, "", fmt.Errorf("check channel target: %w", err)
		}
		return nil, "", te
	}
	id, secret, err := Secrets{Store: a.Store, Keys: a.Keys}.AddChannel(ctx, agencyID, kind, target)
	if errors.Is(err, store.ErrConflict) {
		return nil, "", ErrDuplicateChannel
	}
	if err != nil {
		return nil, "", err
	}
	if err := a.audit(ctx, p, ri, "channel_add", nil); err != nil {
		return nil, "", err
	}
	list, err := a.Store.Channels(ctx, agencyID)
	if err != nil {
		return nil, "", err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], secret, nil
		}
	}
	return nil, "", store.ErrNotFound
}

// audit records a change that has taken effect; see Admin.
func (a *Admin) audit(ctx context.Context, p auth.Principal, ri RequestInfo, action string, caseID *uuid.UUID) error {
	return a.Store.Audit(ctx, store.AuditEntry{At: a.now(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: action, CaseID: caseID, RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID})
}
