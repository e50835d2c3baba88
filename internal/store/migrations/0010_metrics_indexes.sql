-- Indexes of the /metrics gauges (internal/store/metrics.go). Each is
-- partial, so that a scrape reads only the rows it counts — the open cases,
-- the breached or pending obligations, the waiting referrals — and not the
-- national history; each covers its query for index-only scans.

-- nrm_open_cases{stage}.
CREATE INDEX cases_open_stage_idx ON cases (stage) WHERE closed_at IS NULL;

-- nrm_obligations_breached{obligation,agency_type}.
CREATE INDEX obligations_breached_idx ON obligations (obligation, owner_agency_id) WHERE status = 'breached';

-- nrm_obligations_overdue{obligation,agency_type}: pending deadlines by due time.
CREATE INDEX obligations_pending_due_idx ON obligations (due_at) INCLUDE (obligation, owner_agency_id)
    WHERE status = 'pending' AND kind = 'deadline';

-- nrm_referrals_waiting{service}.
CREATE INDEX referrals_pending_service_idx ON referrals (service) WHERE status = 'pending';
