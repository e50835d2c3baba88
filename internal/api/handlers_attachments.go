package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

// Attachments of a case (docs/api.md#attachments): POST a file as
// multipart/form-data — the parts file, kind and description — streamed
// into the cases service, which encrypts and stores it chunk by chunk; GET
// the list (metadata, the description and file name opened and audited);
// GET one to download it, audited, as an attachment the browser does not
// display or sniff.

type attachmentJSON struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	ContentType  string     `json:"content_type"`
	Size         int64      `json:"size"`
	Description  *string    `json:"description"`
	FileName     *string    `json:"file_name"`
	UploaderID   string     `json:"uploader_id"`
	UploaderName string     `json:"uploader_name"`
	AgencyID     string     `json:"agency_id"`
	AgencyName   string     `json:"agency_name"`
	UploadedAt   time.Time  `json:"uploaded_at"`
	DestroyedAt  *time.Time `json:"destroyed_at"`
}

func attachmentOf(v *cases.AttachmentView) attachmentJSON {
	out := attachmentJSON{ID: v.ID.String(), Kind: v.Kind, ContentType: v.ContentType, Size: v.Size,
		UploaderID: v.UploadedBy.String(), UploaderName: v.UploaderName, AgencyID: v.AgencyID.String(),
		AgencyName: v.AgencyName, UploadedAt: v.At.UTC(), DestroyedAt: utc(v.DestroyedAt)}
	if !v.Destroyed {
		out.Description, out.FileName = &v.Description, &v.FileName
	}
	return out
}

// multipartSlack is what a multipart body may carry besides the file: the
// boundaries, the parts' headers and the kind and description.
const multipartSlack = 64 << 10

// maxFieldPart bounds what is read of a text part (kind, description).
const maxFieldPart = 16 << 10

// uploadAttachment adds a file to a case. The caller's right to the case is
// checked before the body is read (404, 403, 409 identity_gone); the file
// is refused on its first bytes when of no accepted type (415), and as soon
// as it passes NRM_ATTACHMENT_MAX (413), deleting what was stored. An
// Idempotency-Key is claimed once the whole body was read, with a hash of
// the parts as fingerprint: a retry stores the file again, then discards it
// and answers the first response.
func (s *Server) uploadAttachment(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	ctx, p := c.UserContext(), signedInUser(c)
	body := c.Request().BodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	max := s.deps.Cases.AttachmentMaxSize()
	most := max + multipartSlack
	refuse := func(err error) error {
		drainBody(c, body, 2*most)
		return err
	}
	up, err := s.deps.Cases.BeginUpload(ctx, p, id)
	if err != nil {
		return refuse(err)
	}
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return refuse(newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the file as multipart/form-data"))
	}
	if n := int64(c.Request().Header.ContentLength()); n > most {
		return refuse(tooLargeFile(max))
	}
	// The fingerprint of an Idempotency-Key is what the parts say, in order
	// — not the raw body, whose boundary a client draws anew on a retry.
	sum := sha256.New()
	fmt.Fprintf(sum, "%s %s\n", c.Method(), c.Path())
	counted := &countingReader{r: body, max: most}
	fields, err := readUpload(ctx, up, multipart.NewReader(counted, params["boundary"]), counted, most, sum)
	if err != nil {
		up.Discard(ctx)
		switch {
		case errors.Is(err, cases.ErrFileTooLarge), errors.Is(err, errBodyTooLarge):
			return refuse(tooLargeFile(max))
		case errors.Is(err, cases.ErrFileType):
			return refuse(newProblem(http.StatusUnsupportedMediaType, ProblemFileType,
				"the file is not a PDF, JPEG, PNG, TIFF or HEIC document (told by its content, not its name)"))
		}
		return refuse(err)
	}
	if err := up.ValidateFields(fields); err != nil {
		up.Discard(ctx)
		return err
	}
	return s.onceAfterBody(c, sum.Sum(nil), up.Discard, func() error {
		view, err := up.Complete(ctx, fields)
		if err != nil {
			up.Discard(ctx)
			return err
		}
		c.Location("/api/v1/cases/" + id.String() + "/attachments/" + view.ID.String())
		return c.Status(fiber.StatusCreated).JSON(attachmentOf(view))
	})
}

func tooLargeFile(max int64) error {
	return newProblem(http.StatusRequestEntityTooLarge, ProblemTooLarge,
		fmt.Sprintf("the file is larger than allowed (%d bytes)", max))
}

var errBodyTooLarge = errors.New("multipart body over the limit")

// countingReader counts what a multipart body held and stops reading past
// max, to refuse a body far over the limit whatever its parts are (a huge
// description is skipped over by the multipart reader, not stored).
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n > r.max {
		return 0, errBodyTooLarge
	}
	n, err := r.r.Read(p)
	r.n += int64(n)
	return n, err
}

// readUpload reads the parts of an upload: the file, streamed into the
// upload as it arrives, and the text fields; each part's name, file name and
// content go into fingerprint. Unknown, repeated or missing parts are 422
// (validation).
func readUpload(ctx context.Context, up *cases.Upload, mr *multipart.Reader, counted *countingReader, most int64, fingerprint hash.Hash) (cases.AttachmentFields, error) {
	var f cases.AttachmentFields
	v := &cases.ValidationError{}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if counted.n > most {
			return f, errBodyTooLarge
		}
		if err != nil {
			return f, newProblem(http.StatusBadRequest, ProblemMalformed, "the multipart body could not be read")
		}
		name := part.FormName()
		if seen[name] {
			v.Errors = append(v.Errors, cases.FieldError{Field: name, Rule: "duplicate_key", Message: "is given twice"})
			part.Close()
			continue
		}
		seen[name] = true
		switch name {
		case "file":
			f.FileName = part.FileName()
			fmt.Fprintf(fingerprint, "%d:%s %d:%s\n", len(name), name, len(f.FileName), f.FileName)
			content := &countingReader{r: io.TeeReader(part, fingerprint), max: most}
			err := up.Store(ctx, content)
			fmt.Fprintf(fingerprint, "\n%d\n", content.n)
			if err != nil {
				if counted.n > most {
					return f, errBodyTooLarge
				}
				if errors.Is(err, cases.ErrFileRead) {
					return f, newProblem(http.StatusBadRequest, ProblemMalformed, "the multipart body could not be read")
				}
				return f, err
			}
		case "kind", "description":
			data, err := io.ReadAll(io.LimitReader(part, maxFieldPart+1))
			if counted.n > most {
				return f, errBodyTooLarge
			}
			if err != nil {
				return f, newProblem(http.StatusBadRequest, ProblemMalformed, "the multipart body could not be read")
			}
			text := string(data)
			if len(data) > maxFieldPart || !utf8.ValidString(text) {
				v.Errors = append(v.Errors, cases.FieldError{Field: name, Rule: "max", Message: "is too long or not UTF-8 text"})
				continue
			}
			if name == "kind" {
				f.Kind = text
			} else {
				f.Description = text
			}
			fmt.Fprintf(fingerprint, "%d:%s %d:%s\n", len(name), name, len(text), text)
		default:
			v.Errors = append(v.Errors, cases.FieldError{Field: name, Rule: "unknown_field", Message: "this field is not part of the request"})
			part.Close()
		}
		if counted.n > most {
			return f, errBodyTooLarge
		}
	}
	if !seen["file"] {
		v.Errors = append(v.Errors, cases.FieldError{Field: "file", Rule: "required", Message: "is required"})
	}
	if len(v.Errors) > 0 {
		return f, v
	}
	return f, nil
}

// onceAfterBody answers a POST whose body was read by the handler (a
// streamed upload) at most once per Idempotency-Key, as the idempotent
// middleware does for every other POST: run when the key is new (or absent),
// the stored answer when the same request came before (discard undoes what
// this request stored), 422 for another request under the key, 409 while
// the first still runs.
func (s *Server) onceAfterBody(c *fiber.Ctx, fingerprint []byte, discard func(context.Context), run func() error) error {
	key := c.Get("Idempotency-Key")
	if key == "" {
		return run()
	}
	ctx := c.UserContext()
	if !validIdempotencyKey(key) {
		discard(ctx)
		return newProblem(http.StatusUnprocessableEntity, ProblemValidation, "Idempotency-Key must be 1 to 128 visible ASCII characters")
	}
	p := signedInUser(c)
	req := store.IdempotentRequest{UserID: p.UserID, Key: key, Method: c.Method(), Path: c.Path(), BodyHash: fingerprint, CreatedAt: time.Now().UTC()}
	claimed, prior, err := s.deps.Store.ClaimIdempotencyKey(ctx, req)
	if err != nil {
		discard(ctx)
		return err
	}
	if !claimed {
		discard(ctx)
		switch {
		case !bytes.Equal(prior.BodyHash, req.BodyHash):
			return newProblem(http.StatusUnprocessableEntity, ProblemIdempotency, "this Idempotency-Key was used with another request")
		case prior.Status == nil:
			return newProblem(http.StatusConflict, ProblemIdempotency, "a request with this Idempotency-Key is still running")
		}
		c.Set("Idempotent-Replayed", "true")
		if prior.ContentType != nil {
			c.Set(fiber.HeaderContentType, *prior.ContentType)
		}
		if *prior.Status == fiber.StatusCreated {
			var a struct {
				ID string `json:"id"`
			}
			if jsonErr := json.Unmarshal(prior.Response, &a); jsonErr == nil && a.ID != "" {
				c.Location("/api/v1/cases/" + c.Params("id") + "/attachments/" + a.ID)
			}
		}
		return c.Status(*prior.Status).Send(prior.Response)
	}
	if err := run(); err != nil {
		if pr, known := toProblem(err); known && pr.Status < 500 {
			body, _ := jsonProblem(pr, requestID(c))
			s.deps.Store.CompleteIdempotencyKey(ctx, p.UserID, key, pr.Status, "application/problem+json", body)
		} else {
			s.deps.Store.ReleaseIdempotencyKey(ctx, p.UserID, key)
		}
		return err
	}
	return s.deps.Store.CompleteIdempotencyKey(ctx, p.UserID, key, c.Response().StatusCode(),
		string(c.Response().Header.ContentType()), c.Response().Body())
}

// listAttachments answers a case's attachments, oldest first; reading their
// descriptions and file names is audited.
func (s *Server) listAttachments(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	list, err := s.deps.Cases.CaseAttachments(c.UserContext(), signedInUser(c), id, requestInfo(c))
	if err != nil {
		return err
	}
	out := make([]attachmentJSON, 0, len(list))
	for i := range list {
		out = append(out, attachmentOf(&list[i]))
	}
	return c.JSON(fiber.Map{"attachments": out})
}

// downloadAttachment answers a file as it was uploaded, streamed as it is
// decrypted; 410 once it was destroyed with the person's identity. It is
// sent as a download (Content-Disposition: attachment) under a name made of
// its kind — never the uploaded name, which may name the person — and with
// nosniff, so no browser renders or guesses it.
func (s *Server) downloadAttachment(c *fiber.Ctx) error {
	caseID, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return cases.ErrNotFound
	}
	id, err := uuid.Parse(c.Params("attachment_id"))
	if err != nil {
		return cases.ErrNotFound
	}
	f, err := s.deps.Cases.OpenAttachment(c.UserContext(), signedInUser(c), caseID, id, requestInfo(c))
	if err != nil {
		return err
	}
	setDownloadHeaders(c, f)
	if c.Method() == fiber.MethodHead {
		f.Content.Close()
		c.Response().Header.SetContentLength(int(f.Size))
		return c.SendStatus(fiber.StatusOK)
	}
	return c.SendStream(f.Content, int(f.Size))
}

// setDownloadHeaders are the headers of a file answered for download.
func setDownloadHeaders(c *fiber.Ctx, f *cases.AttachmentFile) {
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+f.Kind+"-"+f.ID.String()[:8]+"."+f.Ext+`"`)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
}
