-- Idempotency-Key on POST: the first response is kept and replayed for a
-- retry with the same key and body. Responses of POST routes carry no
-- identity data. Keys expire after a day.
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    body_hash    bytea NOT NULL,
    status       integer,
    content_type text,
    response     bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
