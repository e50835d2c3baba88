package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
)

// An agency's notification channels (/admin/agencies/{id}/channels) and
// the dead letters (/admin/dead-letters), through notify.Admin as the API.
//
// A new webhook's signing secret is shown once, in the answer to the form
// that added it (never cached, never in a URL or a log), and never again:
// the same form sent again — a double click, the back button — goes to the
// channels page, which says the secret was shown when the channel was
// added.

func (p *Pages) mountAdminNotify(r fiber.Router) {
	r.Get("/admin/agencies/:id/channels", p.adminOnly(p.adminChannels))
	r.Post("/admin/agencies/:id/channels", p.adminOnly(p.adminAddChannel))
	r.Get("/admin/dead-letters", p.adminOnly(p.adminDeadLetters))
	r.Post("/admin/dead-letters/retry", p.adminOnly(p.adminRetryDeadLetter))
}

// adminChannelRow is a channel in the list.
type adminChannelRow struct {
	Kind, Target string
	Active       bool
	Created      time.Time
}

type adminChannelsData struct {
	AgencyID, Agency string
	Rows             []adminChannelRow
	// The form, as typed.
	Kind, Target, Key string
	Errors            formErrors
	// Secret is a new webhook's signing secret, in the answer to the form
	// that added it only.
	Secret string
	Done   bool
}

// adminChannelErrors are the messages of the rules a channel's target
// breaks (notify.TargetError.Rule).
var adminChannelErrors = map[string]string{
	"url":     "admin.channels.error.url",
	"https":   "admin.channels.error.https",
	"address": "admin.channels.error.address",
	"resolve": "admin.channels.error.resolve",
	"email":   "admin.channels.error.email",
	"kind":    "admin.channels.error.kind",
}

func (p *Pages) renderAdminChannels(c *fiber.Ctx, pg page, status int, a *store.Agency, d adminChannelsData) error {
	list, err := p.Notifications.Channels(c.UserContext(), a.ID)
	if err != nil {
		return p.errorPage(c, err)
	}
	d.AgencyID, d.Agency = a.ID.String(), a.Name
	zone := p.auditZone()
	for _, ch := range list {
		d.Rows = append(d.Rows, adminChannelRow{Kind: ch.Kind, Target: ch.Target, Active: ch.Active, Created: ch.CreatedAt.In(zone)})
	}
	if d.Kind == "" {
		d.Kind = store.ChannelWebhook
	}
	pg.Title, pg.Data = "admin.channels.title", d
	if d.Secret != "" {
		// The secret is in this answer only: no cache keeps it.
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return p.render(c, status, "admin_channels", pg)
}

func (p *Pages) adminChannels(c *fiber.Ctx, pg page) error {
	a, err := p.adminAgencyOf(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	return p.renderAdminChannels(c, pg, http.StatusOK, a, adminChannelsData{Key: newFormKey(), Done: c.Query("done") == "added"})
}

func (p *Pages) adminAddChannel(c *fiber.Ctx, pg page) error {
	a, err := p.adminAgencyOf(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	d := adminChannelsData{Kind: c.FormValue("kind"), Target: clean(c.FormValue("target")), Key: formKey(c)}
	if d.Kind != store.ChannelWebhook && d.Kind != store.ChannelEmail {
		d.Errors.add("kind", "admin.channels.error.kind")
	}
	if d.Target == "" {
		d.Errors.add("target", "admin.channels.error.target_missing")
	}
	if len(d.Errors) > 0 {
		return p.renderAdminChannels(c, pg, http.StatusUnprocessableEntity, a, d)
	}
	var secret string
	location, err := p.adminOnce(c, func() (string, error) {
		_, s, err := p.Notifications.AddChannel(c.UserContext(), *pg.User, notify.RequestInfo{RequestID: p.gate.RequestID(c)},
			a.ID, d.Kind, d.Target)
		if err != nil {
			return "", err
		}
		secret = s
		return "/admin/agencies/" + a.ID.String() + "/channels?done=added", nil
	}, d.Kind, d.Target)
	switch {
	case err == nil && secret != "":
		// Added now: the only time the secret is shown.
		return p.renderAdminChannels(c, pg, http.StatusCreated, a, adminChannelsData{Key: newFormKey(), Secret: secret, Done: true})
	case err == nil:
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	var te *notify.TargetError
	switch {
	case errors.As(err, &te):
		msg, ok := adminChannelErrors[te.Rule]
		if !ok {
			msg = "admin.channels.error.url"
		}
		d.Errors.add("target", msg)
	case errors.Is(err, notify.ErrDuplicateChannel):
		d.Errors.add("target", "admin.channels.error.duplicate")
	case p.adminResent(err, &d.Errors):
		d.Key = newFormKey()
	default:
		return p.errorPage(c, err)
	}
	return p.renderAdminChannels(c, pg, http.StatusUnprocessableEntity, a, d)
}

// adminDeadRow is a dead letter in the list, with its retry form's key.
type adminDeadRow struct {
	ID, Case, Kind, Obligation, Recipient, Agency string
	Channel                                       string
	Attempts                                      int
	Created, FailedAt                             time.Time
	Failed                                        bool
	Error                                         string
	Key                                           string
}

type adminDeadData struct {
	Rows   []adminDeadRow
	More   bool
	Errors formErrors
	Done   bool
}

func (p *Pages) renderAdminDead(c *fiber.Ctx, pg page, status int, d adminDeadData) error {
	ctx := c.UserContext()
	list, err := p.Notifications.DeadLetters(ctx, deadLetterLimit)
	if err != nil {
		return p.errorPage(c, err)
	}
	names, err := p.adminAgencyNames(c)
	if err != nil {
		return p.errorPage(c, err)
	}
	zone := p.auditZone()
	d.More = len(list) >= deadLetterLimit
	for _, l := range list {
		r := adminDeadRow{ID: l.ID, Case: l.CaseNumber, Kind: l.Kind, Obligation: l.Obligation, Recipient: adminRoleMsg(l.RecipientRole),
			Created: l.CreatedAt.In(zone), Key: newFormKey()}
		if l.RecipientAgencyID != nil {
			r.Agency = names[*l.RecipientAgencyID]
		}
		if l.ChannelKind != nil {
			r.Channel = *l.ChannelKind
		}
		if l.Attempts != nil {
			r.Attempts = *l.Attempts
		}
		if l.FailedAt != nil {
			r.FailedAt, r.Failed = l.FailedAt.In(zone), true
		}
		if l.Error != nil {
			r.Error = *l.Error
		}
		d.Rows = append(d.Rows, r)
	}
	pg.Title, pg.Data = "admin.dead.title", d
	return p.render(c, status, "admin_dead_letters", pg)
}

func (p *Pages) adminDeadLetters(c *fiber.Ctx, pg page) error {
	return p.renderAdminDead(c, pg, http.StatusOK, adminDeadData{Done: c.Query("done") == "retried"})
}

// adminRetryDeadLetter puts a dead letter back in the queue (its ID in the
// form: notification IDs may hold slashes).
func (p *Pages) adminRetryDeadLetter(c *fiber.Ctx, pg page) error {
	id := c.FormValue("id")
	location, err := p.adminOnce(c, func() (string, error) {
		if _, err := p.Notifications.RetryDeadLetter(c.UserContext(), *pg.User, notify.RequestInfo{RequestID: p.gate.RequestID(c)}, id); err != nil {
			return "", err
		}
		return "/admin/dead-letters?done=retried", nil
	}, id)
	if err == nil {
		return c.Redirect(location, fiber.StatusSeeOther)
	}
	var d adminDeadData
	switch {
	case errors.Is(err, notify.ErrNotDead), errors.Is(err, store.ErrNotFound):
		d.Errors.add(adminDeadField, "admin.dead.error.not_dead")
	case p.adminResent(err, &d.Errors):
		d.Errors[0].Field = adminDeadField
	default:
		return p.errorPage(c, err)
	}
	return p.renderAdminDead(c, pg, http.StatusConflict, d)
}

// adminDeadField is where the error summary of the dead letters points:
// their table.
const adminDeadField = "letters"
