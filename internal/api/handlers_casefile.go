package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
)

type noteJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	AuthorName string    `json:"author_name"`
	Body       *string   `json:"body"`
	At         time.Time `json:"at"`
}

// caseNotes answers the case file's notes; the read is audited.
func (s *Server) caseNotes(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	notes, err := s.deps.Cases.Notes(c.UserContext(), signedInUser(c), id, requestInfo(c))
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(notes))
	for _, n := range notes {
		j := noteJSON{ID: n.ID.String(), Kind: n.Kind, AuthorName: n.AuthorName, At: n.At.UTC()}
		if !n.Gone {
			j.Body = &n.Body
		}
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"notes": out})
}

func (s *Server) addNote(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return err
	}
	var req noteRequest // an empty note is the service's 422
	if err := decode(c, &req); err != nil {
		return err
	}
	noteID, err := s.deps.Cases.AddNote(c.UserContext(), signedInUser(c), id, req.Note, retryOf(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": noteID.String()})
}

// caseReferrals answers a case's referrals with the agency that has each.
func (s *Server) caseReferrals(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	list, err := s.deps.Cases.Referrals(c.UserContext(), signedInUser(c), id)
	if err != nil {
		return err
	}
	type caseReferralJSON struct {
		referralJSON
		AgencyName *string `json:"agency_name"`
	}
	out := make([]caseReferralJSON, 0, len(list))
	for i := range list {
		out = append(out, caseReferralJSON{referralJSON: referralOf(&list[i].Referral), AgencyName: list[i].AgencyName})
	}
	return c.JSON(fiber.Map{"referrals": out})
}
