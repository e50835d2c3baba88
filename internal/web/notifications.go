package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// The notifications page (GET /notifications): the in-app notifications of
// the user's agency that their role reads (notify.Inbox, as the API's
// GET /api/v1/notifications), newest first, each in words of the page's
// language built from its kind and codes, never from identity data; a form
// marks one read, another all. The header of every signed-in page shows the
// unread count beside the link here (navigation, below).

// notificationsPerPage is how many notifications a page shows; older ones
// are a link away.
const notificationsPerPage = 50

func (p *Pages) mountNotifications(r fiber.Router) {
	r.Get("/notifications", p.signedIn(p.notificationsPage))
	r.Post("/notifications/read", p.signedIn(p.markNotificationRead))
	r.Post("/notifications/read-all", p.signedIn(p.markAllNotificationsRead))
}

// inbox is the notifications service the pages read, over the cases
// service's store.
func (p *Pages) inbox() *notify.Inbox { return p.Inbox }

// notificationKinds are the messages of the notification kinds
// (docs/process.md#notifications); an unknown kind has the general one.
var notificationKinds = map[string]string{
	"new_referral":                      "lists.notification.new_referral",
	"reminder":                          "lists.notification.reminder",
	"breach":                            "lists.notification.breach",
	"escalation":                        "lists.notification.escalation",
	"decision_needed":                   "lists.notification.decision_needed",
	"closure_to_approve":                "lists.notification.closure_to_approve",
	cases.NotificationPossibleDuplicate: "lists.notification.possible_duplicate",
	cases.NotificationScreeningBurst:    "lists.notification.screening_burst",
	// Transfers and reopenings (workflows/transfer.go, reopen.go).
	"case_transferred":      "lists.notification.case_transferred",
	"case_transferred_away": "lists.notification.case_transferred_away",
	"case_reopened":         "lists.notification.case_reopened",
}

// notificationRow is one notification as the page shows it.
type notificationRow struct {
	ID, CaseID, CaseNumber string
	// Href is where the notification leads: the case page, or for a
	// provider (who never sees cases) its referral inbox.
	Href string
	// Text is the notification in the page's language.
	Text      string
	CreatedAt time.Time
	Unread    bool
}

type notificationsData struct {
	Rows   []notificationRow
	Unread int
	// Older is the link to the next page of older notifications, if any.
	Older string
	// First is false on the pages after the first (a link back to it).
	First bool
	// Done says what the last form did: "read" or "all".
	Done string
}

func (p *Pages) notificationsPage(c *fiber.Ctx, pg page) error {
	ctx, user := c.UserContext(), *pg.User
	q := store.InboxQuery{Limit: notificationsPerPage + 1}
	if at, id := c.Query("before"), c.Query("id"); at != "" && id != "" {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			q.Before = &store.InboxCursor{CreatedAt: t, ID: id}
		}
	}
	list, err := p.inbox().List(ctx, user, q)
	if err != nil {
		return p.errorPage(c, err)
	}
	unread, err := p.inbox().Unread(ctx, user)
	if err != nil {
		return p.errorPage(c, err)
	}
	data := notificationsData{Unread: unread, First: q.Before == nil, Done: c.Query("done")}
	if len(list) > notificationsPerPage {
		list = list[:notificationsPerPage]
		last := list[len(list)-1]
		data.Older = "/notifications?" + url.Values{"before": {last.CreatedAt.UTC().Format(time.RFC3339Nano)}, "id": {last.ID}}.Encode()
	}
	t := p.msgs.translator(pg.Lang)
	for i := range list {
		n := &list[i]
		href := "/cases/" + n.CaseID.String()
		if pg.User.Is(auth.Provider) {
			href = "/referrals"
		}
		if n.Kind == "case_transferred_away" { // the agency no longer sees the case (transfer.go)
			href = "/transferred"
		}
		data.Rows = append(data.Rows, notificationRow{ID: n.ID, CaseID: n.CaseID.String(), CaseNumber: n.CaseNumber, Href: href,
			Text: p.notificationText(t, n), CreatedAt: n.CreatedAt, Unread: n.ReadAt == nil})
	}
	pg.Title, pg.Data = "lists.notifications.title", data
	return p.render(c, http.StatusOK, "notifications", pg)
}

// notificationText puts a notification in words: its kind's message with
// the case number, the deadline's label from the SOP in the page's language
// and its due date. Nothing else of the case is said.
func (p *Pages) notificationText(t *translator, n *store.NotificationItem) string {
	id, ok := notificationKinds[n.Kind]
	if !ok {
		id = "lists.notification.other"
	}
	if n.Kind == "escalation" && n.DueAt == nil {
		id = "lists.notification.unrouted" // a referral no provider took
	}
	args := map[string]any{"Case": n.CaseNumber, "Obligation": p.obligationLabel(n.Obligation, t.lang), "Related": "", "Due": ""}
	if n.Obligation == "" {
		args["Obligation"] = t.T("lists.notification.deadline")
	}
	if n.RelatedCaseNumber != nil {
		args["Related"] = *n.RelatedCaseNumber
	}
	if n.DueAt != nil {
		args["Due"] = n.DueAt.Format("2006-01-02 15:04")
	}
	return t.T(id, args)
}

// obligationLabel is a deadline's label in the SOP now in force, else in
// the newest version that has it; its code when no SOP names it.
func (p *Pages) obligationLabel(code, lang string) string {
	if code == "" {
		return code
	}
	for _, s := range p.labelSOPs(nil) {
		if o, ok := s.Obligation(code); ok {
			return o.Label.In(lang)
		}
	}
	return code
}

// labelSOPs are the SOPs a code's label is looked up in, in order: first
// (the case's own, when known), the one in force now, then every loaded
// version, newest first.
func (p *Pages) labelSOPs(first *sop.SOP) []*sop.SOP {
	var out []*sop.SOP
	if first != nil {
		out = append(out, first)
	}
	if p.Cases.SOPs == nil {
		return out
	}
	if s, err := p.Cases.SOPs.Active(time.Now()); err == nil {
		out = append(out, s)
	}
	all := p.Cases.SOPs.All()
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, all[i])
	}
	return out
}

// markNotificationRead marks one notification read (the form's id) and
// shows the list again; an unknown or foreign notification is the 404 page.
func (p *Pages) markNotificationRead(c *fiber.Ctx, pg page) error {
	id := c.FormValue("id")
	if id == "" || len(id) > 512 {
		return p.errorPage(c, store.ErrNotFound)
	}
	if _, err := p.inbox().MarkRead(c.UserContext(), *pg.User, id); err != nil {
		return p.errorPage(c, err)
	}
	return c.Redirect("/notifications?done=read", fiber.StatusSeeOther)
}

func (p *Pages) markAllNotificationsRead(c *fiber.Ctx, pg page) error {
	if _, err := p.inbox().MarkAllRead(c.UserContext(), *pg.User); err != nil {
		return p.errorPage(c, err)
	}
	return c.Redirect("/notifications?done=all", fiber.StatusSeeOther)
}

// navigation is the header's links of a signed-in page, by role, with the
// count of unread notifications beside "Notifications".
type navigation struct {
	Links  []navLink
	Unread int
}

type navLink struct {
	Href, Label string
	Current     bool
	// Inbox marks the link to the notifications, which shows the count.
	Inbox bool
}

// navigation builds the header's links for the signed-in user of a page.
// The unread count is left out (and the failure logged) when it cannot be
// read: the page itself still works.
func (p *Pages) navigation(c *fiber.Ctx, user *auth.Principal) *navigation {
	nav := &navigation{}
	add := func(href, label string) {
		nav.Links = append(nav.Links, navLink{Href: href, Label: label, Current: currentSection(c.Path(), href)})
	}
	if _, elsewhere := homes[user.Role]; !elsewhere { // their "/" is their own start page
		add("/", "lists.nav.worklist")
	}
	if user.Is(auth.Frontline, auth.Supervisor, auth.CompetentAuthority) {
		add("/cases", "lists.nav.cases")
	}
	if user.Is(auth.Frontline) {
		add("/cases/new", "lists.nav.new_case")
	}
	if user.Is(auth.CompetentAuthority) {
		add("/decisions", "lists.nav.decisions")
	}
	if user.Is(auth.Supervisor) {
		add("/approvals", "lists.nav.approvals")
	}
	if user.Is(auth.Provider) {
		add("/referrals", "lists.nav.referrals")
	}
	if user.Is(auth.TWG) {
		add("/twg", "lists.nav.twg")
	}
	if user.Is(auth.Admin) {
		add("/admin", "lists.nav.admin")
	}
	if user.Is(auth.CompetentAuthority, auth.Admin) {
		add("/audit", "lists.nav.audit")
	}
	add("/notifications", "lists.nav.notifications")
	nav.Links[len(nav.Links)-1].Inbox = true
	add("/account", "lists.nav.account")
	n, err := p.inbox().Unread(c.UserContext(), *user)
	if err != nil {
		p.Log.Warn("unread notifications", "request_id", p.gate.RequestID(c), "error", err)
	}
	nav.Unread = n
	return nav
}

// currentSection tells whether a header link is the page's section: its
// own path, and for the case list the cases' pages too (not the new case).
func currentSection(path, href string) bool {
	if path == href {
		return true
	}
	switch href {
	case "/cases":
		return strings.HasPrefix(path, "/cases/") && path != "/cases/new"
	case "/referrals", "/twg", "/admin", "/audit":
		return strings.HasPrefix(path, href+"/")
	}
	return false
}
