package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
)

// Notifications: the in-app channel (every signed-in role reads its own
// agency's notifications that notify.Audience gives its role), the
// administrators' dead letters, and agencies' webhook and e-mail channels.

// Problem types of these routes (409).
const (
	problemNotDead          = "not-dead"
	problemDuplicateChannel = "duplicate-channel"
)

type notificationJSON struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	CaseID        string     `json:"case_id"`
	CaseNumber    string     `json:"case_number"`
	Obligation    string     `json:"obligation"`
	RecipientRole string     `json:"recipient_role"`
	DueAt         *time.Time `json:"due_at"`
	CreatedAt     time.Time  `json:"created_at"`
	ReadAt        *time.Time `json:"read_at"`
	// Link is the case in the web UI, relative to it.
	Link string `json:"link"`
	// RelatedCaseID and RelatedCaseNumber name the other case a notification
	// is about (the earlier case of a possible duplicate).
	RelatedCaseID     *string `json:"related_case_id,omitempty"`
	RelatedCaseNumber *string `json:"related_case_number,omitempty"`
}

func notificationOf(n *store.NotificationItem) notificationJSON {
	out := notificationJSON{ID: n.ID, Kind: n.Kind, CaseID: n.CaseID.String(), CaseNumber: n.CaseNumber,
		Obligation: n.Obligation, RecipientRole: n.RecipientRole, DueAt: utc(n.DueAt), CreatedAt: n.CreatedAt.UTC(),
		ReadAt: utc(n.ReadAt), Link: "/cases/" + n.CaseID.String(), RelatedCaseNumber: n.RelatedCaseNumber}
	if n.RelatedCaseID != nil {
		id := n.RelatedCaseID.String()
		out.RelatedCaseID = &id
	}
	return out
}

// listNotifications answers the caller's agency's notifications for its
// role, newest first: ?unread=true for unread ones only, ?limit (1–200,
// default 50) and ?before=<next of the previous page> to page.
func (s *Server) listNotifications(c *fiber.Ctx) error {
	var q store.InboxQuery // the agency and recipients are the caller's (notify.Inbox)
	var errs queryErrors
	var err error
	q.Limit = errs.limit(c, 50, 200)
	switch c.Query("unread") {
	case "", "false":
	case "true":
		q.Unread = true
	default:
		errs = append(errs, cases.FieldError{Field: "unread", Rule: "boolean", Message: "must be true or false"})
	}
	if b := c.Query("before"); b != "" {
		if q.Before, err = decodeNotifyCursor(b); err != nil {
			errs = append(errs, cases.FieldError{Field: "before", Rule: "cursor", Message: "must be the next value of a previous page"})
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	limit := q.Limit
	q.Limit++ // one more tells whether a next page exists
	list, err := s.notifications().List(c.UserContext(), signedInUser(c), q)
	if err != nil {
		return err
	}
	var next *string
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		cur := encodeNotifyCursor(store.InboxCursor{CreatedAt: last.CreatedAt, ID: last.ID})
		next = &cur
	}
	out := make([]notificationJSON, 0, len(list))
	for i := range list {
		out = append(out, notificationOf(&list[i]))
	}
	return c.JSON(fiber.Map{"notifications": out, "next": next})
}

// markNotificationRead marks one of the caller's notifications read for its
// agency. Notification IDs hold slashes: clients percent-encode them
// (encodeURIComponent). Another agency's notification is a 404.
func (s *Server) markNotificationRead(c *fiber.Ctx) error {
	id, ok := notificationParam(c)
	if !ok {
		return store.ErrNotFound
	}
	n, err := s.notifications().MarkRead(c.UserContext(), signedInUser(c), id)
	if err != nil {
		return err
	}
	return c.JSON(notificationOf(n))
}

// notifications is the in-app channel's service, which the web UI's
// notifications page reads too.
func (s *Server) notifications() *notify.Inbox { return s.deps.Inbox }

type deadLetterChannelJSON struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

type deadLetterJSON struct {
	ID            string                 `json:"id"`
	Kind          string                 `json:"kind"`
	CaseID        string                 `json:"case_id"`
	CaseNumber    string                 `json:"case_number"`
	Obligation    string                 `json:"obligation"`
	RecipientRole string                 `json:"recipient_role"`
	AgencyID      *string                `json:"agency_id"`
	CreatedAt     time.Time              `json:"created_at"`
	Channel       *deadLetterChannelJSON `json:"channel"`
	Attempts      int                    `json:"attempts"`
	FailedAt      *time.Time             `json:"failed_at"`
	Error         string                 `json:"error"`
}

// outbox is the notification service of the administrators' routes (dead
// letters and channels); it audits the changes it makes.
func (s *Server) outbox() *notify.Admin {
	return s.deps.Notifications
}

// outboxRequest identifies the request in the audit rows of notify.Admin.
func outboxRequest(c *fiber.Ctx) notify.RequestInfo {
	return notify.RequestInfo{RequestID: requestID(c), ClientRequestID: clientRequestID(c)}
}

// listDeadLetters answers the notifications whose delivery was given up,
// with the channel and error of the last attempt (administrators).
func (s *Server) listDeadLetters(c *fiber.Ctx) error {
	var q queryErrors
	limit := q.limit(c, 100, 500)
	if err := q.err(); err != nil {
		return err
	}
	list, err := s.outbox().DeadLetters(c.UserContext(), limit)
	if err != nil {
		return err
	}
	out := make([]deadLetterJSON, 0, len(list))
	for _, d := range list {
		j := deadLetterJSON{ID: d.ID, Kind: d.Kind, CaseID: d.CaseID.String(), CaseNumber: d.CaseNumber, Obligation: d.Obligation,
			RecipientRole: d.RecipientRole, CreatedAt: d.CreatedAt.UTC(), FailedAt: utc(d.FailedAt)}
		if d.RecipientAgencyID != nil {
			a := d.RecipientAgencyID.String()
			j.AgencyID = &a
		}
		if d.ChannelID != nil && d.ChannelKind != nil {
			j.Channel = &deadLetterChannelJSON{ID: d.ChannelID.String(), Kind: *d.ChannelKind}
		}
		if d.Attempts != nil {
			j.Attempts = *d.Attempts
		}
		if d.Error != nil {
			j.Error = *d.Error
		}
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"dead_letters": out})
}

// retryDeadLetter puts a dead notification back in the queue, due at once;
// its failed channels get a new round of attempts (administrators).
func (s *Server) retryDeadLetter(c *fiber.Ctx) error {
	id, ok := notificationParam(c)
	if !ok {
		return store.ErrNotFound
	}
	n, err := s.outbox().RetryDeadLetter(c.UserContext(), signedInUser(c), outboxRequest(c), id)
	if errors.Is(err, notify.ErrNotDead) {
		return newProblem(http.StatusConflict, problemNotDead, "the notification is not dead: only dead letters can be retried")
	}
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": n.ID, "status": n.Status})
}

type channelJSON struct {
	ID        string    `json:"id"`
	AgencyID  string    `json:"agency_id"`
	Kind      string    `json:"kind"`
	Target    string    `json:"target"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	// Secret is the webhook's signing key, in the creation answer only.
	Secret string `json:"secret,omitempty"`
}

func channelOf(ch *store.Channel) channelJSON {
	return channelJSON{ID: ch.ID.String(), AgencyID: ch.AgencyID.String(), Kind: ch.Kind, Target: ch.Target,
		Active: ch.Active, CreatedAt: ch.CreatedAt.UTC()}
}

type addChannelRequest struct {
	Kind   string `json:"kind" validate:"required,oneof=webhook email"`
	Target string `json:"target" validate:"required,max=2048"`
}

// listChannels answers an agency's webhook and e-mail channels, without
// their secrets (administrators).
func (s *Server) listChannels(c *fiber.Ctx) error {
	agencyID, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return store.ErrNotFound
	}
	list, err := s.outbox().Channels(c.UserContext(), agencyID)
	if err != nil {
		return err
	}
	out := make([]channelJSON, 0, len(list))
	for i := range list {
		out = append(out, channelOf(&list[i]))
	}
	return c.JSON(fiber.Map{"channels": out})
}

// addChannel adds a webhook or e-mail channel to an agency; a webhook's
// signing secret is in this answer and never again (administrators). An
// unknown agency is a 404 whatever the body.
func (s *Server) addChannel(c *fiber.Ctx) error {
	agencyID, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return store.ErrNotFound
	}
	if err := s.outbox().CheckAgency(c.UserContext(), agencyID); err != nil {
		return err
	}
	var req addChannelRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ch, secret, err := s.outbox().AddChannel(c.UserContext(), signedInUser(c), outboxRequest(c), agencyID, req.Kind, req.Target)
	var te *notify.TargetError
	switch {
	case errors.As(err, &te):
		return &cases.ValidationError{Errors: []cases.FieldError{{Field: "target", Rule: te.Rule, Message: te.Reason}}}
	case errors.Is(err, notify.ErrDuplicateChannel):
		return newProblem(http.StatusConflict, problemDuplicateChannel, "the agency already has this channel")
	case err != nil:
		return err
	}
	out := channelOf(ch)
	out.Secret = secret
	return c.Status(fiber.StatusCreated).JSON(out)
}

// notificationParam is the percent-decoded :id of a notification.
func notificationParam(c *fiber.Ctx) (string, bool) {
	id, err := url.PathUnescape(c.Params("id"))
	if err != nil || id == "" || len(id) > 512 {
		return "", false
	}
	return id, true
}

// A page cursor is base64url("<created_at RFC 3339>|<id>") of the last row of a page.
func encodeNotifyCursor(cur store.InboxCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cur.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + cur.ID))
}

func decodeNotifyCursor(s string) (*store.InboxCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	ts, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return nil, errors.New("bad cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, err
	}
	return &store.InboxCursor{CreatedAt: t, ID: id}, nil
}
