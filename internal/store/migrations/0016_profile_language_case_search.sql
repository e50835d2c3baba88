-- The web UI's language a user chose on their account page ('' until they
-- choose): it becomes the page language when they sign in anywhere.
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT ''
    CHECK (language IN ('', 'tk', 'ru', 'en'));

-- The case list's search by case number (exact or prefix: number LIKE
-- 'TM-2026-0001%'), whatever the database's collation.
CREATE INDEX cases_number_prefix_idx ON cases (number text_pattern_ops);

-- The unread count in every signed-in page's header.
CREATE INDEX notifications_unread_idx ON notifications (recipient_agency_id) WHERE read_at IS NULL;
