package notify

import (
	"context"
	"time"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Inbox is the in-app channel as its readers see it: the notifications of
// the caller's own agency that Audience gives the caller's role. The API's
// notification routes and the web UI's notifications page both read it.
// Read state is the agency's: marking read marks it for every reader of the
// agency.
type Inbox struct {
	Store *store.Store
	Now   func() time.Time
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// List answers the caller's notifications, newest first (q.Unread, q.Limit
// and q.Before as the store reads them; the agency and recipients are the
// caller's, whatever q says).
func (in *Inbox) List(ctx context.Context, p auth.Principal, q store.InboxQuery) ([]store.NotificationItem, error) {
	q.AgencyID, q.Recipients = p.AgencyID, Audience(p.Role)
	return in.Store.AgencyNotifications(ctx, q)
}

// Unread counts the caller's unread notifications.
func (in *Inbox) Unread(ctx context.Context, p auth.Principal) (int, error) {
	return in.Store.UnreadNotifications(ctx, p.AgencyID, Audience(p.Role))
}

// MarkRead marks one of the caller's notifications read and returns it;
// another agency's, or one the caller's role does not read, is
// store.ErrNotFound. Marking twice keeps the first time.
func (in *Inbox) MarkRead(ctx context.Context, p auth.Principal, id string) (*store.NotificationItem, error) {
	return in.Store.MarkNotificationRead(ctx, p.AgencyID, Audience(p.Role), id, in.now())
}

// MarkAllRead marks every unread notification of the caller read and says
// how many it marked.
func (in *Inbox) MarkAllRead(ctx context.Context, p auth.Principal) (int, error) {
	return in.Store.MarkAllNotificationsRead(ctx, p.AgencyID, Audience(p.Role), in.now())
}
