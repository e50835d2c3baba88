// Package notify delivers the notifications outbox: every event that needs a
// person's action (a new referral, a reminder, a breach, an escalation, a
// decision or a closure to approve) is written to the `notifications` table
// by the workflow activity that records it, in the same transaction; the
// Dispatcher here delivers it through the recipient agency's channels.
//
// Channels:
//
//   - in-app: always on. The agency reads its notifications from the outbox
//     (GET /api/v1/notifications); this counts as delivered at once.
//   - webhook: per agency, optional; a signed JSON POST (see Sign), retried
//     with exponential backoff, then dead-lettered for administrators.
//   - e-mail: per agency, optional; over SMTP when the dispatcher has an
//     SMTP server configured, skipped (with one warning) when it has none.
//
// What leaves the system carries codes, IDs, the case number and a link to
// the case only: never identity data. Log lines carry IDs only.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Recipient roles of notifications beyond the SOP's owner roles
// (opening_agency, competent_authority, service_provider, supervisor,
// child_protection) and escalation targets (twg).
const (
	// RecipientAgency addresses the whole recipient agency: every role of
	// it reads the notification.
	RecipientAgency = "agency"
)

// audience is the one rule that says which recipient roles of their own
// agency each user role reads in-app. A notification's recipient agency is
// resolved when it is written (store.RecordTransition): the opening agency
// for opening_agency and supervisor, else the agency of that type.
//
//   - supervisor: everything addressed to their agency (supervisors are
//     warned of every deadline of their agency, docs/process.md#notifications);
//   - frontline: the case owner's (opening_agency) and child protection's;
//   - competent_authority: competent_authority;
//   - provider: provider (what ReferralWorkflow addresses), service_provider
//     (the SOP's owner role) and child protection's;
//   - twg: twg;
//   - admin: only what is addressed to the agency as a whole.
//
// Every role also reads RecipientAgency notifications of its agency.
var audience = map[auth.Role][]string{
	auth.Frontline:          {"opening_agency", "child_protection"},
	auth.CompetentAuthority: {"competent_authority"},
	auth.Provider:           {"provider", "service_provider", "child_protection"},
	auth.TWG:                {"twg"},
	auth.Admin:              {},
}

// Audience returns the notifications of their own agency a role reads.
// An unknown role reads none.
func Audience(role auth.Role) store.Recipients {
	if role == auth.Supervisor {
		return store.Recipients{All: true}
	}
	roles, ok := audience[role]
	if !ok {
		return store.Recipients{}
	}
	return store.Recipients{Roles: append(store.Strings{RecipientAgency}, roles...)}
}

// Message is a notification as channels see it. Payloads and e-mails take
// from it only the ID, kind, case number, obligation, times and link;
// RecipientRole and AgencyID are for routing and log lines.
type Message struct {
	ID            string
	Kind          string
	CaseID        uuid.UUID
	CaseNumber    string
	Obligation    string
	RecipientRole string
	AgencyID      uuid.UUID
	DueAt         *time.Time
	CreatedAt     time.Time
	// Link is the case in the web UI: PublicURL + "/cases/<case id>".
	Link string
}

// Channel is a channel every delivered notification also goes through,
// whatever its agency (LogChannel in `nrm dev`). Errors are logged, not retried.
type Channel interface {
	Name() string
	Send(ctx context.Context, m Message) error
}

// ErrBadTarget is returned for a channel target that cannot be used.
var ErrBadTarget = errors.New("bad channel target")

// TargetError says why a channel target was refused, in words an
// administrator can act on. It never repeats the target (a webhook URL
// may hold a receiver's token) nor an address its name resolved to.
type TargetError struct {
	// Rule is the broken rule: url, https, address, resolve, email or kind.
	Rule string
	// Reason completes "target …".
	Reason string
}

func (e *TargetError) Error() string { return ErrBadTarget.Error() + ": " + e.Reason }

// Is makes every TargetError an ErrBadTarget.
func (e *TargetError) Is(target error) bool { return target == ErrBadTarget }

func targetErr(rule, reason string) error { return &TargetError{Rule: rule, Reason: reason} }

// CheckTarget validates a channel's target before it is stored: a webhook
// needs an absolute https URL without credentials or fragment whose host
// the policy lets webhooks reach (plain http only to a receiver let
// through by exception); e-mail needs a bare address. A webhook's host
// name is looked up, bounded by a few seconds. A nil policy allows public
// addresses only.
func CheckTarget(ctx context.Context, policy *WebhookPolicy, kind, target string) error {
	if strings.ContainsAny(target, "\r\n\x00") || len(target) > 2048 {
		return targetErr("url", "must hold no control characters and at most 2048 bytes")
	}
	switch kind {
	case store.ChannelWebhook:
		u, err := parseWebhookURL(target)
		if err != nil {
			return err
		}
		return policy.checkWebhook(ctx, u)
	case store.ChannelEmail:
		a, err := mail.ParseAddress(target)
		if err != nil || a.Name != "" || a.Address != target || len(target) > 254 {
			return targetErr("email", "must be a bare e-mail address")
		}
		return nil
	}
	return targetErr("kind", fmt.Sprintf("has an unknown kind %q", kind))
}

// Link is where the web UI shows what a notification is about: the case
// page, or for a provider — who never sees a case — its referral inbox.
func Link(publicURL string, caseID uuid.UUID, recipientRole string) string {
	if recipientRole == "provider" {
		return strings.TrimRight(publicURL, "/") + "/referrals"
	}
	return strings.TrimRight(publicURL, "/") + "/cases/" + caseID.String()
}
