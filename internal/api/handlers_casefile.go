package api

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

type noteJSON struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	AuthorID   string    `json:"author_id"`
	AuthorName string    `json:"author_name"`
	AgencyID   string    `json:"agency_id"`
	AgencyName string    `json:"agency_name"`
	ReferralID *string   `json:"referral_id"`
	Body       *string   `json:"body"`
	At         time.Time `json:"at"`
}

// caseNotes answers a page of the notes of the case file the caller may
// read, oldest first; next is the cursor of the following page (passed
// back as after), null on the last. The read is audited.
func (s *Server) caseNotes(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	var q queryErrors
	q.only(c, "limit", "after")
	query := cases.NotesQuery{Limit: q.limit(c, cases.DefaultNotesPage, cases.MaxPage), After: q.cursor(c, s, cursorNotes)}
	if err := q.err(); err != nil {
		return err
	}
	page, err := s.deps.Cases.Notes(c.UserContext(), signedInUser(c), id, query, requestInfo(c))
	if err != nil {
		return err
	}
	out := make([]noteJSON, 0, len(page.Notes))
	for _, n := range page.Notes {
		j := noteJSON{ID: n.ID.String(), Kind: n.Kind, AuthorID: n.AuthorID.String(), AuthorName: n.AuthorName,
			AgencyID: n.AgencyID.String(), AgencyName: n.AgencyName, At: n.At.UTC()}
		if n.ReferralID != nil {
			r := n.ReferralID.String()
			j.ReferralID = &r
		}
		if !n.Gone {
			j.Body = &n.Body
		}
		out = append(out, j)
	}
	var next *string
	if page.More {
		last := page.Notes[len(page.Notes)-1]
		cur := s.encodeCursor(cursorNotes, store.Cursor{At: last.At, ID: last.ID})
		next = &cur
	}
	return c.JSON(fiber.Map{"notes": out, "next": next})
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
