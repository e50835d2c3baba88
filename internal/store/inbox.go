package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The in-app inbox beyond listing and marking one notification read
// (notifications.go): the unread count of every page's header and "mark all
// as read". Read state is the agency's, as MarkNotificationRead says.
const (
	qUnreadCount = `SELECT count(*) FROM notifications n
		WHERE n.recipient_agency_id = $1 AND ($2 OR n.recipient_role = ANY($3::text[])) AND n.read_at IS NULL`
	qMarkAllRead = `UPDATE notifications n SET read_at = $4
		WHERE n.recipient_agency_id = $1 AND ($2 OR n.recipient_role = ANY($3::text[])) AND n.read_at IS NULL`
)

// UnreadNotifications counts the unread notifications addressed to an agency
// that the caller's recipients cover.
func (s *Store) UnreadNotifications(ctx context.Context, agencyID uuid.UUID, r Recipients) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, qUnreadCount, agencyID, r.All, r.Roles); err != nil {
		return 0, fmt.Errorf("unread notifications of agency %s: %w", agencyID, err)
	}
	return n, nil
}

// MarkAllNotificationsRead marks read every unread notification of an agency
// that the caller's recipients cover, and says how many it marked.
func (s *Store) MarkAllNotificationsRead(ctx context.Context, agencyID uuid.UUID, r Recipients, at time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, qMarkAllRead, agencyID, r.All, r.Roles, at)
	if err != nil {
		return 0, fmt.Errorf("mark notifications of agency %s read: %w", agencyID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
