-- The work queues of the web UI (internal/store/queues.go): the competent
-- authority's decisions due and negative decisions to review, and the
-- supervisors' closures to approve and overdue deadlines. Each reads the
-- open cases first, then their deadlines (obligations_case_idx) and events
-- (case_events_case_at_idx), so that it stays proportional to the open
-- cases, not to the history: the national queue starts from
-- cases_open_stage_idx (0010), an agency's from this index.
CREATE INDEX cases_open_agency_idx ON cases (agency_id, stage) WHERE closed_at IS NULL;
