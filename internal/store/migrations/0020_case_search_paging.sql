-- Search and keyset paging of cases and of providers' inboxes
-- (internal/store/caselist.go, docs/api.md#pagination).
--
-- A page of cases is a range scan of cases_opened_idx or
-- cases_agency_opened_idx (0001) from the cursor on, the cases of one
-- instant sorted by ID on the way; a search by number uses
-- cases_number_prefix_idx (0016), by identity person_index_digest_idx
-- (0007). Most filters keep a large share of the cases (a region, adults,
-- an SOP version), so the scan in opened_at order soon fills a page; a
-- stage can keep very few of a national history that is mostly closed, so
-- it has an index of its own in that order (with an agency, PostgreSQL
-- combines it with the agency's).
CREATE INDEX cases_stage_opened_idx ON cases (stage, opened_at);

-- A provider's inbox filtered by status uses referrals_agency_status_idx
-- (0004); without a status it needs its own index, or it would sort every
-- referral the agency ever had.
CREATE INDEX referrals_agency_sent_idx ON referrals (agency_id, sent_at);

-- The version of the blind-index kinds a case's person_index rows were
-- computed by (identity.IndexVersion): 1 for the cases indexed before the
-- search kinds (document_key, phone, full_name) existed. The reconciler's
-- backfill (identity.Vault.Reindex) recomputes the live cases below the
-- current version, reading each version's cases in case_id order.
ALTER TABLE case_keys ADD COLUMN index_version smallint NOT NULL DEFAULT 1;
CREATE INDEX case_keys_reindex_idx ON case_keys (index_version, case_id) WHERE wrapped IS NOT NULL;
