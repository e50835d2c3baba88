-- Request rate limits shared by every API replica (NRM_LOGIN_RATE per client
-- address, NRM_USER_RATE per user, each per minute). Counting in each
-- replica's memory let N replicas allow N times the limit; here every
-- request adds one to its key's counter of the current fixed window in a
-- single INSERT ... ON CONFLICT DO UPDATE, and the request is refused when
-- the count passes the limit.
--
-- key is a keyed hash of what is counted ("login:" or "user:" + HMAC of the
-- client address or user ID under a key derived from the master key): no
-- address or ID is stored. window_start is the start of the window in the
-- database's clock, so replicas with drifting clocks still share windows.
--
-- UNLOGGED: the counters are worth nothing after a crash (PostgreSQL empties
-- the table then, which at worst lets one minute's requests through again),
-- and skipping the WAL keeps the one write per request cheap. They are not
-- replicated to standbys either, for the same reason. The worker deletes
-- ended windows (housekeeping). fillfactor leaves room in each page so that
-- the increments are HOT updates (n is not indexed).
CREATE UNLOGGED TABLE rate_limits (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    n            integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (key, window_start)
) WITH (fillfactor = 70);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
