-- Hash-chained, append-only audit log (docs/architecture.md#audit-log).
--
-- Each row stores the hash of the row before it (prev_hash; 32 zero bytes for
-- the first row) and its own hash = SHA-256(prev_hash || canonical encoding of
-- the row), computed by the application (store.Audit) under an advisory lock
-- so that the chain stays linear. `nrm audit verify` recomputes it.
--
-- Rows written before this migration (none: the product was not deployed) keep
-- NULL hashes; VerifyAudit skips such rows only before the first chained row.
-- The NOT VALID check makes both hashes mandatory for every new row without
-- validating older ones.
ALTER TABLE audit_log
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;
ALTER TABLE audit_log
    ADD CONSTRAINT audit_log_chained CHECK (
        prev_hash IS NOT NULL AND length(prev_hash) = 32 AND hash IS NOT NULL AND length(hash) = 32
    ) NOT VALID;

-- Append-only at the database level: UPDATE, DELETE and TRUNCATE are refused
-- for every role, the owner included. Only a superuser or the table owner can
-- get round this by disabling the triggers, which VerifyAudit then detects.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
