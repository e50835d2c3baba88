-- Where and how (issue 15, point 7): the countries where the person was
-- exploited and those they were moved through, as ISO 3166-1 alpha-2 codes
-- (['TM'] alone: trafficking within the country). They are part of the
-- anonymised case, not of the identity.
ALTER TABLE cases
    ADD COLUMN exploitation_countries text[] NOT NULL DEFAULT '{}',
    ADD COLUMN transit_countries text[] NOT NULL DEFAULT '{}';

-- The statistics by country of exploitation (store.StatisticsCountries) and
-- the HTCDS export read the countries with the other codes of every case
-- opened before the end of the period: cases_report_idx (0009) covers them
-- too, so that all three report queries stay index-only scans.
DROP INDEX cases_report_idx;
CREATE INDEX cases_report_idx ON cases (opened_at)
    INCLUDE (id, closed_at, region, sex, age_band, citizenship, screening_outcome, officer_concern, closure_reason, exploitation, stage,
        exploitation_countries, transit_countries);

-- Corrections with history (issue 15, point 1): one row per correction of a
-- case (PATCH /api/v1/cases/{id}/person, PATCH /api/v1/cases/{id}),
-- numbered per case. Who made it, in which role and agency, and when are in
-- clear, and so are the names of the fields it changed (what changed, never
-- to what). The values before and after (JSON) and the reason are sealed
-- under the case's data key, bound to the case and the column, like the
-- identity (internal/identity): destroying the key makes them unreadable
-- with it.
CREATE TABLE case_corrections (
    id               uuid NOT NULL UNIQUE,
    case_id          uuid NOT NULL REFERENCES cases(id),
    seq              integer NOT NULL CHECK (seq > 0),
    at               timestamptz NOT NULL,
    actor_id         uuid NOT NULL REFERENCES users(id),
    role             text NOT NULL,
    agency_id        uuid NOT NULL REFERENCES agencies(id),
    fields           text[] NOT NULL,
    previous_values  bytea NOT NULL,
    new_values       bytea NOT NULL,
    reason           bytea NOT NULL,
    -- Two corrections of one case read at the same time: the second to
    -- commit collides here and is applied again to what the first left.
    PRIMARY KEY (case_id, seq)
);
