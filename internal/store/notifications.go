package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
)

// Statuses of a notification (the outbox row).
const (
	NotificationPending   = "pending"
	NotificationDelivered = "delivered"
	NotificationDead      = "dead"
)

// Kinds of an agency's delivery channel.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// Statuses of a delivery attempt.
const (
	AttemptDelivered = "delivered"
	AttemptFailed    = "failed"
	AttemptDead      = "dead"
	AttemptRequeued  = "requeued"
)

// maxAttemptError is how much of an attempt's error is kept.
const maxAttemptError = 500

// Channel is one of an agency's delivery channels besides in-app. A
// webhook's HMAC key is stored sealed under the master key SecretKeyID,
// bound to the channel's ID (package notify seals and opens it); it never
// leaves the server after creation. E-mail channels have no secret.
type Channel struct {
	ID           uuid.UUID `db:"id"`
	AgencyID     uuid.UUID `db:"agency_id"`
	Kind         string    `db:"kind"`
	Target       string    `db:"target"`
	SecretKeyID  *string   `db:"secret_key_id"`
	SealedSecret []byte    `db:"secret_sealed"`
	// ClearSecret is a webhook secret stored before migration 0011, until
	// the dispatcher seals it (SealChannelSecret). New channels never have one.
	ClearSecret *string   `db:"secret"`
	Active      bool      `db:"active"`
	CreatedAt   time.Time `db:"created_at"`
}

// NotificationItem is an outbox row with the number of its case.
type NotificationItem struct {
	Notification
	CaseNumber        string  `db:"case_number"`
	RelatedCaseNumber *string `db:"related_case_number"`
}

// DeliveryAttempt is one try to deliver a notification through a channel.
type DeliveryAttempt struct {
	ID             int64      `db:"id"`
	NotificationID string     `db:"notification_id"`
	ChannelID      *uuid.UUID `db:"channel_id"`
	Attempt        int        `db:"attempt"`
	At             time.Time  `db:"at"`
	Status         string     `db:"status"`
	Error          string     `db:"error"`
	NextAttemptAt  *time.Time `db:"next_attempt_at"`
}

// Recipients says which recipient roles of its own agency a caller reads:
// all of them, or those listed. The zero value reads none.
type Recipients struct {
	All   bool
	Roles Strings
}

// InboxQuery selects an agency's notifications, newest first. Before is the
// keyset cursor of the page: the created_at and ID of the last row seen.
type InboxQuery struct {
	AgencyID   uuid.UUID
	Recipients Recipients
	Unread     bool
	Limit      int
	Before     *InboxCursor
}

// InboxCursor is the position after which the next page starts.
type InboxCursor struct {
	CreatedAt time.Time
	ID        string
}

// DeadLetter is a notification whose delivery was given up, with the attempt
// that gave up. Channel fields are nil when no agency could receive it.
type DeadLetter struct {
	ID                string     `db:"id"`
	Kind              string     `db:"kind"`
	CaseID            uuid.UUID  `db:"case_id"`
	CaseNumber        string     `db:"case_number"`
	Obligation        string     `db:"obligation"`
	RecipientRole     string     `db:"recipient_role"`
	RecipientAgencyID *uuid.UUID `db:"recipient_agency_id"`
	CreatedAt         time.Time  `db:"created_at"`
	ChannelID         *uuid.UUID `db:"channel_id"`
	ChannelKind       *string    `db:"channel_kind"`
	Attempts          *int       `db:"attempt"`
	FailedAt          *time.Time `db:"failed_at"`
	Error             *string    `db:"error"`
}

// notificationColumns are listed, not *, so that a column added later does
// not break scanning into Notification.
const notificationColumns = `n.id, n.case_id, n.kind, n.obligation, n.obligation_id, n.recipient_role,
	n.recipient_agency_id, n.due_at, n.created_at, n.status, n.delivered_at, n.read_at, n.related_case_id,
	(SELECT r.number FROM cases r WHERE r.id = n.related_case_id) AS related_case_number`

const channelColumns = `id, agency_id, kind, target, secret_key_id, secret_sealed, secret, active, created_at`

const (
	qAgencyExists  = `SELECT EXISTS (SELECT 1 FROM agencies WHERE id = $1)`
	qInsertChannel = `INSERT INTO agency_channels (id, agency_id, kind, target, secret_key_id, secret_sealed)
		VALUES (:id, :agency_id, :kind, :target, :secret_key_id, :secret_sealed)`
	qChannels = `SELECT ` + channelColumns + ` FROM agency_channels
		WHERE agency_id = $1 ORDER BY created_at, id`
	qActiveChannels = `SELECT ` + channelColumns + ` FROM agency_channels
		WHERE agency_id = $1 AND active ORDER BY created_at, id`
	// Secrets still in clear (from before migration 0011), and the one
	// statement that replaces such a secret by its sealed form: only while
	// the row still holds the same clear secret, so that two dispatchers
	// sealing at once write it once.
	qClearSecretChannels = `SELECT ` + channelColumns + ` FROM agency_channels
		WHERE secret IS NOT NULL ORDER BY id LIMIT $1`
	qSealChannelSecret = `UPDATE agency_channels SET secret = NULL, secret_key_id = $3, secret_sealed = $4
		WHERE id = $1 AND secret = $2`
	// Rotation: sealed secrets under another master key, re-sealed one by
	// one only if still under the key they were read under.
	qSecretsToReseal = `SELECT ` + channelColumns + ` FROM agency_channels
		WHERE secret_sealed IS NOT NULL AND secret_key_id <> $1 ORDER BY id LIMIT $2`
	qResealChannelSecret = `UPDATE agency_channels SET secret_key_id = $3, secret_sealed = $4
		WHERE id = $1 AND secret_key_id = $2`

	// Claiming is two statements in one short transaction. The first locks
	// due pending rows, skipping those another dispatcher holds locked. The
	// second moves their next attempt to the end of this dispatcher's lease;
	// its WHERE is evaluated against the newest committed dispatch row, so a
	// dispatcher that read an old snapshot cannot claim a row another one
	// claimed meanwhile: only the IDs it returns are this dispatcher's.
	qLockDue = `SELECT n.id FROM notifications n
		WHERE n.status = 'pending'
		  AND NOT EXISTS (SELECT 1 FROM notification_dispatch d WHERE d.notification_id = n.id AND d.next_attempt_at > $1)
		ORDER BY n.created_at, n.id
		LIMIT $2
		FOR UPDATE OF n SKIP LOCKED`
	qLease = `INSERT INTO notification_dispatch (notification_id, next_attempt_at, claim_token, claimed_at)
		SELECT id, $2, $3, $4 FROM unnest($1::text[]) AS id
		ON CONFLICT (notification_id) DO UPDATE
		SET next_attempt_at = EXCLUDED.next_attempt_at, claim_token = EXCLUDED.claim_token, claimed_at = EXCLUDED.claimed_at
		WHERE notification_dispatch.next_attempt_at <= $4
		RETURNING notification_id`
	qClaimed = `SELECT ` + notificationColumns + `, c.number AS case_number
		FROM notifications n JOIN cases c ON c.id = n.case_id
		WHERE n.id = ANY($1::text[]) ORDER BY n.created_at, n.id`

	qLatestAttempts = `SELECT DISTINCT ON (channel_id) id, notification_id, channel_id, attempt, at, status, error, next_attempt_at
		FROM notification_attempts WHERE notification_id = $1 ORDER BY channel_id, id DESC`
	qInsertAttempt = `INSERT INTO notification_attempts (notification_id, channel_id, attempt, at, status, error, next_attempt_at)
		VALUES (:notification_id, :channel_id, :attempt, :at, :status, :error, :next_attempt_at)`
	qAttempts = `SELECT id, notification_id, channel_id, attempt, at, status, error, next_attempt_at
		FROM notification_attempts WHERE notification_id = $1 ORDER BY id`

	qReschedule = `UPDATE notification_dispatch SET next_attempt_at = $3, claim_token = NULL, claimed_at = NULL
		WHERE notification_id = $1 AND claim_token = $2`
	qReleaseClaims = `DELETE FROM notification_dispatch WHERE notification_id = ANY($1::text[]) AND claim_token = $2
		RETURNING notification_id`
	qSettle = `UPDATE notifications
		SET status = $2, delivered_at = CASE WHEN $2 = 'delivered' THEN $3::timestamptz ELSE delivered_at END
		WHERE id = ANY($1::text[]) AND status = 'pending'`

	qInbox = `SELECT ` + notificationColumns + `, c.number AS case_number
		FROM notifications n JOIN cases c ON c.id = n.case_id
		WHERE n.recipient_agency_id = $1
		  AND ($2 OR n.recipient_role = ANY($3::text[]))
		  AND (NOT $4 OR n.read_at IS NULL)
		  AND ($5::timestamptz IS NULL OR (n.created_at, n.id) < ($5::timestamptz, $6::text))
		ORDER BY n.created_at DESC, n.id DESC
		LIMIT $7`
	qMarkRead = `UPDATE notifications n SET read_at = COALESCE(n.read_at, $5)
		FROM cases c
		WHERE n.id = $1 AND c.id = n.case_id AND n.recipient_agency_id = $2
		  AND ($3 OR n.recipient_role = ANY($4::text[]))
		RETURNING ` + notificationColumns + `, c.number AS case_number`

	qDeadLetters = `SELECT n.id, n.kind, n.case_id, c.number AS case_number, n.obligation, n.recipient_role,
			n.recipient_agency_id, n.created_at, a.channel_id, ch.kind AS channel_kind, a.attempt, a.at AS failed_at, a.error
		FROM notifications n
		JOIN cases c ON c.id = n.case_id
		LEFT JOIN LATERAL (SELECT channel_id, attempt, at, error FROM notification_attempts
			WHERE notification_id = n.id AND status = 'dead' ORDER BY id DESC LIMIT 1) a ON true
		LEFT JOIN agency_channels ch ON ch.id = a.channel_id
		WHERE n.status = 'dead'
		ORDER BY n.created_at DESC, n.id DESC
		LIMIT $1`
	qRequeue = `UPDATE notifications SET status = 'pending' WHERE id = $1 AND status = 'dead'
		RETURNING ` + notificationColumnsBare
	qNotificationExists = `SELECT true FROM notifications WHERE id = $1`
	qRequeueAttempts    = `INSERT INTO notification_attempts (notification_id, channel_id, attempt, at, status)
		SELECT notification_id, channel_id, 0, $2, 'requeued' FROM (
			SELECT DISTINCT ON (channel_id) notification_id, channel_id, status
			FROM notification_attempts WHERE notification_id = $1 ORDER BY channel_id, id DESC) latest
		WHERE status = 'dead'`
	qDueNow = `INSERT INTO notification_dispatch (notification_id, next_attempt_at) VALUES ($1, $2)
		ON CONFLICT (notification_id) DO UPDATE SET next_attempt_at = EXCLUDED.next_attempt_at, claim_token = NULL, claimed_at = NULL`
)

const notificationColumnsBare = `id, case_id, kind, obligation, obligation_id, recipient_role,
	recipient_agency_id, due_at, created_at, status, delivered_at, read_at, related_case_id`

// AddChannel stores a new delivery channel of an agency: ch.ID is the
// caller's (a webhook's secret is sealed bound to it before the row exists),
// a webhook carries its sealed secret, e-mail none. An unknown agency is
// ErrNotFound, the same kind and target twice ErrConflict.
func (s *Store) AddChannel(ctx context.Context, ch Channel) error {
	switch ch.Kind {
	case ChannelWebhook:
		if ch.SecretKeyID == nil || len(ch.SealedSecret) == 0 {
			return fmt.Errorf("webhook channel %s: no sealed secret", ch.ID)
		}
	case ChannelEmail:
		if ch.SecretKeyID != nil || ch.SealedSecret != nil {
			return fmt.Errorf("e-mail channel %s: must have no secret", ch.ID)
		}
	default:
		return fmt.Errorf("channel kind %q: not webhook or email", ch.Kind)
	}
	if _, err := s.db.NamedExecContext(ctx, qInsertChannel, ch); err != nil {
		var pgErr *pgconn.PgError
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("channel of agency %s: %w", ch.AgencyID, ErrConflict)
		case errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign key: no such agency
			return fmt.Errorf("agency %s: %w", ch.AgencyID, ErrNotFound)
		}
		return fmt.Errorf("add channel to agency %s: %w", ch.AgencyID, err)
	}
	return nil
}

// ChannelsWithClearSecret lists up to limit channels whose webhook secret is
// still stored in clear (written before migration 0011).
func (s *Store) ChannelsWithClearSecret(ctx context.Context, limit int) ([]Channel, error) {
	out := []Channel{}
	if err := s.db.SelectContext(ctx, &out, qClearSecretChannels, limit); err != nil {
		return nil, fmt.Errorf("channels with a clear secret: %w", err)
	}
	return out, nil
}

// SealChannelSecret replaces a channel's clear secret by its sealed form, if
// the row still holds that clear secret; it reports whether it did (false:
// another process sealed it first).
func (s *Store) SealChannelSecret(ctx context.Context, id uuid.UUID, clearSecret, keyID string, sealed []byte) (bool, error) {
	n, err := s.execCount(ctx, qSealChannelSecret, id, clearSecret, keyID, sealed)
	if err != nil {
		return false, fmt.Errorf("seal secret of channel %s: %w", id, err)
	}
	return n == 1, nil
}

// ChannelSecretsNotUnder lists up to limit channels whose secret is sealed
// under another master key than keyID.
func (s *Store) ChannelSecretsNotUnder(ctx context.Context, keyID string, limit int) ([]Channel, error) {
	out := []Channel{}
	if err := s.db.SelectContext(ctx, &out, qSecretsToReseal, keyID, limit); err != nil {
		return nil, fmt.Errorf("channel secrets to reseal: %w", err)
	}
	return out, nil
}

// ResealChannelSecret replaces a channel's sealed secret if it is still
// sealed under oldKeyID.
func (s *Store) ResealChannelSecret(ctx context.Context, id uuid.UUID, oldKeyID, newKeyID string, sealed []byte) error {
	if _, err := s.db.ExecContext(ctx, qResealChannelSecret, id, oldKeyID, newKeyID, sealed); err != nil {
		return fmt.Errorf("reseal secret of channel %s: %w", id, err)
	}
	return nil
}

// AgencyExists reports whether an agency exists (channel routes answer 404 otherwise).
func (s *Store) AgencyExists(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, qAgencyExists, id); err != nil {
		return false, fmt.Errorf("agency %s: %w", id, err)
	}
	return ok, nil
}

// Channels lists an agency's channels, active or not, oldest first.
func (s *Store) Channels(ctx context.Context, agencyID uuid.UUID) ([]Channel, error) {
	out := []Channel{}
	if err := s.db.SelectContext(ctx, &out, qChannels, agencyID); err != nil {
		return nil, fmt.Errorf("channels of agency %s: %w", agencyID, err)
	}
	return out, nil
}

// ActiveChannels lists the channels the dispatcher delivers an agency's notifications through.
func (s *Store) ActiveChannels(ctx context.Context, agencyID uuid.UUID) ([]Channel, error) {
	out := []Channel{}
	if err := s.db.SelectContext(ctx, &out, qActiveChannels, agencyID); err != nil {
		return nil, fmt.Errorf("active channels of agency %s: %w", agencyID, err)
	}
	return out, nil
}

// ClaimNotifications claims up to limit pending notifications that are due
// at now for one dispatcher until leaseUntil, and returns them with the
// claim's token. Several dispatchers may claim at once: each notification
// goes to one of them. A claim that is neither settled nor rescheduled
// before leaseUntil (the dispatcher died) lets the notification be claimed
// again, so delivery is at least once; receivers deduplicate on the ID.
func (s *Store) ClaimNotifications(ctx context.Context, now, leaseUntil time.Time, limit int) (uuid.UUID, []NotificationItem, error) {
	token := uuid.New()
	out := []NotificationItem{}
	if limit <= 0 {
		return token, out, nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var due []string
		if err := tx.SelectContext(ctx, &due, qLockDue, now, limit); err != nil {
			return fmt.Errorf("lock due notifications: %w", err)
		}
		if len(due) == 0 {
			return nil
		}
		var claimed []string
		if err := tx.SelectContext(ctx, &claimed, qLease, Strings(due), leaseUntil, token, now); err != nil {
			return fmt.Errorf("lease notifications: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		if err := tx.SelectContext(ctx, &out, qClaimed, Strings(claimed)); err != nil {
			return fmt.Errorf("read claimed notifications: %w", err)
		}
		return nil
	})
	if err != nil {
		return uuid.Nil, nil, err
	}
	return token, out, nil
}

// LatestAttempts returns the newest attempt of each channel a notification
// was tried through; the key uuid.Nil stands for "no channel".
func (s *Store) LatestAttempts(ctx context.Context, notificationID string) (map[uuid.UUID]DeliveryAttempt, error) {
	var rows []DeliveryAttempt
	if err := s.db.SelectContext(ctx, &rows, qLatestAttempts, notificationID); err != nil {
		return nil, fmt.Errorf("attempts of notification %s: %w", notificationID, err)
	}
	out := make(map[uuid.UUID]DeliveryAttempt, len(rows))
	for _, a := range rows {
		key := uuid.Nil
		if a.ChannelID != nil {
			key = *a.ChannelID
		}
		out[key] = a
	}
	return out, nil
}

// Attempts returns every attempt of a notification in order.
func (s *Store) Attempts(ctx context.Context, notificationID string) ([]DeliveryAttempt, error) {
	out := []DeliveryAttempt{}
	if err := s.db.SelectContext(ctx, &out, qAttempts, notificationID); err != nil {
		return nil, fmt.Errorf("attempts of notification %s: %w", notificationID, err)
	}
	return out, nil
}

// RecordAttempt appends a delivery attempt; its error is truncated.
func (s *Store) RecordAttempt(ctx context.Context, a DeliveryAttempt) error {
	a.Error = truncate(a.Error, maxAttemptError)
	if _, err := s.db.NamedExecContext(ctx, qInsertAttempt, a); err != nil {
		return fmt.Errorf("attempt of notification %s: %w", a.NotificationID, err)
	}
	return nil
}

// RescheduleNotification releases a claimed notification that stays pending
// until next (a channel failed and will be retried). It reports false when
// the claim was lost (its lease ran out and another dispatcher took it).
func (s *Store) RescheduleNotification(ctx context.Context, id string, token uuid.UUID, next time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, qReschedule, id, token, next)
	if err != nil {
		return false, fmt.Errorf("reschedule notification %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkNotificationDelivered settles a claimed notification as delivered on
// every channel. It reports false when the claim was lost.
func (s *Store) MarkNotificationDelivered(ctx context.Context, id string, token uuid.UUID, at time.Time) (bool, error) {
	settled, err := s.settle(ctx, []string{id}, token, NotificationDelivered, at)
	return len(settled) == 1, err
}

// MarkNotificationsDelivered settles claimed notifications as delivered in
// one transaction: those of agencies that receive them in the app only,
// the most common case, need no attempt each. It answers those settled;
// the others' claims were lost.
func (s *Store) MarkNotificationsDelivered(ctx context.Context, ids []string, token uuid.UUID, at time.Time) ([]string, error) {
	return s.settle(ctx, ids, token, NotificationDelivered, at)
}

// MarkNotificationDead settles a claimed notification as dead: a channel
// exhausted its retries, or no agency can receive it. It reports false when
// the claim was lost.
func (s *Store) MarkNotificationDead(ctx context.Context, id string, token uuid.UUID, at time.Time) (bool, error) {
	settled, err := s.settle(ctx, []string{id}, token, NotificationDead, at)
	return len(settled) == 1, err
}

// settle ends the claims still held under token and settles those
// notifications, answering their IDs.
func (s *Store) settle(ctx context.Context, ids []string, token uuid.UUID, status string, at time.Time) ([]string, error) {
	var settled []string
	if len(ids) == 0 {
		return settled, nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		settled = nil
		if err := tx.SelectContext(ctx, &settled, qReleaseClaims, Strings(ids), token); err != nil {
			return err
		}
		if len(settled) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, qSettle, Strings(settled), status, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mark %d notifications %s (first %s): %w", len(ids), status, ids[0], err)
	}
	return settled, nil
}

// AgencyNotifications lists the notifications addressed to an agency that
// the caller's recipients cover, newest first.
func (s *Store) AgencyNotifications(ctx context.Context, q InboxQuery) ([]NotificationItem, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	var before *time.Time
	var beforeID string
	if q.Before != nil {
		before, beforeID = &q.Before.CreatedAt, q.Before.ID
	}
	out := []NotificationItem{}
	if err := s.db.SelectContext(ctx, &out, qInbox, q.AgencyID, q.Recipients.All, q.Recipients.Roles,
		q.Unread, before, beforeID, q.Limit); err != nil {
		return nil, fmt.Errorf("notifications of agency %s: %w", q.AgencyID, err)
	}
	return out, nil
}

// MarkNotificationRead marks a notification read for its agency (read state
// is the agency's, not one user's) and returns it. A notification of another
// agency, or of a recipient role the caller does not read, is ErrNotFound.
// Marking twice keeps the first time.
func (s *Store) MarkNotificationRead(ctx context.Context, agencyID uuid.UUID, r Recipients, id string, at time.Time) (*NotificationItem, error) {
	var out NotificationItem
	if err := s.db.GetContext(ctx, &out, qMarkRead, id, agencyID, r.All, r.Roles, at); err != nil {
		return nil, fmt.Errorf("mark notification read: %w", notFound(err))
	}
	return &out, nil
}

// DeadLetters lists dead notifications, newest first, with the attempt
// that gave up.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	out := []DeadLetter{}
	if err := s.db.SelectContext(ctx, &out, qDeadLetters, limit); err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	return out, nil
}

// RetryDeadLetter puts a dead notification back in the queue, due at once:
// each channel that gave up starts a new round of attempts (channels that
// delivered are not tried again). An unknown ID is ErrNotFound; a
// notification that is not dead is ErrConflict.
func (s *Store) RetryDeadLetter(ctx context.Context, id string, at time.Time) (*Notification, error) {
	var out Notification
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &out, qRequeue, id); err != nil {
			if err = notFound(err); !errors.Is(err, ErrNotFound) {
				return err
			}
			var exists bool
			if err := tx.GetContext(ctx, &exists, qNotificationExists, id); err != nil {
				return notFound(err)
			}
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, qRequeueAttempts, id, at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, qDueNow, id, at)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retry notification %s: %w", id, err)
	}
	return &out, nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
