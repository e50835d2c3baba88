-- Referrals of a case to service providers. Each referral is a ReferralWorkflow;
-- these rows are its read model (inboxes, statistics).
ALTER TABLE agencies ADD COLUMN last_referred_at timestamptz;

CREATE TABLE referrals (
    id                   uuid PRIMARY KEY,
    case_id              uuid NOT NULL REFERENCES cases(id),
    service              text NOT NULL,
    urgent               boolean NOT NULL,
    region               text NOT NULL,
    sender_id            uuid NOT NULL REFERENCES users(id),
    sender_agency_id     uuid NOT NULL REFERENCES agencies(id),
    requested_agency_id  uuid REFERENCES agencies(id),
    -- The provider the referral waits with now; NULL once none is left.
    agency_id            uuid REFERENCES agencies(id),
    status               text NOT NULL CHECK (status IN ('pending','accepted','completed','withdrawn','unrouted')),
    attempt              integer NOT NULL DEFAULT 0,
    redirections         integer NOT NULL DEFAULT 0,
    sent_at              timestamptz NOT NULL,
    due_at               timestamptz,
    accepted_at          timestamptz,
    completed_at         timestamptz,
    withdrawn_at         timestamptz,
    outcome              text,
    -- The sender's note (case_notes), shown to the provider.
    note_id              uuid,
    bed_held             boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX referrals_agency_status_idx ON referrals (agency_id, status, sent_at DESC);
CREATE INDEX referrals_case_idx ON referrals (case_id);
CREATE INDEX referrals_sent_idx ON referrals (sent_at);

-- One row per provider a referral was sent to, with that provider's answer.
CREATE TABLE referral_attempts (
    referral_id     uuid NOT NULL REFERENCES referrals(id),
    attempt         integer NOT NULL,
    agency_id       uuid NOT NULL REFERENCES agencies(id),
    sent_at         timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    answered_at     timestamptz,
    answer          text CHECK (answer IN ('accepted','declined','expired','withdrawn')),
    decline_reason  text,
    PRIMARY KEY (referral_id, attempt)
);
CREATE INDEX referral_attempts_agency_idx ON referral_attempts (agency_id, sent_at);
