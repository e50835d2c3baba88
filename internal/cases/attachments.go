package cases

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/attachments"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
)

// Attachments: files of a case — a scanned passport, a medical report, a
// decision letter (docs/api.md#attachments). They are the person's data as
// much as the identity is, so they are read and added by the roles that see
// identities, on the cases they may see; every read is audited.
//
// A file is streamed, never held whole in memory: read in chunks of
// attachments.ChunkSize, each encrypted under the case's data key
// (identity.FileCipher) and handed to the backend at once. Its type is told
// from its first bytes (attachments.Sniff) before anything is stored; a
// file over the size limit is deleted again as soon as it passes it. The
// upload is a row of its own until it completes (Upload.Complete), so that
// one cut off half-way is found and deleted by PurgeAttachments. Destroying
// the case's data key destroys its attachments in the same transaction
// (migration 0023): they cannot be decrypted any more, the chunks kept in
// PostgreSQL are deleted at once, those in an object store by
// PurgeAttachments.

// ChunkSize is the plaintext size of an attachment's chunks: what one
// upload or download holds in memory at a time (twice, with its ciphertext).
const ChunkSize = 1 << 20

// DefaultAttachmentMax is the largest file accepted when no limit is
// configured (NRM_ATTACHMENT_MAX): 20 MiB.
const DefaultAttachmentMax = 20 << 20

// Bounds of an attachment's text, in characters.
const (
	MaxAttachmentDescription = 2000
	MaxAttachmentFileName    = 255
)

// staleUpload is how long an upload may take before PurgeAttachments takes
// it for cut off: well beyond the server's read timeout of an upload.
const staleUpload = time.Hour

// Errors of attachments the API maps to problems.
var (
	// ErrFileTooLarge: the file is over the size limit (413).
	ErrFileTooLarge = errors.New("the file is larger than allowed")
	// ErrFileType: the file's content is not of an accepted type (415).
	ErrFileType = errors.New("the file is not a PDF, JPEG, PNG, TIFF or HEIC document")
	// ErrFileRead: the file's content could not be read from the request
	// (a cut-off or malformed body) (400).
	ErrFileRead = errors.New("the file could not be read")
	// ErrAttachmentGone: the attachment was destroyed with the person's
	// identity (erasure, retention, declined consent) (410).
	ErrAttachmentGone = errors.New("the attachment was destroyed with the person's identity")
)

// AttachmentFields are what comes with a file: its kind (a code of the
// case's SOP, attachment_kinds), a description and the file's name (both
// sealed, optional).
type AttachmentFields struct {
	Kind        string
	Description string
	FileName    string
}

// AttachmentView is an attachment as its readers see it. Description and
// FileName are empty and Destroyed set once the identity was destroyed.
type AttachmentView struct {
	ID                     uuid.UUID
	Kind, ContentType, Ext string
	Size                   int64
	Description, FileName  string
	UploadedBy             uuid.UUID
	UploaderName           string
	AgencyID               uuid.UUID
	AgencyName             string
	At                     time.Time
	Destroyed              bool
	DestroyedAt            *time.Time
}

func (s *Service) attachmentMax() int64 {
	if s.AttachmentMax > 0 {
		return s.AttachmentMax
	}
	return DefaultAttachmentMax
}

// AttachmentMaxSize is the largest file accepted, in bytes.
func (s *Service) AttachmentMaxSize() int64 { return s.attachmentMax() }

// AttachmentKinds are the kinds a file of the case may be: its SOP's list.
func (s *Service) AttachmentKinds(c *store.Case) []string {
	if procedure := s.procedureOf(c); procedure != nil && len(procedure.AttachmentKinds) > 0 {
		return procedure.AttachmentKinds
	}
	return sop.DefaultAttachmentKinds
}

// attachmentCase is a case the caller may read the attachments of.
func (s *Service) attachmentCase(ctx context.Context, p auth.Principal, caseID uuid.UUID) (*store.Case, error) {
	if !auth.SeesIdentity(p) {
		return nil, ErrForbidden
	}
	c, err := s.Store.Case(ctx, auth.CaseScope(p), caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return c, err
}

// Upload is one file being added to a case: BeginUpload, then Store with
// the file's content, then Complete (or Discard on any failure).
type Upload struct {
	s      *Service
	p      auth.Principal
	c      *store.Case
	cipher *identity.FileCipher
	id     uuid.UUID
	store  attachments.Store
	typ    attachments.Type
	size   int64
	chunks int
	begun  bool
}

// BeginUpload checks that the caller may add a file to the case and that the
// case keeps personal data (409 identity_gone otherwise); nothing is written.
func (s *Service) BeginUpload(ctx context.Context, p auth.Principal, caseID uuid.UUID) (*Upload, error) {
	c, err := s.attachmentCase(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	if s.Attachments == nil {
		return nil, errors.New("attachments: no store configured")
	}
	cipher, err := s.Vault.FileCipher(ctx, caseID)
	if errors.Is(err, identity.ErrGone) {
		return nil, &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; no file can be added"}
	}
	if err != nil {
		return nil, err
	}
	return &Upload{s: s, p: p, c: c, cipher: cipher, id: uuid.New(), store: s.Attachments.New}, nil
}

// Case is the case the upload adds to.
func (u *Upload) Case() *store.Case { return u.c }

// Store reads the file to its end, encrypting and storing it chunk by
// chunk. ErrFileType when its first bytes are of no accepted type (nothing
// stored), ErrFileTooLarge when it passes the limit (what was stored is
// deleted again). It may be called once.
func (u *Upload) Store(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(attachments.SniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("%w: %v", ErrFileRead, err)
	}
	typ, ok := attachments.Sniff(head)
	if !ok {
		return ErrFileType
	}
	u.typ = typ
	row := store.Attachment{ID: u.id, CaseID: u.c.ID, Backend: u.store.Backend(), ChunkSize: ChunkSize,
		UploadedBy: u.p.UserID, AgencyID: u.p.AgencyID, CreatedAt: u.s.now().UTC()}
	if err := u.s.Store.BeginAttachment(ctx, row); err != nil {
		return err
	}
	u.begun = true
	limit := u.s.attachmentMax()
	buf := make([]byte, ChunkSize)
	for n := 0; ; n++ {
		k, err := readChunk(br, buf)
		if err != nil {
			return err
		}
		u.size += int64(k)
		if u.size > limit {
			return ErrFileTooLarge
		}
		// The chunk is the last when the reader has nothing more.
		final := k < len(buf)
		if !final {
			if _, perr := br.Peek(1); errors.Is(perr, io.EOF) {
				final = true
			} else if perr != nil {
				return fmt.Errorf("%w: %v", ErrFileRead, perr)
			}
		}
		if k == 0 && n > 0 {
			return fmt.Errorf("read file for case %s: empty chunk", u.c.ID)
		}
		sealed, err := u.cipher.SealChunk(u.id, uint32(n), final, buf[:k])
		if err != nil {
			return err
		}
		if err := u.s.Store.CountChunks(ctx, u.id, n+1); err != nil {
			return err
		}
		if err := u.store.Put(ctx, u.id, n, sealed); err != nil {
			return err
		}
		u.chunks = n + 1
		if final {
			return nil
		}
	}
}

// readChunk fills buf from r, short only at the end of the file. Unlike
// io.ReadFull it tells the end (io.EOF) from a body cut off
// (io.ErrUnexpectedEOF from the multipart reader), which is ErrFileRead.
func readChunk(r io.Reader, buf []byte) (int, error) {
	k := 0
	for k < len(buf) {
		n, err := r.Read(buf[k:])
		k += n
		if errors.Is(err, io.EOF) {
			return k, nil
		}
		if err != nil {
			return k, fmt.Errorf("%w: %v", ErrFileRead, err)
		}
	}
	return k, nil
}

// ValidateFields checks what comes with a file against the case's SOP.
func (u *Upload) ValidateFields(f AttachmentFields) error {
	v := &ValidationError{}
	kinds := u.s.AttachmentKinds(u.c)
	switch {
	case f.Kind == "":
		v.add("kind", "required", "is required")
	case !slices.Contains(kinds, f.Kind):
		v.add("kind", "oneof", "must be one of: "+strings.Join(kinds, ", "))
	}
	if n := utf8.RuneCountInString(f.Description); n > MaxAttachmentDescription || !utf8.ValidString(f.Description) {
		v.add("description", "max", fmt.Sprintf("is at most %d characters", MaxAttachmentDescription))
	}
	if n := utf8.RuneCountInString(f.FileName); n > MaxAttachmentFileName || !utf8.ValidString(f.FileName) {
		v.add("file", "max", fmt.Sprintf("the file's name is at most %d characters", MaxAttachmentFileName))
	}
	return v.orNil()
}

// Complete records the stored file as an attachment of the case, with its
// fields sealed. The caller discards the upload when it fails.
func (u *Upload) Complete(ctx context.Context, f AttachmentFields) (*AttachmentView, error) {
	if !u.begun || u.chunks == 0 {
		return nil, errors.New("attachment: complete before the file was stored")
	}
	if err := u.ValidateFields(f); err != nil {
		return nil, err
	}
	desc, err := u.cipher.SealText(u.id, identity.AttachmentDescription, f.Description)
	if err != nil {
		return nil, err
	}
	name, err := u.cipher.SealText(u.id, identity.AttachmentFileName, f.FileName)
	if err != nil {
		return nil, err
	}
	at := u.s.now().UTC()
	err = u.s.Store.CompleteAttachment(ctx, store.StoredAttachment{ID: u.id, Kind: f.Kind, ContentType: u.typ.ContentType,
		Size: u.size, Chunks: u.chunks, Description: desc, FileName: name, At: at})
	if errors.Is(err, store.ErrNotFound) { // the identity was destroyed meanwhile
		return nil, &RuleError{Rule: "identity_gone", Detail: "this case keeps no personal data; no file can be added"}
	}
	if err != nil {
		return nil, err
	}
	return &AttachmentView{ID: u.id, Kind: f.Kind, ContentType: u.typ.ContentType, Ext: u.typ.Ext, Size: u.size,
		Description: f.Description, FileName: f.FileName, UploadedBy: u.p.UserID, AgencyID: u.p.AgencyID, At: at}, nil
}

// ID is the attachment's ID.
func (u *Upload) ID() uuid.UUID { return u.id }

// Discard deletes whatever the upload stored: it leaves nothing behind.
func (u *Upload) Discard(ctx context.Context) {
	if !u.begun {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := u.store.Delete(ctx, u.id, u.chunks+1); err != nil {
		u.s.logWarn("discard attachment: chunks left for the housekeeping", "attachment_id", u.id, "error", err)
		return // the row stays 'uploading': PurgeAttachments deletes both later
	}
	if err := u.s.Store.DeleteAttachment(ctx, u.id); err != nil {
		u.s.logWarn("discard attachment: row left for the housekeeping", "attachment_id", u.id, "error", err)
	}
}

func (s *Service) logWarn(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, args...)
	}
}

// CaseAttachments lists a case's attachments with their description and file
// name opened; reading those is audited when there are any.
func (s *Service) CaseAttachments(ctx context.Context, p auth.Principal, caseID uuid.UUID, ri RequestInfo) ([]AttachmentView, error) {
	if _, err := s.attachmentCase(ctx, p, caseID); err != nil {
		return nil, err
	}
	rows, err := s.Store.CaseAttachments(ctx, caseID)
	if err != nil {
		return nil, err
	}
	out := make([]AttachmentView, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	cipher, err := s.Vault.FileCipher(ctx, caseID)
	if err != nil && !errors.Is(err, identity.ErrGone) {
		return nil, err
	}
	if cipher != nil {
		entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
			Action: "case.attachments.read", CaseID: &caseID, Fields: store.Strings{"description", "file_name"},
			RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
		if err := s.Store.Audit(ctx, entry); err != nil {
			return nil, fmt.Errorf("attachments of case %s: %w", caseID, err)
		}
	}
	for _, a := range rows {
		v := attachmentView(&a)
		if cipher != nil && !v.Destroyed {
			if v.Description, err = cipher.OpenText(a.ID, identity.AttachmentDescription, a.Description); err != nil {
				return nil, err
			}
			if v.FileName, err = cipher.OpenText(a.ID, identity.AttachmentFileName, a.FileName); err != nil {
				return nil, err
			}
		} else {
			v.Destroyed = true
		}
		out = append(out, v)
	}
	return out, nil
}

func attachmentView(a *store.Attachment) AttachmentView {
	v := AttachmentView{ID: a.ID, Size: a.Size, UploadedBy: a.UploadedBy, UploaderName: a.UploaderName,
		AgencyID: a.AgencyID, AgencyName: a.AgencyName, At: a.CreatedAt, DestroyedAt: a.DestroyedAt, Destroyed: a.DestroyedAt != nil}
	if a.StoredAt != nil {
		v.At = *a.StoredAt
	}
	if a.Kind != nil {
		v.Kind = *a.Kind
	}
	if a.ContentType != nil {
		v.ContentType = *a.ContentType
		for _, t := range attachments.Types {
			if t.ContentType == v.ContentType {
				v.Ext = t.Ext
			}
		}
	}
	return v
}

// AttachmentFile is an attachment being read: Content yields the file's
// bytes as they were uploaded, chunk by chunk; close it when done.
type AttachmentFile struct {
	AttachmentView
	Content io.ReadCloser
}

// OpenAttachment opens an attachment's content for the caller. The read is
// audited before the first byte is decrypted; ErrAttachmentGone once the
// identity was destroyed. The content is read with its own context: it is
// sent after the handler returns.
func (s *Service) OpenAttachment(ctx context.Context, p auth.Principal, caseID, id uuid.UUID, ri RequestInfo) (*AttachmentFile, error) {
	if _, err := s.attachmentCase(ctx, p, caseID); err != nil {
		return nil, err
	}
	a, err := s.Store.CaseAttachment(ctx, caseID, id)
	if err != nil {
		return nil, err // store.ErrNotFound: 404
	}
	if a.DestroyedAt != nil {
		return nil, ErrAttachmentGone
	}
	cipher, err := s.Vault.FileCipher(ctx, caseID)
	if errors.Is(err, identity.ErrGone) {
		return nil, ErrAttachmentGone
	}
	if err != nil {
		return nil, err
	}
	if s.Attachments == nil {
		return nil, errors.New("attachments: no store configured")
	}
	backend, err := s.Attachments.For(a.Backend)
	if err != nil {
		return nil, err
	}
	entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
		Action: "case.attachment.read", CaseID: &caseID, Fields: store.Strings{"file", "attachment:" + id.String()},
		RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
	if err := s.Store.Audit(ctx, entry); err != nil {
		return nil, fmt.Errorf("attachment %s: %w", id, err)
	}
	// The content outlives the request's handler: its reads have a context
	// of their own, bounded in time.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
	r := &chunkReader{ctx: rctx, cancel: cancel, cipher: cipher, store: backend, a: a}
	// The first chunk is read now, so that a missing or damaged file is an
	// error answered before the download starts.
	if err := r.next(); err != nil {
		cancel()
		return nil, err
	}
	return &AttachmentFile{AttachmentView: attachmentView(a), Content: r}, nil
}

// chunkReader decrypts an attachment's chunks in order, one at a time.
type chunkReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	cipher *identity.FileCipher
	store  attachments.Store
	a      *store.Attachment
	n      int   // the next chunk to fetch
	read   int64 // bytes decrypted so far
	buf    []byte
}

func (r *chunkReader) next() error {
	sealed, err := r.store.Get(r.ctx, r.a.ID, r.n)
	if err != nil {
		return err
	}
	plain, err := r.cipher.OpenChunk(r.a.ID, uint32(r.n), r.n == r.a.Chunks-1, sealed)
	if err != nil {
		return err
	}
	r.n++
	r.read += int64(len(plain))
	if r.read > r.a.Size || (r.n == r.a.Chunks && r.read != r.a.Size) {
		return fmt.Errorf("attachment %s: content does not match its recorded size", r.a.ID)
	}
	r.buf = plain
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.n >= r.a.Chunks {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	k := copy(p, r.buf)
	r.buf = r.buf[k:]
	return k, nil
}

func (r *chunkReader) Close() error {
	r.cancel()
	return nil
}

// PurgeAttachments deletes from every backend what must go: the chunks of
// attachments destroyed with their case's identity (those kept in
// PostgreSQL went already, with the key), and uploads cut off half-way. It
// answers how many attachments it purged; the housekeeping calls it.
func (s *Service) PurgeAttachments(ctx context.Context) (int, error) {
	if s.Attachments == nil {
		return 0, nil
	}
	now := s.now().UTC()
	purged := 0
	var errs []error
	for _, backend := range s.Attachments.All() {
		rows, err := s.Store.AttachmentsToPurge(ctx, backend.Backend(), now.Add(-staleUpload), 200)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range rows {
			if err := backend.Delete(ctx, a.ID, a.Chunks); err != nil {
				errs = append(errs, err)
				continue
			}
			if a.DestroyedAt != nil {
				err = s.Store.MarkPurged(ctx, a.ID, now)
			} else { // an upload cut off: nothing of it was ever listed
				err = s.Store.DeleteAttachment(ctx, a.ID)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			purged++
		}
	}
	return purged, errors.Join(errs...)
}
