package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// ErasureReasons are the grounds on which the competent authority orders a
// person's identity erased.
var ErasureReasons = []string{"data_subject_request", "court_order", "unlawful_processing"}

// ErasureRequest is an erasure ordered by the competent authority. Order is
// the reference of the authority's order, never free text: both fields go
// into the timeline, which outlives the identity it erases.
type ErasureRequest struct {
	Reason string `json:"reason" validate:"required,oneof=data_subject_request court_order unlawful_processing"`
	Order  string `json:"order" validate:"required,max=32"`
}

// maxOrderLen bounds an order reference, in characters.
const maxOrderLen = 32

// orderReference is what an order's reference looks like: an optional "No."
// and segments of capital letters and digits joined by '/', '-' or '.', such
// as "No. 12/2026-A" or "ASG-CO-2026/0451". The shape keeps a name, a birth
// date in words or a phone number with spaces from entering the permanent
// record through this field: no spaces, no lower case, no letters beyond
// Latin capitals, at most four letters in a segment, and at least one digit.
var orderReference = regexp.MustCompile(`^(?:No\.? ?)?[A-Z0-9]+(?:[/.-][A-Z0-9]+)*$`)

func validOrderReference(s string) bool {
	if !orderReference.MatchString(s) || !strings.ContainsAny(s, "0123456789") {
		return false
	}
	for _, seg := range strings.FieldsFunc(strings.TrimPrefix(strings.TrimPrefix(s, "No"), "."), func(r rune) bool {
		return r == '/' || r == '-' || r == '.' || r == ' '
	}) {
		letters := 0
		for _, r := range seg {
			if r >= 'A' && r <= 'Z' {
				letters++
			}
		}
		if letters > 4 {
			return false
		}
	}
	return true
}

// Validate checks the request whoever sends it: a known reason, and an order
// reference (orderReference) of at most 32 characters.
func (r ErasureRequest) Validate() error {
	verr := &ValidationError{}
	if !slices.Contains(ErasureReasons, r.Reason) {
		verr.add("reason", "oneof", "must be one of: data_subject_request court_order unlawful_processing")
	}
	switch n := utf8.RuneCountInString(r.Order); {
	case n == 0:
		verr.add("order", "required", "is required")
	case n > maxOrderLen || !utf8.ValidString(r.Order):
		verr.add("order", "max", fmt.Sprintf("is longer or larger than %d", maxOrderLen))
	case !validOrderReference(r.Order):
		verr.add("order", "order_reference", "must be the order's reference: capital letters (at most four together) and digits joined by '/', '-' or '.', such as No. 12/2026-A")
	}
	if len(verr.Errors) > 0 {
		return verr
	}
	return nil
}

// ErrAlreadyErased: the case's identity is gone already (retention,
// declined consent or an earlier erasure).
var ErrAlreadyErased = &RuleError{Rule: "already_erased", Detail: "the identity of this case has already been destroyed"}

// EventIdentityErased is the timeline event of an erasure.
const EventIdentityErased = "identity_erased"

// Erase destroys a case's identity on the competent authority's order: the
// data key, the person and the blind indexes go, and the timeline records
// the reason and the order's reference, in one transaction. The anonymised
// case, its stage, obligations and workflow continue as before.
func (s *Service) Erase(ctx context.Context, p auth.Principal, caseID uuid.UUID, req ErasureRequest, ri RequestInfo) error {
	if !p.Is(auth.CompetentAuthority) {
		return ErrForbidden
	}
	if err := s.CheckVisible(ctx, p, caseID); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(map[string]string{"reason": req.Reason, "order": req.Order})
	if err != nil {
		return fmt.Errorf("erase case %s: %w", caseID, err)
	}
	at := s.now().UTC()
	actor := p.UserID
	ev := store.Event{ID: "case-" + caseID.String() + "/erasure", CaseID: caseID, Type: EventIdentityErased,
		At: at, ActorID: &actor, Data: data}
	erased, err := s.Store.EraseIdentity(ctx, caseID, at, ev)
	if err != nil {
		return err
	}
	if !erased {
		return ErrAlreadyErased
	}
	// The attachments went with the key (migration 0023); chunks kept in an
	// object store are deleted now rather than at the next housekeeping.
	if _, err := s.PurgeAttachments(context.WithoutCancel(ctx)); err != nil {
		s.logWarn("erasure: attachments left for the housekeeping", "case_id", caseID, "error", err)
	}
	entry := store.AuditEntry{At: at, UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.identity.erase", CaseID: &caseID, Fields: store.Strings(IdentityFields), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(context.WithoutCancel(ctx), entry); err != nil {
		return errors.Join(fmt.Errorf("identity of case %s erased, but not audited", caseID), err)
	}
	return nil
}
