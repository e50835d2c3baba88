-- The case file's notes read back a page at a time, by who may read them,
-- and its attachments (issue 15, points 2 and 3; internal/store/notes.go,
-- internal/store/attachments.go, docs/api.md#notes and #attachments).

-- Notes: the agency of the author when the note was written (a user who
-- moves to another agency keeps their old notes with the old one), and the
-- referral a note belongs to — the provider's answers and progress notes —
-- so that a provider reads the notes of its own referral only. The sender's
-- note of a referral is named by referrals.note_id.
ALTER TABLE case_notes ADD COLUMN agency_id uuid REFERENCES agencies(id);
ALTER TABLE case_notes ADD COLUMN referral_id uuid REFERENCES referrals(id);
UPDATE case_notes n SET agency_id = u.agency_id FROM users u WHERE u.id = n.author_id;
UPDATE case_notes n SET referral_id = r.id FROM referrals r WHERE r.note_id = n.id;
-- Declines and progress notes written before: their events name the note
-- and the referral.
UPDATE case_notes n SET referral_id = (e.data->>'referral_id')::uuid
    FROM case_events e
    WHERE n.referral_id IS NULL AND e.case_id = n.case_id AND e.data->>'note_id' = n.id::text
      AND e.data ? 'referral_id';
-- A completion's note is named by no event: it belongs to the completed
-- referral the author's agency had on that case, when there is one only.
UPDATE case_notes n SET referral_id = r.id
    FROM referrals r
    WHERE n.referral_id IS NULL AND n.kind = 'referral_complete' AND r.case_id = n.case_id
      AND r.agency_id = n.agency_id AND r.status = 'completed'
      AND NOT EXISTS (SELECT 1 FROM referrals o WHERE o.case_id = n.case_id AND o.agency_id = n.agency_id
                      AND o.status = 'completed' AND o.id <> r.id);
ALTER TABLE case_notes ALTER COLUMN agency_id SET NOT NULL;

-- Every way a note is written (a command's text, a note of its own, a
-- provider's answer) records the author's agency, without each insert
-- having to name it.
CREATE FUNCTION case_notes_author_agency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.agency_id IS NULL THEN
        SELECT agency_id INTO NEW.agency_id FROM users WHERE id = NEW.author_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER case_notes_author_agency BEFORE INSERT ON case_notes
    FOR EACH ROW EXECUTE FUNCTION case_notes_author_agency();

-- A page of a case's notes is a range scan from the cursor's (created_at, id).
DROP INDEX case_notes_case_idx;
CREATE INDEX case_notes_case_idx ON case_notes (case_id, created_at, id);
CREATE INDEX case_notes_referral_idx ON case_notes (referral_id) WHERE referral_id IS NOT NULL;

-- Attachments: files of a case, encrypted in the application under the
-- case's data key in chunks (crypto.SealChunk), stored by a backend
-- (attachments.Store): 'postgres', in attachment_chunks, or 's3', an
-- object per chunk. The row is written when the upload starts (status
-- 'uploading', chunks counted as they are stored, so that an upload cut
-- off half-way can be deleted from any backend) and completed when the
-- whole file is stored; only stored attachments are listed. Kind, content
-- type and size are codes and numbers; the description and the file's name
-- are sealed like a note. Nothing of the content is kept in clear, not
-- even a hash of it.
CREATE TABLE attachments (
    id            uuid PRIMARY KEY,
    case_id       uuid NOT NULL REFERENCES cases(id),
    status        text NOT NULL CHECK (status IN ('uploading', 'stored')),
    backend       text NOT NULL CHECK (backend IN ('postgres', 's3')),
    kind          text,
    content_type  text,
    size          bigint NOT NULL DEFAULT 0,
    chunks        integer NOT NULL DEFAULT 0,
    chunk_size    integer NOT NULL,
    description   bytea,
    file_name     bytea,
    uploaded_by   uuid NOT NULL REFERENCES users(id),
    agency_id     uuid NOT NULL REFERENCES agencies(id),
    created_at    timestamptz NOT NULL,
    stored_at     timestamptz,
    -- The case's data key was destroyed (erasure, retention, declined
    -- consent): the content can no longer be decrypted.
    destroyed_at  timestamptz,
    -- The encrypted chunks were deleted from the backend as well.
    purged_at     timestamptz,
    CHECK ((status = 'stored') = (stored_at IS NOT NULL))
);
CREATE INDEX attachments_case_idx ON attachments (case_id, created_at, id);
-- What the housekeeping still has to delete from a backend: uploads cut
-- off half-way, and the chunks of destroyed attachments.
CREATE INDEX attachments_unpurged_idx ON attachments (created_at)
    WHERE purged_at IS NULL AND (status = 'uploading' OR destroyed_at IS NOT NULL);

CREATE TABLE attachment_chunks (
    attachment_id  uuid NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
    n              integer NOT NULL,
    data           bytea NOT NULL,
    PRIMARY KEY (attachment_id, n)
);
-- Ciphertext does not compress: store it out of line as it is.
ALTER TABLE attachment_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Destroying a case's data key destroys its attachments in the same
-- transaction, whichever way it happens (store.DestroyCaseKey at the end
-- of retention, store.EraseIdentity, store.RecordTransition when consent is
-- declined): the sealed description and file name go, the chunks kept in
-- PostgreSQL are deleted, and the rows stay as the anonymised record
-- (kind, type, size, times) so that a download answers 410 Gone. Chunks
-- kept in an object store are deleted by the housekeeping (purged_at).
CREATE FUNCTION attachments_shred() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM attachment_chunks c USING attachments a
        WHERE a.case_id = NEW.case_id AND c.attachment_id = a.id;
    UPDATE attachments SET destroyed_at = COALESCE(NEW.destroyed_at, now()), description = NULL, file_name = NULL,
            purged_at = CASE WHEN backend = 'postgres' THEN COALESCE(NEW.destroyed_at, now()) ELSE purged_at END
        WHERE case_id = NEW.case_id AND destroyed_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER attachments_shred AFTER UPDATE OF wrapped ON case_keys
    FOR EACH ROW WHEN (OLD.wrapped IS NOT NULL AND NEW.wrapped IS NULL)
    EXECUTE FUNCTION attachments_shred();
