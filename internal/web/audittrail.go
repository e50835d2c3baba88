package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/audit"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// The audit trail, for the competent authority and administrators (the 403
// page for anyone else), read from the hash-chained audit log through
// audit.Service:
//
//   - /cases/{id}/audit: who read or changed what in a case, when, from
//     which agency — names of the user and agency, the action in words,
//     the fields it disclosed or changed, the request ID — newest first;
//   - /audit: the whole log, filtered by user, agency, action and period
//     (dates in the SOP calendar's zone, both days included).
//
// Both show audit.PageSize rows a page, with a link to the older ones (a
// cursor, so a page costs the same however deep). Each read is itself
// audited (audit.read, with the case on a case's trail) before the rows
// are read, so the page shows its own read first.

func (p *Pages) mountAudit(r fiber.Router) {
	r.Get("/audit", p.signedIn(p.auditTrail))
	r.Get("/cases/:id/audit", p.signedIn(p.caseAuditTrail))
}

// auditActionMsgs put the actions of the audit log in words; the others
// (and every "command <method> <route>") show their code. The codes are
// raw strings, which the catalogue test does not take for message IDs.
var auditActionMsgs = map[string]string{
	`case.identity.read`:            "audit.action.case_identity_read",
	`case.notes.read`:               "audit.action.case_notes_read",
	`case.attachments.read`:         "audit.action.case_attachments_read",
	`case.attachment.read`:          "audit.action.case_attachment_read",
	`case.identity.erase`:           "audit.action.case_identity_erase",
	`case.screening.closed_at_once`: "audit.action.case_screening_closed_at_once",
	`referral.identity.read`:        "audit.action.referral_identity_read",
	`agency.create`:                 "audit.action.agency_create",
	`agency.update`:                 "audit.action.agency_update",
	`user.create`:                   "audit.action.user_create",
	`user.deactivate`:               "audit.action.user_deactivate",
	`user.password_reset`:           "audit.action.user_password_reset",
	`user.role_change`:              "audit.action.user_role_change",
	`notification_retry`:            "audit.action.notification_retry",
	`channel_add`:                   "audit.action.channel_add",
	`temporal.codec/encode`:         "audit.action.codec_encode",
	`temporal.codec/decode`:         "audit.action.codec_decode",
	audit.ActionRead:                "audit.action.audit_read",
	audit.ActionVerify:              "audit.action.audit_verify",
}

// auditRow is a row of the trail as the pages show it.
type auditRow struct {
	At                       time.Time
	User, Role, Agency       string
	Action, Msg, Route       string
	CaseID, Case             string
	Fields                   string
	RequestID, ClientRequest string
}

func (p *Pages) auditRows(records []store.AuditRecord) []auditRow {
	zone := p.auditZone()
	out := make([]auditRow, 0, len(records))
	for _, r := range records {
		row := auditRow{At: r.At.In(zone), User: r.UserName, Role: adminRoleMsg(r.Role), Agency: r.AgencyName, Action: r.Action,
			Msg: auditActionMsgs[r.Action], Case: r.CaseNumber, Fields: strings.Join(r.Fields, ", "), RequestID: r.RequestID,
			ClientRequest: r.ClientRequestID}
		if route, ok := strings.CutPrefix(r.Action, "command "); ok {
			row.Msg, row.Route = "audit.action.command", route
		}
		if r.CaseID != nil {
			row.CaseID = r.CaseID.String()
		}
		if row.User == "" {
			row.User = r.UserID.String()
		}
		out = append(out, row)
	}
	return out
}

// auditRequest identifies the page's request in the audit row of its read.
func (p *Pages) auditRequest(c *fiber.Ctx) audit.RequestInfo {
	return audit.RequestInfo{RequestID: p.gate.RequestID(c)}
}

// auditCursor is the ?before= of an older page; 0 for the newest.
func auditCursor(c *fiber.Ctx) int64 {
	n, err := strconv.ParseInt(c.Query("before"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

type caseAuditData struct {
	CaseID, Number string
	Rows           []auditRow
	// Older is the link to the next page, Newest back to the first.
	Older, Newest string
	Zone          string
	// CaseLink: the reader may open the case page (the competent authority).
	CaseLink bool
}

func (p *Pages) caseAuditTrail(c *fiber.Ctx, pg page) error {
	if !audit.CanRead(*pg.User) {
		return p.adminForbidden(c, pg, "audit.forbidden")
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.notFound(c)
	}
	before := auditCursor(c)
	number, trail, err := p.Audit.CaseTrail(c.UserContext(), *pg.User, p.auditRequest(c), id, before)
	if err != nil {
		return p.errorPage(c, err)
	}
	base := "/cases/" + id.String() + "/audit"
	d := caseAuditData{CaseID: id.String(), Number: number, Rows: p.auditRows(trail.Rows), Zone: p.auditZone().String(),
		CaseLink: pg.User.Is(auth.CompetentAuthority)}
	if trail.Next > 0 {
		d.Older = base + "?before=" + strconv.FormatInt(trail.Next, 10)
	}
	if before > 0 {
		d.Newest = base
	}
	pg.Title, pg.Data = "audit.case.title", d
	return p.render(c, http.StatusOK, "audit_case", pg)
}

type auditListData struct {
	// The filters as typed, and their choices.
	User, Agency, Action, From, To string
	Users, Agencies, Actions       []option
	Errors                         formErrors
	Filtered                       bool
	Rows                           []auditRow
	Older, Newest                  string
	Zone                           string
}

// auditDate is the form of the period's dates (an <input type="date">).
const auditDate = "2006-01-02"

// auditDay reads a day of the period in the zone: as a date field sends it
// (2026-11-29) or, where the browser has no date field, as the pages write
// dates (29.11.2026).
func auditDay(s string, zone *time.Location) (time.Time, bool) {
	for _, layout := range []string{auditDate, "02.01.2006", "2.1.2006"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (p *Pages) auditTrail(c *fiber.Ctx, pg page) error {
	if !audit.CanRead(*pg.User) {
		return p.adminForbidden(c, pg, "audit.forbidden")
	}
	ctx := c.UserContext()
	zone := p.auditZone()
	d := auditListData{User: c.Query("user"), Agency: c.Query("agency"), Action: c.Query("action"), From: clean(c.Query("from")),
		To: clean(c.Query("to")), Zone: zone.String()}
	choices, err := p.Audit.Filters(ctx, *pg.User)
	if err != nil {
		return p.errorPage(c, err)
	}
	for _, u := range choices.Users {
		d.Users = append(d.Users, option{Value: u.ID.String(), Label: u.Name + " (" + u.Email + ")"})
	}
	for _, a := range choices.Agencies {
		d.Agencies = append(d.Agencies, option{Value: a.ID.String(), Label: a.Name})
	}
	t := p.msgs.translator(pg.Lang)
	for _, a := range choices.Actions {
		label := a
		if m, ok := auditActionMsgs[a]; ok {
			label = t.T(m) + " (" + a + ")"
		}
		d.Actions = append(d.Actions, option{Value: a, Label: label})
	}
	f := store.AuditFilter{Before: auditCursor(c)}
	if d.User != "" {
		if id, err := uuid.Parse(d.User); err == nil {
			f.UserID = &id
		} else {
			d.Errors.add("user", "audit.error.user")
		}
	}
	if d.Agency != "" {
		if id, err := uuid.Parse(d.Agency); err == nil {
			f.AgencyID = &id
		} else {
			d.Errors.add("agency", "audit.error.agency")
		}
	}
	if d.Action != "" {
		if len(d.Action) > 200 {
			d.Errors.add("action", "audit.error.action")
		}
		f.Action = d.Action
	}
	if d.From != "" {
		if from, ok := auditDay(d.From, zone); ok {
			f.From, d.From = from, from.Format(auditDate)
		} else {
			d.Errors.add("from", "audit.error.date")
		}
	}
	if d.To != "" {
		if to, ok := auditDay(d.To, zone); ok {
			f.To, d.To = to.AddDate(0, 0, 1), to.Format(auditDate) // the whole last day
		} else {
			d.Errors.add("to", "audit.error.date")
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		d.Errors.add("to", "audit.error.period")
	}
	d.Filtered = d.User != "" || d.Agency != "" || d.Action != "" || d.From != "" || d.To != ""
	pg.Title = "audit.title"
	if len(d.Errors) > 0 {
		pg.Data = d
		return p.render(c, http.StatusUnprocessableEntity, "audit", pg)
	}
	trail, err := p.Audit.Trail(ctx, *pg.User, p.auditRequest(c), f)
	if err != nil {
		return p.errorPage(c, err)
	}
	d.Rows = p.auditRows(trail.Rows)
	link := func(before int64) string {
		q := url.Values{}
		for k, v := range map[string]string{"user": d.User, "agency": d.Agency, "action": d.Action, "from": d.From, "to": d.To} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if before > 0 {
			q.Set("before", strconv.FormatInt(before, 10))
		}
		if len(q) == 0 {
			return "/audit"
		}
		return "/audit?" + q.Encode()
	}
	if trail.Next > 0 {
		d.Older = link(trail.Next)
	}
	if f.Before > 0 {
		d.Newest = link(0)
	}
	pg.Data = d
	return p.render(c, http.StatusOK, "audit", pg)
}
