package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// DefaultBackoff is the wait before each retry of a failed channel: six
// attempts in all over about seven hours, then the notification is dead.
var DefaultBackoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// Dispatcher delivers the outbox. Several may run at once (one per worker
// replica): each notification is claimed by one of them for a lease, in a
// short transaction with FOR UPDATE SKIP LOCKED, so none is delivered twice
// — unless a dispatcher dies or overruns its lease mid-delivery, when
// another delivers it again (at least once; webhook receivers deduplicate on
// X-NRM-Delivery, mail clients on Message-ID).
//
// A notification stays pending until every active channel of its agency has
// delivered it (in-app needs no delivery), then it is delivered; when a
// channel fails it is retried after Backoff[0], Backoff[1], …; when a channel
// fails once more after the last wait the notification is dead, listed for
// administrators, who may retry it. A notification whose role no agency holds
// (recipient_agency_id NULL) is dead at once.
type Dispatcher struct {
	Store *store.Store
	// Keys opens the webhooks' sealed signing secrets (Secrets); without it
	// webhook deliveries fail.
	Keys *crypto.Keyring
	// Webhooks says which addresses webhooks may reach, checked on every
	// connection (WebhookPolicy.HTTPClient); nil allows public addresses only.
	Webhooks *WebhookPolicy
	// SMTP sends e-mail; when not Configured, e-mail channels are skipped.
	SMTP SMTP
	// PublicURL is the web UI's base URL (NRM_PUBLIC_URL): links are PublicURL/cases/<id>.
	PublicURL string
	// Backoff is the retry schedule; nil means DefaultBackoff.
	Backoff []time.Duration
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PollInterval is how often Run looks for due notifications; default 2 s.
	PollInterval time.Duration
	// Batch is how many notifications one pass claims; default 20.
	Batch int
	// Lease is how long a claim holds before another dispatcher may take the
	// notification over; default 2 min. It must outlast one notification's
	// deliveries (WebhookTimeout and SMTP.Timeout per channel).
	Lease time.Duration
	// Channels also receive every delivered notification (LogChannel in dev).
	Channels []Channel

	smtpWarning sync.Once
	clientOnce  sync.Once
	client      *http.Client
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

func (d *Dispatcher) backoff() []time.Duration {
	if d.Backoff != nil {
		return d.Backoff
	}
	return DefaultBackoff
}

// httpClient is built once, so that connections to a receiver are reused
// across deliveries.
func (d *Dispatcher) httpClient() *http.Client {
	d.clientOnce.Do(func() { d.client = d.Webhooks.HTTPClient() })
	return d.client
}

// Run delivers until ctx ends, polling every PollInterval and going on at
// once while full batches come. Its first pass seals the webhook secrets
// still stored in clear (migration 0011), and each pass tries again until
// that succeeds.
func (d *Dispatcher) Run(ctx context.Context) {
	interval := d.PollInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	sealed := d.Keys == nil // nothing to seal with: Open reports it per delivery
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if !sealed {
			n, err := d.secrets().SealClear(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				d.log().Warn("notifications: sealing webhook secrets stored in clear failed; will retry", "error", err)
			case err == nil:
				sealed = true
				if n > 0 {
					d.log().Info("notifications: sealed webhook secrets stored in clear", "channels", n)
				}
			}
		}
		n, err := d.DeliverOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log().Warn("notifications: delivery pass failed", "error", err)
		}
		if err == nil && n >= d.batch() {
			timer.Reset(0)
		} else {
			timer.Reset(interval)
		}
	}
}

func (d *Dispatcher) secrets() Secrets { return Secrets{Store: d.Store, Keys: d.Keys} }

func (d *Dispatcher) batch() int {
	if d.Batch > 0 {
		return d.Batch
	}
	return 20
}

// DeliverOnce claims the due notifications (up to Batch), delivers them and
// returns how many it claimed.
func (d *Dispatcher) DeliverOnce(ctx context.Context) (int, error) {
	if d.Store == nil {
		return 0, errors.New("notify: dispatcher has no store")
	}
	lease := d.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	now := d.now()
	token, items, err := d.Store.ClaimNotifications(ctx, now, now.Add(lease), d.batch())
	if err != nil {
		return 0, err
	}
	channels, err := d.agencyChannels(ctx, items)
	if err != nil {
		return 0, err // the claims run out; the next pass after the lease tries again
	}
	var inApp []*store.NotificationItem
	var wg sync.WaitGroup
	errs := make([]error, len(items)+1)
	for i := range items {
		n := &items[i]
		if n.RecipientAgencyID != nil && len(channels[*n.RecipientAgencyID]) == 0 {
			inApp = append(inApp, n)
			continue
		}
		wg.Go(func() { errs[i] = d.deliver(ctx, token, n, channels) })
	}
	errs[len(items)] = d.deliverInApp(ctx, token, inApp)
	wg.Wait()
	return len(items), errors.Join(errs...)
}

// agencyChannels reads the active channels of each agency the items are
// addressed to, once per agency.
func (d *Dispatcher) agencyChannels(ctx context.Context, items []store.NotificationItem) (map[uuid.UUID][]store.Channel, error) {
	out := map[uuid.UUID][]store.Channel{}
	for _, n := range items {
		if n.RecipientAgencyID == nil {
			continue
		}
		if _, ok := out[*n.RecipientAgencyID]; ok {
			continue
		}
		chs, err := d.Store.ActiveChannels(ctx, *n.RecipientAgencyID)
		if err != nil {
			return nil, err
		}
		out[*n.RecipientAgencyID] = chs
	}
	return out, nil
}

// deliverInApp settles together the notifications of agencies without an
// active channel: the app's inbox is their delivery, nothing is sent.
func (d *Dispatcher) deliverInApp(ctx context.Context, token uuid.UUID, items []*store.NotificationItem) error {
	if len(items) == 0 {
		return nil
	}
	ids := make([]string, len(items))
	for i, n := range items {
		ids[i] = n.ID
	}
	settled, err := d.Store.MarkNotificationsDelivered(ctx, ids, token, d.now())
	if err != nil {
		return err
	}
	done := make(map[string]bool, len(settled))
	for _, id := range settled {
		done[id] = true
	}
	for _, n := range items {
		if done[n.ID] {
			d.delivered(ctx, d.message(n))
		}
	}
	return nil
}

func (d *Dispatcher) message(n *store.NotificationItem) Message {
	m := Message{ID: n.ID, Kind: n.Kind, CaseID: n.CaseID, CaseNumber: n.CaseNumber, Obligation: n.Obligation,
		RecipientRole: n.RecipientRole, DueAt: n.DueAt, CreatedAt: n.CreatedAt, Link: Link(d.PublicURL, n.CaseID, n.RecipientRole)}
	if n.RecipientAgencyID != nil {
		m.AgencyID = *n.RecipientAgencyID
	}
	return m
}

// deliver sends one claimed notification through each of its agency's
// active channels that is due, records each attempt and settles the
// notification. A store error leaves the claim to run out: the next pass
// after the lease tries again.
func (d *Dispatcher) deliver(ctx context.Context, token uuid.UUID, n *store.NotificationItem, agencyChannels map[uuid.UUID][]store.Channel) error {
	m := d.message(n)
	if n.RecipientAgencyID == nil {
		return d.noRecipient(ctx, token, m)
	}
	channels := agencyChannels[m.AgencyID]
	latest, err := d.Store.LatestAttempts(ctx, m.ID)
	if err != nil {
		return err
	}
	var next time.Time // earliest retry of a channel still failing
	dead := false
	for i := range channels {
		ch := &channels[i]
		prev, tried := latest[ch.ID]
		attempt := 1
		if tried {
			switch prev.Status {
			case store.AttemptDelivered:
				continue
			case store.AttemptDead:
				dead = true
				continue
			case store.AttemptFailed:
				if prev.NextAttemptAt != nil && prev.NextAttemptAt.After(d.now()) {
					next = earliest(next, *prev.NextAttemptAt)
					continue
				}
			}
			attempt = prev.Attempt + 1 // a requeued channel has attempt 0: a new round
		}
		if ch.Kind == store.ChannelEmail && !d.SMTP.Configured() {
			d.smtpWarning.Do(func() {
				d.log().Warn("notifications: an agency has an e-mail channel but no SMTP server is configured (NRM_SMTP_ADDR, NRM_SMTP_FROM); e-mail is skipped",
					"channel_id", ch.ID.String())
			})
			continue
		}
		at := d.now()
		sendErr := d.send(ctx, ch, m, at)
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the lease runs out, another pass retries
		}
		a := store.DeliveryAttempt{NotificationID: m.ID, ChannelID: &ch.ID, Attempt: attempt, At: at, Status: store.AttemptDelivered}
		log := d.log().With("notification_id", m.ID, "channel_id", ch.ID.String(), "channel", ch.Kind, "attempt", attempt)
		switch {
		case sendErr == nil:
			log.Debug("notification sent")
		case attempt <= len(d.backoff()):
			retry := at.Add(d.backoff()[attempt-1])
			a.Status, a.Error, a.NextAttemptAt = store.AttemptFailed, sendErr.Error(), &retry
			next = earliest(next, retry)
			log.Warn("notification delivery failed; will retry", "error", sendErr, "retry_at", retry)
		default:
			a.Status, a.Error = store.AttemptDead, sendErr.Error()
			dead = true
			log.Error("notification delivery failed; retries exhausted", "error", sendErr)
		}
		if err := d.Store.RecordAttempt(ctx, a); err != nil {
			return err
		}
	}
	switch {
	case !next.IsZero():
		_, err := d.Store.RescheduleNotification(ctx, m.ID, token, next)
		return err
	case dead:
		ok, err := d.Store.MarkNotificationDead(ctx, m.ID, token, d.now())
		if ok {
			d.log().Error("notification dead", "notification_id", m.ID, "kind", m.Kind, "agency_id", m.AgencyID.String())
		}
		return err
	}
	ok, err := d.Store.MarkNotificationDelivered(ctx, m.ID, token, d.now())
	if err != nil || !ok {
		return err
	}
	d.delivered(ctx, m)
	return nil
}

// delivered tells the process's own channels (nrm dev's log) of a
// notification once it is settled as delivered.
func (d *Dispatcher) delivered(ctx context.Context, m Message) {
	for _, c := range d.Channels {
		if err := c.Send(ctx, m); err != nil {
			d.log().Warn("notification channel failed", "channel", c.Name(), "notification_id", m.ID, "error", err)
		}
	}
}

// noRecipient dead-letters a notification addressed to a role no agency
// holds (for example child_protection where no agency has that type): an
// administrator must create the agency, or correct the SOP.
func (d *Dispatcher) noRecipient(ctx context.Context, token uuid.UUID, m Message) error {
	latest, err := d.Store.LatestAttempts(ctx, m.ID)
	if err != nil {
		return err
	}
	attempt := latest[uuid.Nil].Attempt + 1
	err = d.Store.RecordAttempt(ctx, store.DeliveryAttempt{NotificationID: m.ID, Attempt: attempt, At: d.now(),
		Status: store.AttemptDead, Error: fmt.Sprintf("no agency holds the recipient role %s", m.RecipientRole)})
	if err != nil {
		return err
	}
	ok, err := d.Store.MarkNotificationDead(ctx, m.ID, token, d.now())
	if ok {
		d.log().Error("notification dead: no agency holds its recipient role", "notification_id", m.ID,
			"recipient_role", m.RecipientRole)
	}
	return err
}

func (d *Dispatcher) send(ctx context.Context, ch *store.Channel, m Message, at time.Time) error {
	switch ch.Kind {
	case store.ChannelWebhook:
		secret, err := d.secrets().Open(ctx, ch)
		if err != nil {
			return err
		}
		return postWebhook(ctx, d.httpClient(), ch.Target, secret, m, at)
	case store.ChannelEmail:
		return d.SMTP.send(ctx, ch.Target, composeEmail(d.SMTP.From, ch.Target, m, at))
	}
	return fmt.Errorf("unknown channel kind %q", ch.Kind)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
