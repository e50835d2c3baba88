-- The audit trail of the web UI (internal/store/audittrail.go): /audit lists
-- audit_log newest first (at, then id), filtered by user, agency or action
-- and by a period, a page at a time from a cursor ((at, id) < the last row
-- shown). Each filter has an index that ends in (at, id), so a page is one
-- backward range scan of it, however long the log; without a filter the
-- (at, id) index serves the period and the order. A case's trail uses
-- audit_log_case_idx (0001). The action index also serves the list of
-- distinct actions (a loose index scan) and the last chain verification.
CREATE INDEX audit_log_at_idx ON audit_log (at, id);
CREATE INDEX audit_log_user_at_idx ON audit_log (user_id, at, id);
CREATE INDEX audit_log_agency_at_idx ON audit_log (agency_id, at, id);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at, id);
