-- Throttling of failed sign-ins, replacing the account lock-out (users.
-- failed_logins / locked_until, no longer read): ten wrong passwords from
-- anywhere locked any account, the administrator's included, and only an
-- existing account answered "locked". Failures are counted instead per
-- (account, source address) and per account; a source that keeps failing for
-- an account waits exponentially longer before its next attempt, while other
-- sources (the real user) are not held. The rule's numbers are the API's
-- (api.SignInRule); this table only keeps the counts.
--
-- key is "signin-source:" or "signin-account:" + a keyed hash (HMAC under a
-- key derived from the master key) of the e-mail as typed, lower-cased, and
-- for a source row of the client's address: no e-mail or address is stored,
-- and an e-mail that has no account is counted exactly like one that has.
-- blocked_until is set on source rows only: no attempt from that source for
-- that account is checked before then. forget_at is when the row stops
-- counting (a day after the last failure); the worker's housekeeping deletes
-- it after that.
--
-- Logged, unlike rate_limits: the counts matter for a day, and a crash or a
-- fail-over to a standby must not hand an attacker fresh allowances.
CREATE TABLE signin_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL CHECK (failures > 0),
    blocked_until timestamptz,
    forget_at     timestamptz NOT NULL
);
CREATE INDEX signin_throttle_forget_idx ON signin_throttle (forget_at);

-- The lock-out's columns are read by nothing any more.
ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
