-- The X-Request-ID a client sent, kept apart from the server's own request
-- ID: a client may choose any value (or reuse another request's), so the ID
-- that ties an audit row to the server's log line is always the server's.
ALTER TABLE audit_log ADD COLUMN client_request_id text;
