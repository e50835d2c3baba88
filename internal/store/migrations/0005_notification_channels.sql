-- Delivery of the notifications outbox (0002) through the agencies' channels.
--
-- In-app delivery needs no channel: an agency reads its notifications from the
-- outbox itself from the moment a workflow activity writes them. Webhooks and
-- e-mail are optional, per agency. Everything here holds IDs, codes, URLs and
-- addresses of agencies: never identity data of a person.

-- An agency's delivery channels besides in-app.
CREATE TABLE agency_channels (
    id          uuid PRIMARY KEY,
    agency_id   uuid NOT NULL REFERENCES agencies(id),
    kind        text NOT NULL CHECK (kind IN ('webhook', 'email')),
    -- The webhook URL or the e-mail address.
    target      text NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
    -- A webhook's HMAC-SHA256 key: 32 random bytes as 64 hex characters,
    -- shown once when the channel is created. NULL for e-mail.
    secret      text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agency_channels_secret CHECK ((kind = 'webhook') = (secret IS NOT NULL))
);
CREATE UNIQUE INDEX agency_channels_target_key ON agency_channels (agency_id, kind, target);
CREATE INDEX agency_channels_active_idx ON agency_channels (agency_id) WHERE active;

-- Dispatch state of a notification that is still pending: when it is due
-- next, and which dispatcher holds it. A dispatcher claims a notification by
-- moving next_attempt_at to the end of its lease under a fresh claim_token,
-- in the transaction that locked the notification (FOR UPDATE SKIP LOCKED);
-- a dispatcher that dies simply lets the lease run out. The row is removed
-- when the notification is delivered or dead.
CREATE TABLE notification_dispatch (
    notification_id  text PRIMARY KEY REFERENCES notifications(id),
    next_attempt_at  timestamptz NOT NULL,
    claim_token      uuid,
    claimed_at       timestamptz
);

-- Every delivery attempt of a notification through a channel. The newest row
-- of a (notification, channel) pair is the channel's state: delivered;
-- failed (retry at next_attempt_at); dead (retries exhausted); requeued (an
-- administrator asked for a new round of attempts, counted from 1 again).
-- channel_id is NULL for a notification no agency could receive.
CREATE TABLE notification_attempts (
    id               bigserial PRIMARY KEY,
    notification_id  text NOT NULL REFERENCES notifications(id),
    channel_id       uuid REFERENCES agency_channels(id),
    attempt          integer NOT NULL CHECK (attempt >= 0),
    at               timestamptz NOT NULL,
    status           text NOT NULL CHECK (status IN ('delivered', 'failed', 'dead', 'requeued')),
    -- Why an attempt failed (status code or network error), truncated: never a response body.
    error            text NOT NULL DEFAULT '' CHECK (length(error) <= 500),
    next_attempt_at  timestamptz
);
CREATE INDEX notification_attempts_notification_idx ON notification_attempts (notification_id, channel_id, id);

-- A notification is pending until every channel has delivered it (in-app
-- counts as delivered at once), or dead when a channel exhausted its retries.
ALTER TABLE notifications
    ADD CONSTRAINT notifications_status_check CHECK (status IN ('pending', 'delivered', 'dead'));
CREATE INDEX notifications_dead_idx ON notifications (created_at DESC) WHERE status = 'dead';
