package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Attachments of a case (migration 0023): one row per file with its codes,
// size and sealed description and file name, and — for the PostgreSQL
// backend — its encrypted chunks in attachment_chunks. Destroying the case's
// data key destroys them in the same transaction (the migration's trigger).

// Attachment is a file of a case as stored: never anything in clear but
// codes, numbers and times.
type Attachment struct {
	ID          uuid.UUID  `db:"id"`
	CaseID      uuid.UUID  `db:"case_id"`
	Status      string     `db:"status"`
	Backend     string     `db:"backend"`
	Kind        *string    `db:"kind"`
	ContentType *string    `db:"content_type"`
	Size        int64      `db:"size"`
	Chunks      int        `db:"chunks"`
	ChunkSize   int        `db:"chunk_size"`
	Description []byte     `db:"description"`
	FileName    []byte     `db:"file_name"`
	UploadedBy  uuid.UUID  `db:"uploaded_by"`
	AgencyID    uuid.UUID  `db:"agency_id"`
	CreatedAt   time.Time  `db:"created_at"`
	StoredAt    *time.Time `db:"stored_at"`
	DestroyedAt *time.Time `db:"destroyed_at"`
	PurgedAt    *time.Time `db:"purged_at"`
	// Read with the lists only.
	UploaderName string `db:"uploader_name"`
	AgencyName   string `db:"agency_name"`
}

// Attachment statuses.
const (
	AttachmentUploading = "uploading"
	AttachmentStored    = "stored"
)

// StoredAttachment is an upload's completion: what is known once the whole
// file was read.
type StoredAttachment struct {
	ID          uuid.UUID
	Kind        string
	ContentType string
	Size        int64
	Chunks      int
	Description []byte
	FileName    []byte
	At          time.Time
}

const (
	qBeginAttachment = `INSERT INTO attachments (id, case_id, status, backend, chunk_size, uploaded_by, agency_id, created_at)
		VALUES ($1, $2, 'uploading', $3, $4, $5, $6, $7)`
	// The count goes up before a chunk is stored, so that a deletion of a
	// cut-off upload reaches every chunk that may exist.
	qCountChunk = `UPDATE attachments SET chunks = GREATEST(chunks, $2) WHERE id = $1 AND status = 'uploading'`
	// Completing fails when the case's key was destroyed meanwhile.
	qCompleteAttachment = `UPDATE attachments SET status = 'stored', kind = $2, content_type = $3, size = $4, chunks = $5,
		description = $6, file_name = $7, stored_at = $8
		WHERE id = $1 AND status = 'uploading' AND destroyed_at IS NULL`
	qDeleteAttachment  = `DELETE FROM attachments WHERE id = $1`
	qAttachmentColumns = `a.*, u.name AS uploader_name, g.name AS agency_name
		FROM attachments a JOIN users u ON u.id = a.uploaded_by JOIN agencies g ON g.id = a.agency_id`
	// The stored attachments of a case, oldest first (attachments_case_idx).
	qCaseAttachments = `SELECT ` + qAttachmentColumns + ` WHERE a.case_id = $1 AND a.status = 'stored' ORDER BY a.created_at, a.id`
	qCaseAttachment  = `SELECT ` + qAttachmentColumns + ` WHERE a.case_id = $1 AND a.id = $2 AND a.status = 'stored'`
	// What a backend still holds that must go (attachments_unpurged_idx):
	// the chunks of destroyed attachments, and uploads cut off before staleBefore.
	qAttachmentsToPurge = `SELECT * FROM attachments WHERE purged_at IS NULL AND backend = $1
		AND (destroyed_at IS NOT NULL OR (status = 'uploading' AND created_at < $2))
		ORDER BY created_at LIMIT $3`
	qMarkPurged = `UPDATE attachments SET purged_at = $2 WHERE id = $1 AND destroyed_at IS NOT NULL`
	// Chunks of the PostgreSQL backend. A chunk written again (a retried
	// upload of the same attachment) replaces the earlier one.
	qPutChunk     = `INSERT INTO attachment_chunks (attachment_id, n, data) VALUES ($1, $2, $3) ON CONFLICT (attachment_id, n) DO UPDATE SET data = EXCLUDED.data`
	qGetChunk     = `SELECT data FROM attachment_chunks WHERE attachment_id = $1 AND n = $2`
	qDeleteChunks = `DELETE FROM attachment_chunks WHERE attachment_id = $1`
)

// BeginAttachment records an upload that starts: the row is listed nowhere
// until CompleteAttachment.
func (s *Store) BeginAttachment(ctx context.Context, a Attachment) error {
	if _, err := s.db.ExecContext(ctx, qBeginAttachment, a.ID, a.CaseID, a.Backend, a.ChunkSize, a.UploadedBy, a.AgencyID, a.CreatedAt); err != nil {
		return fmt.Errorf("begin attachment of case %s: %w", a.CaseID, err)
	}
	return nil
}

// CountChunks records that an upload has stored, or is storing, n chunks.
func (s *Store) CountChunks(ctx context.Context, id uuid.UUID, n int) error {
	if _, err := s.db.ExecContext(ctx, qCountChunk, id, n); err != nil {
		return fmt.Errorf("attachment %s: %w", id, err)
	}
	return nil
}

// CompleteAttachment makes an upload a stored attachment; ErrNotFound when
// it is no longer being uploaded or its case's key was destroyed meanwhile.
func (s *Store) CompleteAttachment(ctx context.Context, a StoredAttachment) error {
	res, err := s.db.ExecContext(ctx, qCompleteAttachment, a.ID, a.Kind, a.ContentType, a.Size, a.Chunks, a.Description, a.FileName, a.At)
	if err != nil {
		return fmt.Errorf("complete attachment %s: %w", a.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("complete attachment %s: %w", a.ID, ErrNotFound)
	}
	return nil
}

// DeleteAttachment removes an attachment's row and its PostgreSQL chunks.
func (s *Store) DeleteAttachment(ctx context.Context, id uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, qDeleteAttachment, id); err != nil {
		return fmt.Errorf("delete attachment %s: %w", id, err)
	}
	return nil
}

// CaseAttachments lists a case's stored attachments, oldest first, with who
// uploaded each for which agency.
func (s *Store) CaseAttachments(ctx context.Context, caseID uuid.UUID) ([]Attachment, error) {
	out := []Attachment{}
	if err := s.db.SelectContext(ctx, &out, qCaseAttachments, caseID); err != nil {
		return nil, fmt.Errorf("attachments of case %s: %w", caseID, err)
	}
	return out, nil
}

// CaseAttachment is one stored attachment of a case; ErrNotFound otherwise.
func (s *Store) CaseAttachment(ctx context.Context, caseID, id uuid.UUID) (*Attachment, error) {
	var a Attachment
	if err := s.db.GetContext(ctx, &a, qCaseAttachment, caseID, id); err != nil {
		return nil, fmt.Errorf("attachment %s: %w", id, notFound(err))
	}
	return &a, nil
}

// AttachmentsToPurge lists up to limit attachments whose chunks a backend
// still holds although they must go: destroyed ones, and uploads begun
// before staleBefore that never completed.
func (s *Store) AttachmentsToPurge(ctx context.Context, backend string, staleBefore time.Time, limit int) ([]Attachment, error) {
	out := []Attachment{}
	if err := s.db.SelectContext(ctx, &out, qAttachmentsToPurge, backend, staleBefore, limit); err != nil {
		return nil, fmt.Errorf("attachments to purge: %w", err)
	}
	return out, nil
}

// MarkPurged records that a destroyed attachment's chunks were deleted.
func (s *Store) MarkPurged(ctx context.Context, id uuid.UUID, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, qMarkPurged, id, at); err != nil {
		return fmt.Errorf("attachment %s: %w", id, err)
	}
	return nil
}

// PutChunk stores an encrypted chunk (the PostgreSQL backend).
func (s *Store) PutChunk(ctx context.Context, id uuid.UUID, n int, data []byte) error {
	if _, err := s.db.ExecContext(ctx, qPutChunk, id, n, data); err != nil {
		return fmt.Errorf("chunk %d of attachment %s: %w", n, id, err)
	}
	return nil
}

// GetChunk reads an encrypted chunk; ErrNotFound when it is not stored.
func (s *Store) GetChunk(ctx context.Context, id uuid.UUID, n int) ([]byte, error) {
	var data []byte
	if err := s.db.GetContext(ctx, &data, qGetChunk, id, n); err != nil {
		return nil, fmt.Errorf("chunk %d of attachment %s: %w", n, id, notFound(err))
	}
	return data, nil
}

// DeleteChunks deletes an attachment's chunks (the PostgreSQL backend).
func (s *Store) DeleteChunks(ctx context.Context, id uuid.UUID) error {
	if _, err := s.db.ExecContext(ctx, qDeleteChunks, id); err != nil {
		return fmt.Errorf("chunks of attachment %s: %w", id, err)
	}
	return nil
}
