package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

type referralJSON struct {
	ID           string     `json:"id"`
	CaseID       string     `json:"case_id,omitempty"`
	CaseNumber   string     `json:"case_number,omitempty"`
	Service      string     `json:"service"`
	Urgent       bool       `json:"urgent"`
	Status       string     `json:"status"`
	Attempt      int        `json:"attempt"`
	Redirections int        `json:"redirections"`
	AgencyID     *string    `json:"agency_id"`
	SentAt       time.Time  `json:"sent_at"`
	DueAt        *time.Time `json:"due_at"`
	AcceptedAt   *time.Time `json:"accepted_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	Outcome      *string    `json:"outcome"`
	// Person and Note are in the provider's single-referral view only.
	Person *providerPersonJSON `json:"person,omitempty"`
	Note   *string             `json:"note,omitempty"`
}

// providerPersonJSON is the minimum a provider needs of the person.
type providerPersonJSON struct {
	// GivenName is absent without the person's consent to data sharing.
	GivenName   string   `json:"given_name,omitempty"`
	AgeBand     string   `json:"age_band"`
	Sex         string   `json:"sex"`
	Languages   []string `json:"languages"`
	UrgentNeeds []string `json:"urgent_needs"`
}

func referralOf(r *store.Referral) referralJSON {
	out := referralJSON{ID: r.ID.String(), Service: r.Service, Urgent: r.Urgent, Status: r.Status, Attempt: r.Attempt,
		Redirections: r.Redirections, SentAt: r.SentAt.UTC(), DueAt: utc(r.DueAt), AcceptedAt: utc(r.AcceptedAt),
		CompletedAt: utc(r.CompletedAt), Outcome: r.Outcome}
	if r.AgencyID != nil {
		a := r.AgencyID.String()
		out.AgencyID = &a
	}
	return out
}

func (s *Server) refer(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return err
	}
	var req cases.ReferRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	referralID, err := s.deps.Cases.Refer(c.UserContext(), signedInUser(c), id, req, retryOf(c))
	if err != nil {
		return err
	}
	c.Location("/api/v1/referrals/" + referralID.String())
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": referralID.String()})
}

func (s *Server) withdrawReferral(c *fiber.Ctx) error {
	caseID, err1 := uuid.Parse(c.Params("id"))
	referralID, err2 := uuid.Parse(c.Params("referral_id"))
	if err1 != nil || err2 != nil {
		return cases.ErrNotFound
	}
	state, err := s.deps.Cases.WithdrawReferral(c.UserContext(), signedInUser(c), caseID, referralID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"id": referralID.String(), "status": state.Status})
}

// inbox answers a page of the referrals addressed to the caller's agency,
// newest sent first; next is the cursor of the following page (passed back
// as after), null on the last.
func (s *Server) inbox(c *fiber.Ctx) error {
	var q queryErrors
	q.only(c, "status", "limit", "after")
	status, limit, after := q.oneOf(c, "status", workflows.ReferralStatuses), q.limit(c, 100, cases.MaxPage), q.cursor(c, s, cursorReferrals)
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.deps.Cases.InboxPage(c.UserContext(), signedInUser(c), status, after, limit)
	if err != nil {
		return err
	}
	out := make([]referralJSON, 0, len(page.Referrals))
	for i := range page.Referrals {
		out = append(out, referralOf(&page.Referrals[i]))
	}
	var next *string
	if page.More {
		last := page.Referrals[len(page.Referrals)-1]
		cur := s.encodeCursor(cursorReferrals, store.Cursor{At: last.SentAt, ID: last.ID})
		next = &cur
	}
	return c.JSON(fiber.Map{"referrals": out, "next": next})
}

func (s *Server) getReferral(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	v, err := s.deps.Cases.ReferralForProvider(c.UserContext(), signedInUser(c), id, requestInfo(c))
	if err != nil {
		return err
	}
	out := referralOf(v.Referral)
	out.CaseNumber = v.CaseNumber
	out.Person = &providerPersonJSON{GivenName: v.GivenName, AgeBand: v.AgeBand, Sex: v.Sex, Languages: v.Languages, UrgentNeeds: v.Urgent}
	if out.Person.Languages == nil {
		out.Person.Languages = []string{}
	}
	if v.Note != "" {
		out.Note = &v.Note
	}
	return c.JSON(out)
}

type declineRequest struct {
	// Reason is one of the SOP's decline_reasons: the cases service checks it (422).
	Reason string `json:"reason" validate:"required,max=64"`
	Note   string `json:"note" validate:"max=4000"`
}

type completeRequest struct {
	// Outcome is one of the SOP's completion_outcomes: the cases service checks it (422).
	Outcome string `json:"outcome" validate:"required,max=64"`
	Note    string `json:"note" validate:"max=4000"`
}

// answer runs a provider's command and answers with the referral's state.
func (s *Server) answer(update string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := uuid.Parse(c.Params("id"))
		if err != nil {
			return cases.ErrNotFound
		}
		if err := s.deps.Cases.CheckAddressee(c.UserContext(), signedInUser(c), id); err != nil {
			return err
		}
		var cmd workflows.AnswerCommand
		var note string
		switch update {
		case workflows.UpdateDecline:
			var req declineRequest
			if err := decode(c, &req); err != nil {
				return err
			}
			cmd.Reason, note = req.Reason, req.Note
		case workflows.UpdateComplete:
			var req completeRequest
			if err := decode(c, &req); err != nil {
				return err
			}
			cmd.Outcome, note = req.Outcome, req.Note
		case workflows.UpdateProgress:
			var req reasonlessNote
			if err := decode(c, &req); err != nil {
				return err
			}
			note = req.Note
		}
		state, err := s.deps.Cases.AnswerWith(c.UserContext(), signedInUser(c), id, update, cmd, note, retryOf(c))
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"id": id.String(), "status": state.Status, "attempt": state.Attempt})
	}
}

type reasonlessNote struct {
	Note string `json:"note" validate:"required,max=4000"`
}
