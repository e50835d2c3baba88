-- Webhook signing secrets sealed under the master key (docs/architecture.md#master-key): until
-- now agency_channels.secret held each webhook's HMAC key in clear, so anyone
-- with a database dump or backup could forge signed deliveries. From here on
-- the key is stored as AES-256-GCM ciphertext under the master key
-- secret_key_id, bound to the channel's ID (package notify seals it,
-- `nrm keys rotate` re-wraps it).
--
-- SQL cannot encrypt (the master key never reaches the database), so this
-- migration only makes room: a secret stored before it stays in `secret`
-- until the worker's notification dispatcher seals it — all of them when it
-- starts, and any single one it meets before that (one written by an API
-- replica of the previous release during a rolling upgrade) — writing the
-- ciphertext and clearing `secret` in one statement. The step is idempotent:
-- it only touches rows whose `secret` is still set. No row ever holds both
-- forms. A later release drops the column once every installation has run a
-- worker of this one (refusing to while any row still has it).
ALTER TABLE agency_channels
    ADD COLUMN secret_key_id text,
    ADD COLUMN secret_sealed bytea,
    DROP CONSTRAINT agency_channels_secret,
    ADD CONSTRAINT agency_channels_secret_sealed CHECK ((secret_key_id IS NULL) = (secret_sealed IS NULL)),
    ADD CONSTRAINT agency_channels_secret_once CHECK (secret IS NULL OR secret_sealed IS NULL),
    ADD CONSTRAINT agency_channels_secret CHECK ((kind = 'webhook') = (secret IS NOT NULL OR secret_sealed IS NOT NULL));

COMMENT ON COLUMN agency_channels.secret IS
    'Deprecated: a webhook secret in clear from before 0011, sealed and cleared by the worker at start.';
