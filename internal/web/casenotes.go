package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

// The case page shows the notes of the case file a page at a time, oldest
// first, as GET /api/v1/cases/{id}/notes answers them (each page read is
// audited by the service). ?notes=<position> opens the page after a note:
// the position is the last shown note's time in microseconds and ID. It
// only says where the page starts: the service applies the user's scope to
// every page, so an edited position shows nothing more.

// notesPerPage is how many notes the case page shows at a time.
const notesPerPage = 20

// caseNotes fills the case page's notes from the position in ?notes=.
func (p *Pages) caseNotes(c *fiber.Ctx, user auth.Principal, id uuid.UUID, ri cases.RequestInfo, zone *time.Location, out *casePage) error {
	q := cases.NotesQuery{Limit: notesPerPage, After: notesPosition(c.Query("notes"))}
	page, err := p.Cases.Notes(c.UserContext(), user, id, q, ri)
	if err != nil {
		return err
	}
	out.Notes, out.NotesPaged = page.Notes, q.After != nil
	if page.More {
		last := page.Notes[len(page.Notes)-1]
		out.NotesNext = "/cases/" + id.String() + "?notes=" + strconv.FormatInt(last.At.UnixMicro(), 10) + "." + last.ID.String() + "#notes"
	}
	for i := range out.Notes {
		out.Notes[i].At = out.Notes[i].At.In(zone)
	}
	return nil
}

// notesPosition reads "<µs>.<note ID>"; nil (the first page) otherwise.
func notesPosition(v string) *store.Cursor {
	micros, rest, ok := strings.Cut(v, ".")
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return nil
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return nil
	}
	return &store.Cursor{At: time.UnixMicro(n).UTC(), ID: id}
}
