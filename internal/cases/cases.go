// Package cases is the service behind the case routes: it validates a
// screening against the SOP, writes the person and the case, and hands the
// case to its CaseWorkflow.
package cases

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/nrm-tm/nrm/internal/attachments"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// Sentinel errors the API maps to HTTP problems.
var (
	ErrForbidden = errors.New("forbidden for this role")
	ErrNotFound  = errors.New("case not found")
)

// FieldError is one failed rule on one request field.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ValidationError lists every rule a request broke.
type ValidationError struct{ Errors []FieldError }

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%d invalid fields", len(e.Errors))
}

func (e *ValidationError) add(field, rule, msg string) {
	e.Errors = append(e.Errors, FieldError{Field: field, Rule: rule, Message: msg})
}

// Service opens and reads cases.
type Service struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	SOPs      *sop.Set
	Vault     *identity.Vault
	Regions   []string
	Prefix    string // case number prefix, e.g. TM
	Log       *slog.Logger
	Now       func() time.Time
	// Attachments are the stores of the cases' files (attachments.go);
	// AttachmentMax bounds a file's size in bytes (DefaultAttachmentMax when 0).
	Attachments   *attachments.Backends
	AttachmentMax int64
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Opened is what opening a case answers.
type Opened struct {
	Case      *store.Case
	Screening sop.ScreeningResult
	// Duplicates are the earlier cases of the same person (found by blind
	// index) that the caller may already see. Earlier cases elsewhere are
	// not disclosed: the competent authority is notified to reconcile them.
	Duplicates []DuplicateCase
	// ClosedAtOnce: the screening did not qualify and was not forwarded, so
	// the case opened and closed at once.
	ClosedAtOnce bool
}

// DuplicateCase is an earlier case of the same person the caller may see.
type DuplicateCase struct {
	ID     uuid.UUID
	Number string
}

// Screening bursts: an officer who records this many screenings that open
// and close at once within the window raises an alert to the agency's
// supervisors. Probing the duplicate check with bare document numbers looks
// like that; so does a training session on the live system.
const (
	BurstThreshold = 5
	BurstWindow    = time.Hour
)

// Open validates the screening, stores the case and its person in one
// transaction, then starts the CaseWorkflow. When Temporal cannot be reached
// the case stays recorded and the reconciler starts its workflow later.
func (s *Service) Open(ctx context.Context, p auth.Principal, req OpenRequest) (*Opened, error) {
	return s.OpenWith(ctx, p, req, Retry{})
}

// OpenWith is Open for a request a client may send again (its
// Idempotency-Key): the case's ID follows from the user, the key and the
// request (caseIDFor), so a retry whose first attempt was recorded but never
// answered — the API process died, PostgreSQL or Temporal went away after
// the commit — answers that case instead of opening a second one.
func (s *Service) OpenWith(ctx context.Context, p auth.Principal, req OpenRequest, retry Retry) (*Opened, error) {
	if !p.Is(auth.Frontline) {
		return nil, ErrForbidden
	}
	now := s.now()
	active, err := s.SOPs.Active(now)
	if err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	if verr := s.check(active, &req, now); verr != nil {
		return nil, verr
	}
	child, ageBand := classifyAge(active, req)
	encounteredAt, _ := req.occurredAt()
	result, err := active.Score(req.Indicators, child)
	if err != nil { // validated above; reaching here is a bug, not bad input
		return nil, fmt.Errorf("score screening: %w", err)
	}
	screening, err := json.Marshal(result.Dimensions)
	if err != nil {
		return nil, fmt.Errorf("encode screening: %w", err)
	}
	if err := s.Store.PinSOP(ctx, active.ID, active.Version, active.Hash); err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	c := &store.Case{
		ID:               caseIDFor(p, retry),
		AgencyID:         p.AgencyID,
		CreatedBy:        p.UserID,
		SOPID:            active.ID,
		SOPVersion:       active.Version,
		SOPHash:          active.Hash,
		Child:            child,
		Sex:              req.Person.Sex,
		AgeBand:          ageBand,
		Citizenship:      req.Person.Citizenship,
		Region:           req.Encounter.Region,
		EncounterContext: req.Encounter.Context,
		EncounteredAt:    encounteredAt.UTC(),
		Indicators:       store.Strings(dedupe(req.Indicators)),
		Exploitation:     store.Strings(dedupe(req.Exploitation)),
		UrgentNeeds:      store.Strings(dedupe(req.UrgentNeeds)),
		ScreeningOutcome: result.Outcome,
		Screening:        screening,
		OfficerConcern:   req.OfficerConcern != nil && *req.OfficerConcern != "",
		OpenedAt:         now.UTC(),
	}
	if req.Consent != nil {
		c.ConsentReferral = &req.Consent.Referral
		c.ConsentDataSharing = &req.Consent.DataSharing
	}
	// The workflow moves the stage on; until it has, the case is in screening.
	c.Stage = workflows.StageScreening
	// Countries are anonymised codes like the region, kept on the case only:
	// the workflow's input and search attributes carry none of them.
	c.ExploitationCountries = store.Strings(dedupe(req.ExploitationCountries))
	c.TransitCountries = store.Strings(dedupe(req.TransitCountries))
	person := personRecord(req)
	sealed, err := s.Vault.Seal(c.ID, person, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	visible, notes, err := s.possibleDuplicates(ctx, p, person, c.ID, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	for i := range notes { // the SOP says which agency answers for the role
		notes[i].RecipientAgencyType = active.AgencyFor(notes[i].RecipientRole)
	}
	year := now.In(active.Calendar.Location).Year()
	// recorded: an earlier attempt of this keyed request recorded the case;
	// it is answered again (its workflow started if it was not).
	recorded := false
	if err := s.Store.CreateCase(ctx, c, sealed, s.Prefix, year, notes...); err != nil {
		earlier, ok := s.openedBefore(ctx, p, retry, c.ID, err)
		if !ok {
			return nil, fmt.Errorf("open case: %w", err)
		}
		c, visible, recorded = earlier, nil, true
	}
	opened := &Opened{Case: c, Screening: result, Duplicates: visible,
		ClosedAtOnce: result.Outcome != sop.OutcomePresumedVictim && !c.OfficerConcern}
	if opened.ClosedAtOnce && !recorded {
		s.recordClosedAtOnce(ctx, p, c)
	}
	if recorded && c.WorkflowStartedAt != nil {
		return opened, nil
	}
	if err := s.startAndOpen(ctx, c); err != nil {
		// The case is recorded; the reconciler will start its workflow.
		s.Log.Warn("case workflow not started; reconciler will retry", "case_id", c.ID, "error", err)
		return opened, nil
	}
	// The workflow has recorded the opening: read the case back with it.
	if fresh, err := s.Store.Case(ctx, store.CaseScope{All: true}, c.ID); err == nil {
		opened.Case = fresh
	}
	return opened, nil
}

// caseIDFor is the ID of the case a request opens: random without an
// Idempotency-Key; with one, derived from the user, the key and the
// request's fingerprint, so that every retry of the request names the same
// case (and another request under a reused key another one).
func caseIDFor(p auth.Principal, r Retry) uuid.UUID {
	if r.Key == "" {
		return uuid.New()
	}
	var data []byte
	for _, part := range [][]byte{p.UserID[:], []byte(r.Key), r.Fingerprint} {
		data = binary.BigEndian.AppendUint64(data, uint64(len(part)))
		data = append(data, part...)
	}
	return uuid.NewSHA1(openedCaseSpace, data)
}

// openedCaseSpace is the UUID name space of caseIDFor.
var openedCaseSpace = uuid.MustParse("6f1d3c52-8a4e-4b7a-9c1e-2d0b5e7f4a93")

// openedBefore answers the case an earlier attempt of the same keyed
// request recorded, when err is the conflict of recording it again.
func (s *Service) openedBefore(ctx context.Context, p auth.Principal, r Retry, id uuid.UUID, err error) (*store.Case, bool) {
	if r.Key == "" || !errors.Is(err, store.ErrConflict) {
		return nil, false
	}
	c, gerr := s.Store.Case(ctx, store.CaseScope{All: true}, id)
	if gerr != nil || c.CreatedBy != p.UserID {
		return nil, false
	}
	return c, true
}

// DuplicatesChecked is how many earlier cases of the same person an opening
// or a correction looks at: the most recent ones. Enough for the authority
// to reconcile them (each earlier case was itself matched against those
// before it), and it keeps the check's cost the same for a person screened
// a hundred times, or a phone number a shelter gives for everyone, as for
// a person seen once.
const DuplicatesChecked = 10

// possibleDuplicates finds earlier cases of the same person (the
// DuplicatesChecked most recent). The caller is told only of those it may
// already see: anything more would let any officer learn, from a document
// number alone, whether a person has a trafficking case and where. The
// competent authority, which sees every case, is notified of each one to
// reconcile them (the notifications are written with the case).
func (s *Service) possibleDuplicates(ctx context.Context, p auth.Principal, person identity.Person, caseID uuid.UUID, now time.Time) ([]DuplicateCase, []store.Notification, error) {
	ids, err := s.Vault.PossibleDuplicates(ctx, person, caseID, DuplicatesChecked)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	numbers, err := s.Store.CaseNumbers(ctx, auth.CaseScope(p), ids)
	if err != nil {
		return nil, nil, err
	}
	var visible []DuplicateCase
	var notes []store.Notification
	for _, id := range ids {
		earlier := id
		notes = append(notes, store.Notification{ID: "case-" + caseID.String() + "/possible_duplicate/" + id.String(),
			CaseID: caseID, Kind: NotificationPossibleDuplicate, RecipientRole: "competent_authority",
			RelatedCaseID: &earlier, CreatedAt: now})
		if number, ok := numbers[id]; ok {
			visible = append(visible, DuplicateCase{ID: id, Number: number})
		}
	}
	return visible, notes, nil
}

// NotificationPossibleDuplicate tells the competent authority that a new
// case may repeat an earlier one (RelatedCaseID).
const NotificationPossibleDuplicate = "possible_duplicate"

// NotificationScreeningBurst tells an agency's supervisors that one of its
// officers recorded BurstThreshold screenings that closed at once within
// BurstWindow.
const NotificationScreeningBurst = "screening_burst"

// recordClosedAtOnce audits a screening that opened and closed at once and
// raises the burst alert when the officer reaches the threshold (and each
// multiple of it). Failures are logged, not returned: the case is recorded,
// and refusing the answer would make the officer screen the person again.
func (s *Service) recordClosedAtOnce(ctx context.Context, p auth.Principal, c *store.Case) {
	ctx = context.WithoutCancel(ctx)
	id := c.ID
	if err := s.Store.Audit(ctx, store.AuditEntry{At: c.OpenedAt, UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.screening.closed_at_once", CaseID: &id}); err != nil {
		s.Log.Error("audit screening closed at once", "case_id", c.ID, "error", err)
	}
	n, err := s.Store.ScreeningsClosedAtOnce(ctx, p.UserID, c.OpenedAt.Add(-BurstWindow))
	if err != nil {
		s.Log.Error("count screenings closed at once", "user_id", p.UserID, "error", err)
		return
	}
	if n < BurstThreshold || n%BurstThreshold != 0 {
		return
	}
	s.Log.Warn("security alert: burst of screenings that closed at once", "user_id", p.UserID, "agency_id", p.AgencyID,
		"count", n, "window", BurstWindow.String())
	note := store.Notification{ID: "case-" + c.ID.String() + "/screening_burst", CaseID: c.ID, Kind: NotificationScreeningBurst,
		RecipientRole: "supervisor", RecipientAgencyID: &p.AgencyID, CreatedAt: c.OpenedAt}
	if err := s.Store.AddNotifications(ctx, c.ID, note); err != nil {
		s.Log.Error("screening burst alert", "case_id", c.ID, "error", err)
	}
}

// startAndOpen starts the workflow and waits, in the same call, until it has
// recorded the opening (update-with-start), so the answer carries the stage
// and obligations the workflow set. Recording the opening marked the
// workflow started (store.RecordTransition).
func (s *Service) startAndOpen(ctx context.Context, c *store.Case) error {
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	start := s.Temporal.NewWithStartWorkflowOperation(s.startOptions(c), workflows.CaseWorkflowName, workflowInput(c))
	handle, err := s.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName:   workflows.UpdateOpen,
			UpdateID:     workflows.UpdateOpen,
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return fmt.Errorf("start workflow of case %s: %w", c.ID, err)
	}
	if err := handle.Get(ctx, nil); err != nil {
		return fmt.Errorf("open case %s: %w", c.ID, err)
	}
	return nil
}

func (s *Service) startOptions(c *store.Case) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.CaseWorkflowID(c.ID.String()),
		TaskQueue:                s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrStage.ValueSet(workflows.StageScreening),
			workflows.AttrSOPVersion.ValueSet(c.SOPVersion),
			workflows.AttrAgencyID.ValueSet(c.AgencyID.String()),
			workflows.AttrChild.ValueSet(c.Child),
		),
	}
}

// StartWorkflow starts the case's workflow, or finds it already running, and
// marks the case as started. Safe to repeat.
func (s *Service) StartWorkflow(ctx context.Context, c *store.Case) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, s.startOptions(c), workflows.CaseWorkflowName, workflowInput(c))
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return fmt.Errorf("start workflow of case %s: %w", c.ID, err)
	}
	return s.Store.MarkWorkflowStarted(ctx, c.ID, s.now())
}

func workflowInput(c *store.Case) workflows.CaseInput {
	return workflows.CaseInput{
		CaseID:             c.ID.String(),
		AgencyID:           c.AgencyID.String(),
		Region:             c.Region,
		OpenedBy:           c.CreatedBy.String(),
		SOPID:              c.SOPID,
		SOPVersion:         c.SOPVersion,
		SOPHash:            c.SOPHash,
		OpenedAt:           c.OpenedAt,
		Child:              c.Child,
		ScreeningOutcome:   c.ScreeningOutcome,
		OfficerConcern:     c.OfficerConcern,
		ConsentReferral:    c.ConsentReferral,
		ConsentDataSharing: c.ConsentDataSharing,
	}
}

func personRecord(req OpenRequest) identity.Person {
	p := identity.Person{
		GivenName:      req.Person.GivenName,
		FamilyName:     req.Person.FamilyName,
		AgeEstimate:    req.Person.AgeEstimate,
		Languages:      dedupe(req.Person.Languages),
		Phone:          req.Person.Phone,
		DocumentNumber: req.Person.DocumentNumber,
		Place:          req.Encounter.Place,
		Narrative:      req.Narrative,
	}
	if t, ok := req.birthDate(); ok {
		p.BirthDate = &t
	}
	if req.OfficerConcern != nil {
		p.OfficerConcern = *req.OfficerConcern
	}
	return p
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// CheckVisible answers ErrNotFound for a case the caller may not see, so that
// handlers refuse before reading the body: another agency learns nothing.
func (s *Service) CheckVisible(ctx context.Context, p auth.Principal, id uuid.UUID) error {
	_, err := s.Store.Case(ctx, auth.CaseScope(p), id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
