package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/workflows"
)

// casePage is what the case page shows. Person and Notes are nil for roles
// that do not see identities (the service decides, and audits the read).
type casePage struct {
	ID, Number, Stage, Region, AgeBand, Sex string
	Child                                   bool
	OpenedAt                                time.Time
	Consent                                 string // message ID of the consent state; "" for children
	Person                                  *identity.Person
	Obligations                             []obligationRow
	Actions                                 []actionLink
	// ActionsUnknown: the case's workflow could not be asked what the user
	// may do (Temporal unreachable); the page says so instead of offering nothing.
	ActionsUnknown bool
	Referrals      []referralRow
	Decisions      []decisionRow
	Notes          []cases.NoteView
	ShowNotes      bool
	// NotesNext links the page of the notes after these (casenotes.go);
	// NotesPaged: these are not the first notes.
	NotesNext  string
	NotesPaged bool
	// Attachments are the case's files for the roles that read them
	// (attachments.go); nil for others.
	Attachments *attachmentsSection
	Timeline    []eventRow
	Done        string // message ID of the confirmation of what was just done
	// AuditLink: the user may read the case's audit trail (the competent authority).
	AuditLink bool
	// Countries of exploitation and transit, named; History the case's
	// corrections for the roles that read them (casecorrect.go).
	Countries caseCountries
	History   *historySection
}

// obligationRow is one of the case's deadlines, labelled from the case's SOP
// in the page's language.
type obligationRow struct {
	Label, Status string
	DueAt         time.Time
	// Left words the time until DueAt (days, or hours under a day) with
	// LeftN; only for obligations still pending or running.
	Left    string
	LeftN   int
	Open    bool
	Overdue bool
}

// actionLink is a form the user may open now.
type actionLink struct {
	Href, Label string // Label: message ID
	Args        map[string]any
}

type referralRow struct {
	Service, Agency, Status string
	SentAt                  time.Time
}

type decisionRow struct {
	Kind, Outcome, Review string // Review: "", "pending", "confirmed", "overturned"
	At                    time.Time
}

type eventRow struct {
	Type, Detail string
	At           time.Time
}

// casePage shows a case the user may see: a foreign or unknown case is the
// 404 page, exactly as the API answers 404.
func (p *Pages) casePage(c *fiber.Ctx, pg page) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return p.errorPage(c, cases.ErrNotFound)
	}
	ctx, user := c.UserContext(), *pg.User
	ri := cases.RequestInfo{RequestID: p.gate.RequestID(c), Identity: true}
	v, err := p.Cases.Get(ctx, user, id, ri)
	if err != nil {
		return p.errorPage(c, err)
	}
	k := v.Case
	out := casePage{ID: k.ID.String(), Number: k.Number, Stage: k.Stage, Region: k.Region, AgeBand: k.AgeBand, Sex: k.Sex,
		Child: k.Child, OpenedAt: k.OpenedAt, Person: v.Person, Consent: consentState(k)}
	procedure, _ := p.Cases.SOPs.Get(k.SOPVersion)
	// Times are shown in the SOP calendar's zone, where its deadlines fall.
	zone := p.labels(pg.Lang).zone(k.SOPVersion)
	out.OpenedAt = k.OpenedAt.In(zone)
	out.Obligations = obligationRows(v.Obligations, procedure, pg.Lang, time.Now(), zone)

	acts, err := p.Cases.Actions(ctx, user, id)
	if err != nil {
		p.Log.Warn("case page: actions unknown", "request_id", ri.RequestID, "case_id", id, "error", err)
		out.ActionsUnknown = true
	}
	out.Actions = actionLinks(id.String(), acts, user)
	if cases.CanCorrect(user) && v.Person != nil {
		out.Actions = append(out.Actions, actionLink{Href: "/cases/" + id.String() + "/correct", Label: "action.correct"})
	}
	out.Countries = countriesOf(k, pg.Lang)

	refs, err := p.Cases.Referrals(ctx, user, id)
	if err != nil {
		return p.errorPage(c, err)
	}
	for _, r := range refs {
		row := referralRow{Service: p.serviceLabel(procedure, r.Service, pg.Lang), Status: r.Status, SentAt: r.SentAt.In(zone)}
		if r.AgencyName != nil {
			row.Agency = *r.AgencyName
		}
		out.Referrals = append(out.Referrals, row)
	}
	events, err := p.Cases.Timeline(ctx, user, id)
	if err != nil {
		return p.errorPage(c, err)
	}
	for i := range events {
		events[i].At = events[i].At.In(zone)
	}
	out.Decisions = decisionRows(events)
	out.Timeline = p.eventRows(events, procedure, pg.Lang)
	if auth.SeesIdentity(user) {
		out.ShowNotes = true
		if err := p.caseNotes(c, user, id, ri, zone, &out); err != nil {
			return p.errorPage(c, err)
		}
		if out.Attachments, err = p.caseAttachments(c, user, k, ri, pg.Lang, zone); err != nil {
			return p.errorPage(c, err)
		}
	}
	if auth.SeesIdentity(user) {
		if out.History, err = p.caseHistory(c, user, id, ri, zone); err != nil {
			return p.errorPage(c, err)
		}
	}
	out.AuditLink = user.Is(auth.CompetentAuthority)
	if done := c.Query("done"); slices.Contains(doneMessages, done) {
		out.Done = "done." + done
	}
	pg.Title, pg.Data = "case.title", out
	return p.render(c, http.StatusOK, "case", pg)
}

// doneMessages are the commands the case page confirms after a form (done.<name>).
var doneMessages = []string{workflows.UpdateConsent, workflows.UpdateWithdrawConsent, workflows.UpdateGuardian,
	workflows.UpdateDecide, workflows.UpdateReview, workflows.UpdateExtendRecovery, workflows.UpdateRefer,
	workflows.UpdateRequestClosure, workflows.UpdateApproveClosure, workflows.UpdateRejectClosure, workflows.UpdateFollowUp,
	"note", "erasure", "attachment", "correction", "correction_none", workflows.UpdateTransfer, workflows.UpdateReopen}

func consentState(k *store.Case) string {
	switch {
	case k.Child:
		return ""
	case k.ConsentReferral == nil:
		return "case.consent.unknown"
	case *k.ConsentReferral:
		return "case.consent.given"
	}
	return "case.consent.refused"
}

func obligationRows(list []store.Obligation, procedure *sop.SOP, lang string, now time.Time, zone *time.Location) []obligationRow {
	var out []obligationRow
	for _, o := range list {
		row := obligationRow{Label: o.Obligation, Status: o.Status, DueAt: o.DueAt.In(zone)}
		if procedure != nil {
			if def, ok := procedure.Obligation(o.Obligation); ok {
				row.Label = def.Label.In(lang)
			}
		}
		if o.Status == "pending" || o.Status == "running" {
			row.Open = true
			row.Left, row.LeftN, row.Overdue = timeLeft(now, o.DueAt)
		}
		out = append(out, row)
	}
	return out
}

// actionLinks are the forms the user may open now, in the command table's
// order: only what the case's workflow answered it would accept, plus a
// note (any reader) and, for the competent authority, the erasure order.
func actionLinks(id string, a workflows.Actions, p auth.Principal) []actionLink {
	base := "/cases/" + id + "/"
	var out []actionLink
	for _, name := range a.Commands {
		switch name {
		case workflows.UpdateReview:
			for _, d := range a.Reviews {
				out = append(out, actionLink{Href: base + "decisions/" + d + "/review", Label: "action." + name})
			}
		default:
			if path, ok := actionPaths[name]; ok {
				out = append(out, actionLink{Href: base + path, Label: "action." + name})
			}
		}
	}
	out = append(out, actionLink{Href: base + "notes/new", Label: "action.note"})
	if p.Is(auth.CompetentAuthority) {
		out = append(out, actionLink{Href: base + "erasure", Label: "action.erasure"})
	}
	return out
}

// actionPaths are the forms of the commands, under /cases/{id}/.
var actionPaths = map[string]string{
	workflows.UpdateConsent:         "consent",
	workflows.UpdateWithdrawConsent: "consent/withdraw",
	workflows.UpdateGuardian:        "guardian",
	workflows.UpdateDecide:          "decide",
	workflows.UpdateExtendRecovery:  "recovery/extend",
	workflows.UpdateRefer:           "referrals/new",
	workflows.UpdateRequestClosure:  "closure",
	workflows.UpdateApproveClosure:  "closure/approval",
	workflows.UpdateFollowUp:        "follow-up",
	workflows.UpdateTransfer:        "transfer", // transfer.go
	workflows.UpdateReopen:          "reopen",
}

// decisionRows reads the decisions and their reviews from the timeline.
func decisionRows(events []store.Event) []decisionRow {
	var out []decisionRow
	byID := map[string]int{}
	for _, e := range events {
		data := eventData(e)
		switch e.Type {
		case "preliminary_positive", "preliminary_negative", "conclusive_positive", "conclusive_negative":
			if _, seen := byID[data["decision_id"]]; seen {
				continue // an overturned negative decision, recorded again as positive
			}
			kind, outcome, _ := strings.Cut(e.Type, "_")
			row := decisionRow{Kind: kind, Outcome: outcome, At: e.At}
			if outcome == workflows.OutcomeNegative {
				row.Review = "pending"
			}
			byID[data["decision_id"]] = len(out)
			out = append(out, row)
		case "negative_review_confirmed", "negative_review_overturned":
			if i, ok := byID[data["decision_id"]]; ok {
				out[i].Review = map[string]string{"negative_review_confirmed": "confirmed", "negative_review_overturned": "overturned"}[e.Type]
			}
		}
	}
	return out
}

func eventData(e store.Event) map[string]string {
	m := map[string]string{}
	var raw map[string]any
	if err := json.Unmarshal(e.Data, &raw); err != nil {
		return m
	}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			m[k] = s
		}
	}
	return m
}

// eventRows are the timeline in words: the event's name and its codes as
// the SOP labels them (service, obligation) — never free text.
func (p *Pages) eventRows(events []store.Event, procedure *sop.SOP, lang string) []eventRow {
	var out []eventRow
	t := p.msgs.translator(lang)
	for _, e := range events {
		data := eventData(e)
		row := eventRow{Type: e.Type, At: e.At}
		switch {
		case data["service"] != "":
			row.Detail = p.serviceLabel(procedure, data["service"], lang)
		case data["obligation"] != "":
			row.Detail = data["obligation"]
			if procedure != nil {
				if def, ok := procedure.Obligation(data["obligation"]); ok {
					row.Detail = def.Label.In(lang)
				}
			}
		default:
			row.Detail = transferEventDetail(t, e.Type, data)
		}
		out = append(out, row)
	}
	return out
}
