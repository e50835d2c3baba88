-- Timeline order: the workflow's event sequence (events of one step share a time).
ALTER TABLE case_events ADD COLUMN seq integer NOT NULL DEFAULT 0;
DROP INDEX case_events_case_idx;
CREATE INDEX case_events_case_idx ON case_events (case_id, seq);

-- Obligation instances: the SOP's deadlines as the TWG's compliance report reads them.
CREATE TABLE obligations (
    id               text PRIMARY KEY,  -- case-<uuid>/<obligation>/<n>, from the workflow
    case_id          uuid NOT NULL REFERENCES cases(id),
    obligation       text NOT NULL,
    kind             text NOT NULL,
    sop_version      text NOT NULL,
    owner_role       text NOT NULL,
    owner_agency_id  uuid REFERENCES agencies(id),
    starts_at        timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    met_at           timestamptz,
    breached_at      timestamptz,
    cancelled_at     timestamptz,
    status           text NOT NULL CHECK (status IN ('pending','met','breached','cancelled','running','ended'))
);
CREATE INDEX obligations_case_idx ON obligations (case_id, starts_at);
CREATE INDEX obligations_report_idx ON obligations (obligation, starts_at);
CREATE INDEX obligations_owner_idx ON obligations (owner_agency_id, status);

-- Transactional outbox of notifications; the dispatcher delivers them.
-- Rows carry codes and IDs only: never identity data.
CREATE TABLE notifications (
    id                   text PRIMARY KEY,
    case_id              uuid NOT NULL REFERENCES cases(id),
    kind                 text NOT NULL,
    obligation           text NOT NULL DEFAULT '',
    obligation_id        text NOT NULL DEFAULT '',
    recipient_role       text NOT NULL,
    recipient_agency_id  uuid REFERENCES agencies(id),
    due_at               timestamptz,
    created_at           timestamptz NOT NULL,
    status               text NOT NULL DEFAULT 'pending',
    delivered_at         timestamptz,
    read_at              timestamptz
);
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'pending';
CREATE INDEX notifications_agency_idx ON notifications (recipient_agency_id, created_at DESC);

-- Free text that goes with commands (reasons, notes, the guardian's name):
-- kept here, referred to from workflows by ID only.
CREATE TABLE case_notes (
    id          uuid PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases(id),
    kind        text NOT NULL,
    author_id   uuid NOT NULL REFERENCES users(id),
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX case_notes_case_idx ON case_notes (case_id, created_at);
