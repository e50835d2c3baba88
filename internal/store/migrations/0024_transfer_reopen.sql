-- Transfer and reopening (issue 15, points 5 and 6; docs/process.md#transfer,
-- docs/process.md#reopening).
--
-- service_region: the region a case is served in since it was transferred
-- with a region change (the person moved); NULL while it is served where it
-- was registered (region, which stays the region of encounter that the
-- statistics and the HTCDS export count by). reopened_count: how many times
-- the closed case was reopened; re_trafficked: it was reopened, or linked to
-- an earlier case, because the person was trafficked again (kept once set).
ALTER TABLE cases
    ADD COLUMN service_region text,
    ADD COLUMN reopened_count integer NOT NULL DEFAULT 0 CHECK (reopened_count >= 0),
    ADD COLUMN re_trafficked boolean NOT NULL DEFAULT false;

-- A duplicate found at screening linked to the earlier case of the same
-- person (POST /api/v1/cases/{id}/links): one row per pair, the later case
-- first. IDs only.
CREATE TABLE case_links (
    case_id          uuid NOT NULL REFERENCES cases(id),
    earlier_case_id  uuid NOT NULL REFERENCES cases(id),
    re_trafficked    boolean NOT NULL,
    linked_by        uuid NOT NULL REFERENCES users(id),
    linked_at        timestamptz NOT NULL,
    PRIMARY KEY (case_id, earlier_case_id),
    CHECK (case_id <> earlier_case_id)
);
CREATE INDEX case_links_earlier_idx ON case_links (earlier_case_id);

-- The TWG's count of re-trafficking (internal/reports/retrafficking.go)
-- reads the reopenings and links of a period.
CREATE INDEX case_events_retrafficking_idx ON case_events (at) WHERE type IN ('case_reopened', 'case_linked');
