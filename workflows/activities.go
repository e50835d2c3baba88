package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/nrm-tm/nrm/internal/sop"
)

// Activity names; package activities registers its methods under them, so
// that this package need not import the SQL side.
const (
	ActivityRecord         = "RecordCaseEvents"
	ActivityRecordReferral = "RecordReferral"
	ActivityNextProvider   = "NextProvider"
	ActivityHoldBed        = "HoldBed"
	ActivityFreeBed        = "FreeBed"
	// ActivityShredIdentity destroys a case's data key when retention ends.
	ActivityShredIdentity = "ShredIdentity"
)

// ProviderQuery asks for the next provider of a service for a referral.
type ProviderQuery struct {
	Service   string
	Region    string
	Exclude   []string
	Requested string
	At        time.Time
	// Beds: the service counts beds (the SOP's bed service), so only a
	// provider with a free bed is offered the referral.
	Beds bool
}

// BedRequest holds or frees the shelter bed of a referral (idempotent per referral).
type BedRequest struct {
	ReferralID string
	AgencyID   string
}

// ReferralRow is the read-model row of a referral.
type ReferralRow struct {
	ID                string
	CaseID            string
	Service           string
	Urgent            bool
	Region            string
	SenderID          string
	SenderAgencyID    string
	RequestedAgencyID string
	AgencyID          string
	Status            string
	Attempt           int
	Redirections      int
	SentAt            time.Time
	DueAt             time.Time
	AcceptedAt        *time.Time
	CompletedAt       *time.Time
	WithdrawnAt       *time.Time
	Outcome           string
	NoteID            string
}

// AttemptRecord is one provider a referral was sent to, and its answer.
type AttemptRecord struct {
	Attempt       int
	AgencyID      string
	SentAt        time.Time
	DueAt         time.Time
	AnsweredAt    *time.Time
	Answer        string
	DeclineReason string
}

// ReferralRecordInput writes one step of a referral in one transaction.
type ReferralRecordInput struct {
	CaseID        string
	SOPVersion    string
	At            time.Time
	Referral      ReferralRow
	Attempt       *AttemptRecord
	Events        []EventRecord
	Obligations   []ObligationRecord
	Notifications []NotificationRecord
}

// EventRecord is one timeline event. Data holds codes only, never free text.
type EventRecord struct {
	ID      string
	Seq     int
	CaseID  string
	Type    string
	At      time.Time
	ActorID string
	Data    map[string]string
}

// ObligationRecord is the read-model row of an obligation instance.
type ObligationRecord struct {
	ID         string
	Obligation string
	Kind       string
	OwnerRole  string
	// OwnerAgencyID names the owner when the role alone does not (a referral's provider).
	OwnerAgencyID string
	// OwnerAgencyType, without OwnerAgencyID, is the agency that answers for
	// the owner role under the SOP (role_agencies): sop.CaseAgency or an
	// agency type. Set by addressAgencies.
	OwnerAgencyType string
	StartsAt        time.Time
	DueAt           time.Time
	MetAt           *time.Time
	BreachedAt      *time.Time
	CancelledAt     *time.Time
	Status          string
}

// NotificationRecord asks the outbox to tell a role of an agency that
// something needs its action. It carries codes only: the dispatcher adds the
// case number and a link, never identity data.
type NotificationRecord struct {
	ID            string
	Kind          string // reminder | breach | escalation | decision_needed | closure_to_approve
	Obligation    string
	ObligationID  string
	RecipientRole string
	// RecipientAgencyID names the agency when the role alone does not.
	RecipientAgencyID string
	// RecipientAgencyType, without RecipientAgencyID, is the agency that
	// answers for the recipient role, as ObligationRecord.OwnerAgencyType.
	RecipientAgencyType string
	DueAt               time.Time
}

// addressAgencies names, for every obligation owner and notification
// recipient that no agency ID addresses, the agency that answers for its
// role under the SOP; the read model finds it in the directory.
func addressAgencies(procedure *sop.SOP, obligations []ObligationRecord, notes []NotificationRecord) {
	for i := range obligations {
		if o := &obligations[i]; o.OwnerAgencyID == "" {
			o.OwnerAgencyType = procedure.AgencyFor(o.OwnerRole)
		}
	}
	for i := range notes {
		if n := &notes[i]; n.RecipientAgencyID == "" {
			n.RecipientAgencyType = procedure.AgencyFor(n.RecipientRole)
		}
	}
}

// RecordInput writes one transition of a case to the read model in one
// transaction: events, the stage, obligations and notifications.
type RecordInput struct {
	CaseID        string
	AgencyID      string
	SOPVersion    string
	At            time.Time
	Stage         string
	Events        []EventRecord
	Obligations   []ObligationRecord
	Notifications []NotificationRecord
	ClosureReason string
	// RemoveIdentity deletes the person's identity (an adult declined consent).
	RemoveIdentity bool
	// Transfer moves the case to another agency (transfer.go); Reopen
	// reopens a closed case (reopen.go).
	Transfer *TransferRecord
	Reopen   *ReopenRecord
}

// Read-model writes are idempotent, so they retry without limit while
// PostgreSQL is away; a case never loses an event.
var readModelRetry = &temporal.RetryPolicy{
	InitialInterval:    time.Second,
	BackoffCoefficient: 2,
	MaximumInterval:    time.Minute,
}

var readModelActivity = workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: readModelRetry}

// readModelLocalActivity runs a case's read-model write in the worker that
// runs the workflow task (changeLocalRecord): a transaction of
// milliseconds, with the same retries, that needs neither the task queue's
// routing nor its own round trips to the server. If the worker dies during
// it, the workflow task times out and another worker runs it again, as a
// retried activity would.
var readModelLocalActivity = workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: readModelRetry}
