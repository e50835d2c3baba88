-- Indexes of the TWG's reports (internal/store/reports.go).

-- Compliance: obligation instances by due time. Only deadlines that can be
-- met or breached are reported; the partial predicate matches the query's.
CREATE INDEX obligations_due_idx ON obligations (due_at)
    WHERE kind = 'deadline' AND status IN ('pending', 'met', 'breached');

-- Compliance (the event that met a breached obligation late: one descent to
-- the obligation's start, then forward to the first event of a meeting
-- type), the HTCDS export (was the case identified?) and the SOP simulation
-- (a case's events of the types it replays): a case's events in time order,
-- with their type for index-only scans.
CREATE INDEX case_events_case_at_idx ON case_events (case_id, at) INCLUDE (type);

-- Statistics: identification decisions taken in a period.
CREATE INDEX case_events_identified_idx ON case_events (at) INCLUDE (case_id, type)
    WHERE type IN ('preliminary_positive', 'conclusive_positive');

-- Statistics and the HTCDS export read every case opened before the end of
-- the period once, with the codes they count by: an index-only scan of this
-- covering index instead of the heap (whose rows carry the screening JSON
-- and are about ten times wider). Compliance uses it for the case's region.
CREATE INDEX cases_report_idx ON cases (opened_at)
    INCLUDE (id, closed_at, region, sex, age_band, citizenship, screening_outcome, officer_concern, closure_reason, exploitation, stage);

-- Statistics: the attempts of the referrals sent in a period (referrals
-- themselves have referrals_sent_idx, from 0004).
CREATE INDEX referral_attempts_sent_idx ON referral_attempts (sent_at);
