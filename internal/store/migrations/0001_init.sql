-- Agencies, users and sessions: who may do what.
CREATE TABLE agencies (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    type        text NOT NULL,
    region      text NOT NULL,
    -- Regions the agency serves; empty means only its own region.
    regions     text[] NOT NULL DEFAULT '{}',
    national    boolean NOT NULL DEFAULT false,
    services    text[] NOT NULL DEFAULT '{}',
    languages   text[] NOT NULL DEFAULT '{}',
    beds        integer NOT NULL DEFAULT 0 CHECK (beds >= 0),
    occupancy   integer NOT NULL DEFAULT 0 CHECK (occupancy >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agencies_name_key ON agencies (lower(name));

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('frontline','competent_authority','supervisor','provider','twg','admin')),
    agency_id      uuid NOT NULL REFERENCES agencies(id),
    password_hash  text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    failed_logins  integer NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_agency_idx ON users (agency_id);

-- Sessions are opaque random tokens; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users(id),
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- SOP versions as first used, pinned by content hash.
CREATE TABLE sop_versions (
    sop            text NOT NULL,
    version        text NOT NULL,
    hash           text NOT NULL,
    first_used_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sop, version)
);

-- Readable case numbers: one counter per country prefix and year.
CREATE TABLE case_counters (
    prefix  text NOT NULL,
    year    integer NOT NULL,
    last    integer NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- The case read model. No identity data here: that lives in persons.
CREATE TABLE cases (
    id                   uuid PRIMARY KEY,
    number               text NOT NULL UNIQUE,
    agency_id            uuid NOT NULL REFERENCES agencies(id),
    created_by           uuid NOT NULL REFERENCES users(id),
    sop_id               text NOT NULL,
    sop_version          text NOT NULL,
    sop_hash             text NOT NULL,
    stage                text NOT NULL,
    child                boolean NOT NULL,
    sex                  text NOT NULL,
    age_band             text NOT NULL,
    citizenship          text NOT NULL,
    region               text NOT NULL,
    encounter_context    text NOT NULL,
    encountered_at       timestamptz NOT NULL,
    indicators           text[] NOT NULL,
    exploitation         text[] NOT NULL,
    urgent_needs         text[] NOT NULL,
    consent_referral     boolean,
    consent_data_sharing boolean,
    screening_outcome    text NOT NULL,
    screening            jsonb NOT NULL,
    officer_concern      boolean NOT NULL DEFAULT false,
    opened_at            timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    closed_at            timestamptz,
    closure_reason       text,
    -- Set once the CaseWorkflow is known to run; the reconciler starts the rest.
    workflow_started_at  timestamptz
);
CREATE INDEX cases_agency_opened_idx ON cases (agency_id, opened_at DESC);
CREATE INDEX cases_opened_idx ON cases (opened_at DESC);
CREATE INDEX cases_unstarted_idx ON cases (opened_at) WHERE workflow_started_at IS NULL;

-- Identity of the person: read only by roles that need it, every read audited.
CREATE TABLE persons (
    case_id          uuid PRIMARY KEY REFERENCES cases(id),
    given_name       text NOT NULL,
    family_name      text NOT NULL,
    birth_date       date,
    age_estimate     integer,
    languages        text[] NOT NULL,
    phone            text NOT NULL,
    document_number  text NOT NULL,
    place            text NOT NULL,
    narrative        text NOT NULL,
    officer_concern  text NOT NULL
);

-- Timeline events written by workflow activities; id is derived from the
-- workflow ID and a sequence so that retries never duplicate a row.
CREATE TABLE case_events (
    id        text PRIMARY KEY,
    case_id   uuid NOT NULL REFERENCES cases(id),
    type      text NOT NULL,
    at        timestamptz NOT NULL,
    actor_id  uuid,
    data      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case_idx ON case_events (case_id, at);

-- Append-only audit of identity reads and commands.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    user_id     uuid NOT NULL,
    role        text NOT NULL,
    agency_id   uuid NOT NULL,
    action      text NOT NULL,
    case_id     uuid,
    fields      text[] NOT NULL DEFAULT '{}',
    request_id  text NOT NULL
);
CREATE INDEX audit_log_case_idx ON audit_log (case_id, at);
