-- A notification may be about two cases: a possible duplicate tells the
-- competent authority which earlier case the new one may repeat, so that it
-- reconciles them; the screening officer is told nothing of another agency's
-- case.
ALTER TABLE notifications ADD COLUMN related_case_id uuid REFERENCES cases(id);

-- Screenings that open and close at once, counted per officer for the alert
-- on a burst of them (a probe of the duplicate check looks like that).
CREATE INDEX cases_created_by_opened ON cases (created_by, opened_at);
