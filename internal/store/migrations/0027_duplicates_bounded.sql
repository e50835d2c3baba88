-- The duplicate check of an opening reads, for each digest, only the most
-- recent cases (store.CasesWithIndex): a person screened a hundred times, or
-- a shelter's phone given by everyone, costs what a person seen once does.
-- The case's opening time is kept beside each digest, in the order of the
-- index, so that the check stops after the first rows of each digest. The
-- case search by digest uses the same index.
ALTER TABLE person_index ADD COLUMN opened_at timestamptz;
UPDATE person_index i SET opened_at = c.opened_at FROM cases c WHERE c.id = i.case_id;
ALTER TABLE person_index ALTER COLUMN opened_at SET NOT NULL;
DROP INDEX person_index_digest_idx;
CREATE INDEX person_index_digest_idx ON person_index (digest, opened_at DESC, case_id);
