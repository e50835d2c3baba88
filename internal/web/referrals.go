package web

// The service providers' pages (shelters, legal aid, clinics): the agency's
// inbox of referrals (/referrals), one referral with the need-to-know view
// the API gives and the provider's answers (/referrals/{id}), and a
// shelter's beds (/referrals/beds). Pages call the cases service with the
// signed-in provider, as the API's referral handlers do
// (internal/api/handlers_referrals.go): a referral addressed to another
// agency is the 404 page, other roles get the 403 page.

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// mountReferrals adds the providers' pages; the fixed paths come before
// the referral's.
func (p *Pages) mountReferrals(r fiber.Router) {
	r.Get("/referrals", p.signedIn(p.referralInbox))
	r.Get("/referrals/beds", p.signedIn(p.bedsPage))
	r.Post("/referrals/beds", p.signedIn(p.setBeds))
	r.Get("/referrals/:id", p.signedIn(p.referralPage))
	for _, a := range providerAnswers {
		r.Post("/referrals/:id/"+a.update, p.signedIn(p.answerReferral(a)))
	}
}

// inboxLimit is how many referrals a section of the inbox shows; a longer
// one says so.
const inboxLimit = 200

// The inbox's sections, which its filter chooses from: the referrals
// waiting for the agency's answer, accepted, completed, withdrawn by the
// case owner, and those the agency declined or did not answer in time
// (which went to the next provider).
const (
	inboxPending   = workflows.ReferralPending
	inboxAccepted  = workflows.ReferralAccepted
	inboxCompleted = workflows.ReferralCompleted
	inboxDeclined  = "declined"
	inboxWithdrawn = workflows.ReferralWithdrawn
)

var inboxStates = []string{inboxPending, inboxAccepted, inboxCompleted, inboxDeclined, inboxWithdrawn}

// inboxStateMsg names a section (and its choice in the filter).
var inboxStateMsg = map[string]string{
	inboxPending:   "provider.inbox.pending",
	inboxAccepted:  "provider.inbox.accepted",
	inboxCompleted: "provider.inbox.completed",
	inboxDeclined:  "provider.inbox.declined",
	inboxWithdrawn: "provider.inbox.withdrawn",
}

// inboxEmptyMsg says a section has no referral.
var inboxEmptyMsg = map[string]string{
	inboxPending:   "provider.inbox.pending.none",
	inboxAccepted:  "provider.inbox.accepted.none",
	inboxCompleted: "provider.inbox.completed.none",
	inboxDeclined:  "provider.inbox.declined.none",
	inboxWithdrawn: "provider.inbox.withdrawn.none",
}

// inboxRow is one referral of the inbox: its service (the SOP's label),
// region and times, never anything of the person.
type inboxRow struct {
	ID, Service, Region string
	Urgent              bool
	// Link: the referral's page may be opened (it is still addressed to
	// the agency).
	Link   bool
	SentAt time.Time
	// State is what the status column says, in words; At the time it
	// names (the deadline to answer, for one waiting).
	State string
	At    time.Time
	// LeftMsg and LeftN are the time left to answer (or overdue).
	LeftMsg string
	LeftN   int
	Overdue bool
}

type inboxSection struct {
	ID, Title, Empty string
	Rows             []inboxRow
	More             bool
}

// bedsView is a shelter's capacity as its pages show it.
type bedsView struct {
	Total, Free int
}

type inboxData struct {
	State    string
	States   []choice
	Errors   formErrors
	Sections []inboxSection
	Beds     *bedsView
	Done     string
	Limit    int
}

// inboxDone are the confirmations the inbox shows after a form (?done=).
var inboxDone = map[string]string{"decline": "provider.done.decline", "beds": "provider.done.beds"}

func (p *Pages) referralInbox(c *fiber.Ctx, pg page) error {
	ctx := c.UserContext()
	if !pg.User.Is(auth.Provider) {
		return p.errorPage(c, cases.ErrForbidden)
	}
	data := inboxData{State: c.Query("state"), Done: inboxDone[c.Query("done")], Limit: inboxLimit}
	for _, s := range inboxStates {
		data.States = append(data.States, choice{Value: s, Msg: inboxStateMsg[s]})
	}
	pg.Title = "provider.inbox.title"
	if data.State != "" && !slices.Contains(inboxStates, data.State) {
		data.Errors.add("state", "provider.inbox.error.state")
		pg.Data = data
		return p.render(c, http.StatusUnprocessableEntity, "provider_inbox", pg)
	}
	agency, err := p.Cases.OwnAgency(ctx, *pg.User)
	if err != nil {
		return p.errorPage(c, err)
	}
	if p.Cases.CountsBeds(agency) {
		data.Beds = &bedsView{Total: agency.Beds, Free: max(agency.Beds-agency.Occupancy, 0)}
	}
	now, zone := time.Now(), p.providerZone(nil)
	// Declined first: a referral the agency has just declined is no longer
	// waiting for its answer, even before it reaches the next provider.
	passed, err := p.Cases.PassedOn(ctx, *pg.User, inboxLimit+1)
	if err != nil {
		return p.errorPage(c, err)
	}
	gone := map[uuid.UUID]bool{}
	for _, r := range passed {
		gone[r.ID] = true
	}
	for _, state := range inboxStates {
		if data.State != "" && data.State != state {
			continue
		}
		sec := inboxSection{ID: state, Title: inboxStateMsg[state], Empty: inboxEmptyMsg[state]}
		if state == inboxDeclined {
			list := passed
			if len(list) > inboxLimit {
				list, sec.More = list[:inboxLimit], true
			}
			for _, r := range list {
				sec.Rows = append(sec.Rows, p.passedRow(&r, pg.Lang, zone))
			}
			data.Sections = append(data.Sections, sec)
			continue
		}
		list, err := p.Cases.Inbox(ctx, *pg.User, state, inboxLimit+1)
		if err != nil {
			return p.errorPage(c, err)
		}
		if len(list) > inboxLimit {
			list, sec.More = list[:inboxLimit], true
		}
		for i := range list {
			if state == inboxPending && gone[list[i].ID] {
				continue
			}
			sec.Rows = append(sec.Rows, p.inboxRow(&list[i], pg.Lang, now, zone))
		}
		if state == inboxPending { // the earliest deadline first: the overdue ones lead
			sort.SliceStable(sec.Rows, func(i, j int) bool { return sec.Rows[i].At.Before(sec.Rows[j].At) })
		}
		data.Sections = append(data.Sections, sec)
	}
	pg.Data = data
	return p.render(c, http.StatusOK, "provider_inbox", pg)
}

// inboxRow words a referral still addressed to the agency.
func (p *Pages) inboxRow(r *store.Referral, lang string, now time.Time, zone *time.Location) inboxRow {
	t := p.msgs.translator(lang)
	row := inboxRow{ID: r.ID.String(), Service: p.serviceLabel(nil, r.Service, lang), Region: r.Region, Urgent: r.Urgent, Link: true,
		SentAt: r.SentAt.In(zone)}
	at := func(x time.Time) string { return x.In(zone).Format(dateLayouts[lang] + " 15:04") }
	switch {
	case r.Status == workflows.ReferralPending && r.DueAt != nil:
		row.At = r.DueAt.In(zone)
		row.State = t.T("provider.state.due", map[string]any{"At": at(*r.DueAt)})
		row.LeftMsg, row.LeftN, row.Overdue = providerTimeLeft(now, *r.DueAt)
	case r.Status == workflows.ReferralAccepted && r.AcceptedAt != nil:
		row.State = t.T("provider.state.accepted", map[string]any{"At": at(*r.AcceptedAt)})
	case r.Status == workflows.ReferralCompleted && r.CompletedAt != nil:
		row.State = t.T("provider.state.completed", map[string]any{"At": at(*r.CompletedAt), "Outcome": p.outcomeLabel(deref(r.Outcome), lang)})
	case r.Status == workflows.ReferralWithdrawn && r.WithdrawnAt != nil:
		row.State = t.T("provider.state.withdrawn", map[string]any{"At": at(*r.WithdrawnAt)})
	default:
		row.State = t.T("referral." + r.Status)
	}
	return row
}

// passedRow words a referral the agency declined or did not answer in time.
func (p *Pages) passedRow(r *store.PassedReferral, lang string, zone *time.Location) inboxRow {
	t := p.msgs.translator(lang)
	row := inboxRow{ID: r.ID.String(), Service: p.serviceLabel(nil, r.Service, lang), Region: r.Region, Urgent: r.Urgent,
		SentAt: r.SentAt.In(zone), At: r.AnsweredAt.In(zone)}
	when := row.At.Format(dateLayouts[lang] + " 15:04")
	if r.Answer == "expired" {
		row.State = t.T("provider.state.expired", map[string]any{"At": r.DueAt.In(zone).Format(dateLayouts[lang] + " 15:04")})
	} else {
		row.State = t.T("provider.state.declined", map[string]any{"At": when, "Reason": p.declineLabel(deref(r.DeclineReason), lang)})
	}
	return row
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// providerTimeLeft words the time left to answer a referral: days, hours,
// or minutes under an hour (a shelter has hours to answer, not days).
func providerTimeLeft(now, due time.Time) (msg string, n int, overdue bool) {
	d := due.Sub(now)
	switch {
	case d >= 0 && d < time.Hour:
		return "provider.left.minutes", int(d / time.Minute), false
	case d < 0 && -d < time.Hour:
		return "provider.overdue.minutes", int(-d / time.Minute), true
	}
	return timeLeft(now, due)
}

// providerZone is the time zone the provider's pages show times in: the
// referral's SOP's calendar, else the SOP in force now.
func (p *Pages) providerZone(procedure *sop.SOP) *time.Location {
	if procedure == nil && p.Cases.SOPs != nil {
		procedure, _ = p.Cases.SOPs.Active(time.Now())
	}
	if procedure != nil && procedure.Calendar.Location != nil {
		return procedure.Calendar.Location
	}
	return time.UTC
}

// serviceLabel is a service's label in the given SOP, else in the SOP in
// force now, else in the newest version that has it; its code otherwise.
func (p *Pages) serviceLabel(procedure *sop.SOP, code, lang string) string {
	for _, s := range p.labelSOPs(procedure) {
		if def, ok := s.Service(code); ok {
			return def.Label.In(lang)
		}
	}
	return code
}

// declineLabel and outcomeLabel word the SOP's codes from the catalogue
// (the SOP file labels neither); an unknown code shows as itself.
func (p *Pages) declineLabel(code, lang string) string {
	return p.codeLabel("provider.reason.", code, lang)
}

func (p *Pages) outcomeLabel(code, lang string) string {
	return p.codeLabel("provider.outcome.", code, lang)
}

func (p *Pages) codeLabel(prefix, code, lang string) string {
	if code == "" {
		return ""
	}
	t := p.msgs.translator(lang)
	if t.has(prefix + code) {
		return t.T(prefix + code)
	}
	return code
}

// --- the shelter's beds ------------------------------------------------------

type bedsData struct {
	Key         string
	Total, Free string
	Current     bedsView
	Errors      formErrors
}

// bedsAgency is the signed-in provider's agency when it counts beds; the
// 403 page for any other.
func (p *Pages) bedsAgency(c *fiber.Ctx, pg page) (*store.Agency, error) {
	a, err := p.Cases.OwnAgency(c.UserContext(), *pg.User)
	if err != nil {
		return nil, err
	}
	if !p.Cases.CountsBeds(a) {
		return nil, cases.ErrForbidden
	}
	return a, nil
}

func (p *Pages) bedsPage(c *fiber.Ctx, pg page) error {
	a, err := p.bedsAgency(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	cur := bedsView{Total: a.Beds, Free: max(a.Beds-a.Occupancy, 0)}
	pg.Title = "provider.beds.title"
	pg.Data = bedsData{Key: newFormKey(), Current: cur, Total: strconv.Itoa(cur.Total), Free: strconv.Itoa(cur.Free)}
	return p.render(c, http.StatusOK, "provider_beds", pg)
}

func (p *Pages) setBeds(c *fiber.Ctx, pg page) error {
	a, err := p.bedsAgency(c, pg)
	if err != nil {
		return p.errorPage(c, err)
	}
	d := bedsData{Key: formKey(c), Current: bedsView{Total: a.Beds, Free: max(a.Beds-a.Occupancy, 0)},
		Total: clean(c.FormValue("total")), Free: clean(c.FormValue("free"))}
	pg.Title = "provider.beds.title"
	total, okTotal := wholeNumber(d.Total)
	free, okFree := wholeNumber(d.Free)
	switch {
	case !okTotal || total > cases.MaxBeds:
		d.Errors = append(d.Errors, fieldError{Field: "total", Msg: "provider.beds.error.total", Args: map[string]any{"Max": cases.MaxBeds}})
	}
	switch {
	case !okFree:
		d.Errors.add("free", "provider.beds.error.free")
	case okTotal && free > total:
		d.Errors = append(d.Errors, fieldError{Field: "free", Msg: "provider.beds.error.free_total", Args: map[string]any{"Total": total}})
	}
	if len(d.Errors) == 0 {
		retry := retryOf(c, d.Total, d.Free)
		location, err := p.gate.PageOnce(c, c.FormValue("key"), retry.Fingerprint, func() (uuid.UUID, string, error) {
			ri := cases.RequestInfo{RequestID: p.gate.RequestID(c)}
			if _, err := p.Cases.SetOwnBeds(c.UserContext(), *pg.User, ri, total, free); err != nil {
				return uuid.Nil, "", err
			}
			return uuid.Nil, "/referrals?done=beds", nil
		})
		if err == nil {
			return c.Redirect(location, fiber.StatusSeeOther)
		}
		var verr *cases.ValidationError
		switch st, _, _ := p.Problem(err); {
		case errors.As(err, &verr):
			for _, fe := range verr.Errors {
				d.Errors.add(fe.Field, "provider.beds.error.free")
			}
		case st == http.StatusConflict || st == http.StatusUnprocessableEntity:
			d.Errors.add(submitField, "authority.error.resent")
			d.Key = newFormKey()
		default:
			return p.errorPage(c, err)
		}
	}
	pg.Data = d
	return p.render(c, http.StatusUnprocessableEntity, "provider_beds", pg)
}

// wholeNumber reads a count typed in a form: digits only, at most 6.
func wholeNumber(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// doneRedirect is where an answer's form goes once it ran.
func doneRedirect(id uuid.UUID, update string) string {
	if update == workflows.UpdateDecline { // the referral goes to the next provider
		return "/referrals?done=decline"
	}
	return "/referrals/" + id.String() + "?" + url.Values{"done": {update}}.Encode()
}
