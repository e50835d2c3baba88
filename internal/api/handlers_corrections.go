package api

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
)

// Corrections with history (internal/cases/corrections.go): two merge-patch
// routes and the history. A case the caller may not see is 404 before the
// body is read; the service audits each correction (case.correct) and each
// read of the history's values (case.history.read).

// correctPerson is PATCH /api/v1/cases/{id}/person: the person's fields,
// named as in the screening's person, and the reason.
func (s *Server) correctPerson(c *fiber.Ctx) error {
	id, err := s.correctable(c)
	if err != nil {
		return err
	}
	var patch cases.PersonPatch
	nulls, err := decodeMergePatch(c, &patch)
	if err != nil {
		return err
	}
	corr := cases.Correction{Reason: patch.Reason, Person: &patch, Null: map[string]bool{}}
	for path := range nulls {
		if path == "reason" {
			corr.Null[path] = true
		} else {
			corr.Null["person."+path] = true
		}
	}
	res, err := s.deps.Cases.Correct(c.UserContext(), signedInUser(c), id, corr, requestInfo(c))
	if err != nil {
		// The body names the person's fields without "person.".
		var verr *cases.ValidationError
		if errors.As(err, &verr) {
			for i := range verr.Errors {
				verr.Errors[i].Field = strings.TrimPrefix(verr.Errors[i].Field, "person.")
			}
		}
		return err
	}
	return s.answerCorrected(c, res)
}

// correctCase is PATCH /api/v1/cases/{id}: the encounter, the types of
// exploitation, the urgent needs and the countries, and the reason.
func (s *Server) correctCase(c *fiber.Ctx) error {
	id, err := s.correctable(c)
	if err != nil {
		return err
	}
	var patch cases.CasePatch
	nulls, err := decodeMergePatch(c, &patch)
	if err != nil {
		return err
	}
	res, err := s.deps.Cases.Correct(c.UserContext(), signedInUser(c), id,
		cases.Correction{Reason: patch.Reason, Case: &patch, Null: nulls}, requestInfo(c))
	if err != nil {
		return err
	}
	return s.answerCorrected(c, res)
}

// correctable parses the case's ID and answers 404 for a case the caller
// may not see, before the body is read.
func (s *Server) correctable(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, cases.ErrNotFound
	}
	if err := s.deps.Cases.CheckVisible(c.UserContext(), signedInUser(c), id); err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// answerCorrected answers the corrected case, without identity, with the
// earlier cases of the person the corrected values found that the caller
// may see.
func (s *Server) answerCorrected(c *fiber.Ctx, res *cases.Corrected) error {
	v, err := s.deps.Cases.Get(c.UserContext(), signedInUser(c), res.Case.ID, requestInfo(c))
	if err != nil {
		return err
	}
	out, err := caseDetail(v)
	if err != nil {
		return err
	}
	if len(res.Duplicates) > 0 {
		out.PossibleDuplicate = &duplicateJSON{}
		for _, d := range res.Duplicates {
			out.PossibleDuplicate.Cases = append(out.PossibleDuplicate.Cases, duplicateCaseJSON{ID: d.ID.String(), Number: d.Number})
		}
	}
	return c.JSON(out)
}

type correctionJSON struct {
	ID         string            `json:"id"`
	Seq        int               `json:"seq"`
	At         time.Time         `json:"at"`
	AuthorID   string            `json:"author_id"`
	AuthorName string            `json:"author_name"`
	Role       string            `json:"role"`
	AgencyID   string            `json:"agency_id"`
	AgencyName string            `json:"agency_name"`
	Fields     []string          `json:"fields"`
	Reason     *string           `json:"reason"`
	Changes    []fieldChangeJSON `json:"changes"`
}

type fieldChangeJSON struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// caseHistory is GET /api/v1/cases/{id}/history: the corrections of the
// case, oldest first.
func (s *Server) caseHistory(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	entries, err := s.deps.Cases.History(c.UserContext(), signedInUser(c), id, requestInfo(c))
	if err != nil {
		return err
	}
	out := make([]correctionJSON, 0, len(entries))
	for _, e := range entries {
		cj := correctionJSON{ID: e.ID.String(), Seq: e.Seq, At: e.At.UTC(), AuthorID: e.ActorID.String(), AuthorName: e.ActorName,
			Role: e.Role, AgencyID: e.AgencyID.String(), AgencyName: e.AgencyName, Fields: e.Fields, Reason: e.Reason}
		if e.Changes != nil {
			cj.Changes = []fieldChangeJSON{}
			for _, ch := range e.Changes {
				cj.Changes = append(cj.Changes, fieldChangeJSON{Field: ch.Field, From: orNull(ch.From), To: orNull(ch.To)})
			}
		}
		out = append(out, cj)
	}
	return c.JSON(fiber.Map{"corrections": out})
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}
