package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/attachments"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

// The case page's attachments (docs/web.md): the case's files listed with
// their kind, description, name, size and who added them (the read
// audited, as the API's), each downloadable; and a form that adds one.
// Only the roles that see identities see the section, as the API answers.
//
// The upload form (POST /cases/{id}/attachments) is multipart: its body is
// streamed (api/bodylimit.go), never parsed by fasthttp, so the page reads
// its parts itself in order — the CSRF token, the form key, the kind and
// the description first, the file last (the form is laid out so) — checks
// the session and CSRF token before a byte of the file is read, and hands
// the file to the cases service, which encrypts and stores it as it
// arrives. The command then completes through Gate.PageOnce under the
// form's key, with the file's content in the fingerprint: a double
// click stores the file once (the second copy is discarded).

// attachmentsSection is the case page's attachments and upload form.
type attachmentsSection struct {
	CaseID, Number string
	Rows           []attachmentRow
	CanUpload      bool
	Kinds          []option
	// What the form says (kept on an error), its key and errors.
	Kind, Description, Key string
	Errors                 formErrors
	MaxMB                  int64
	Accept                 string
}

// attachmentRow is one file of the list.
type attachmentRow struct {
	Kind, Description, FileName, Type string
	SizeMsg                           string
	SizeN                             string
	Uploader, Agency                  string
	At                                time.Time
	Destroyed                         bool
	Href                              string
}

// attachmentKindMsgs label the default kinds (sop.DefaultAttachmentKinds);
// a kind of another SOP's own list shows its code.
var attachmentKindMsgs = map[string]string{
	"identity_document": "attachments.kind.identity_document",
	"medical_report":    "attachments.kind.medical_report",
	"decision_letter":   "attachments.kind.decision_letter",
	"other":             "attachments.kind.other",
}

func (p *Pages) mountAttachments(r fiber.Router) {
	r.Post("/cases/:id/attachments", p.uploadAttachment)
	r.Get("/cases/:id/attachments/:attachment_id", p.signedIn(p.downloadAttachment))
}

func (p *Pages) kindLabel(lang, kind string) string {
	if id, ok := attachmentKindMsgs[kind]; ok {
		return p.msgs.translator(lang).T(id)
	}
	return kind
}

// acceptTypes is the file input's accept attribute: the accepted types and
// their usual extensions (a hint to the browser's picker; the server tells
// the type by the content).
func acceptTypes() string {
	var out []string
	for _, t := range attachments.Types {
		out = append(out, t.ContentType, "."+t.Ext)
	}
	return strings.Join(append(out, ".jpeg", ".tiff"), ",")
}

// newAttachmentsSection is the section of a case for the user, with an
// empty form.
func (p *Pages) newAttachmentsSection(k *store.Case, lang string) *attachmentsSection {
	a := &attachmentsSection{CaseID: k.ID.String(), Number: k.Number, CanUpload: true, Key: newFormKey(),
		MaxMB: (p.Cases.AttachmentMaxSize() + (1<<20 - 1)) >> 20, Accept: acceptTypes()}
	for _, kind := range p.Cases.AttachmentKinds(k) {
		a.Kinds = append(a.Kinds, option{Value: kind, Label: p.kindLabel(lang, kind)})
	}
	return a
}

// caseAttachments fills the case page's section: the list (audited by the
// service) and the form.
func (p *Pages) caseAttachments(c *fiber.Ctx, user auth.Principal, k *store.Case, ri cases.RequestInfo, lang string, zone *time.Location) (*attachmentsSection, error) {
	list, err := p.Cases.CaseAttachments(c.UserContext(), user, k.ID, ri)
	if err != nil {
		return nil, err
	}
	a := p.newAttachmentsSection(k, lang)
	for _, v := range list {
		row := attachmentRow{Kind: p.kindLabel(lang, v.Kind), Description: v.Description, FileName: v.FileName,
			Type: strings.ToUpper(v.Ext), Uploader: v.UploaderName, Agency: v.AgencyName, At: v.At.In(zone), Destroyed: v.Destroyed,
			Href: "/cases/" + k.ID.String() + "/attachments/" + v.ID.String()}
		row.SizeMsg, row.SizeN = fileSize(v.Size)
		a.Rows = append(a.Rows, row)
	}
	return a, nil
}

// fileSize words a size: kilobytes under a megabyte, else megabytes with one
// decimal.
func fileSize(n int64) (msg, value string) {
	if n < 1<<20 {
		return "attachments.size.kb", fmt.Sprint((n + 1023) / 1024)
	}
	return "attachments.size.mb", fmt.Sprintf("%.1f", float64(n)/(1<<20))
}

// uploadFields are the form's text parts, read before the file.
type uploadFields struct {
	csrf, key string
	fields    cases.AttachmentFields
}

// maxPagePart bounds what is read of a text part of the form.
const maxPagePart = 16 << 10

// uploadAttachment receives the upload form.
func (p *Pages) uploadAttachment(c *fiber.Ctx) error {
	lang := p.language(c)
	body := c.Request().BodyStream()
	if body == nil {
		body = bytes.NewReader(c.Body())
	}
	most := p.Cases.AttachmentMaxSize() + 64<<10
	drain := func() {
		if n, err := io.Copy(io.Discard, io.LimitReader(body, 2*most+1)); err != nil || n > 2*most {
			c.Response().SetConnectionClose()
		}
	}
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		drain()
		return p.errorPage(c, cases.ErrNotFound)
	}
	mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mediaType != fiber.MIMEMultipartForm || params["boundary"] == "" {
		drain()
		return p.errorPage(c, cases.ErrFileRead)
	}
	// A body far over the limit ends early: the multipart reader then
	// fails, which is refused (the file's own limit is the service's).
	mr := multipart.NewReader(io.LimitReader(body, 2*most), params["boundary"])
	var in uploadFields
	var filePart *multipart.Part
	for filePart == nil {
		part, err := mr.NextPart()
		if err != nil { // the form always ends with its file
			drain()
			return p.errorPage(c, cases.ErrFileRead)
		}
		if part.FormName() == "file" {
			filePart = part
			break
		}
		data, err := io.ReadAll(io.LimitReader(part, maxPagePart+1))
		if err != nil || len(data) > maxPagePart || !utf8.Valid(data) {
			drain()
			return p.errorPage(c, cases.ErrFileRead)
		}
		switch part.FormName() {
		case "csrf":
			in.csrf = string(data)
		case "key":
			in.key = string(data)
		case "kind":
			in.fields.Kind = string(data)
		case "description":
			in.fields.Description = strings.TrimSpace(clean(string(data)))
		}
	}
	in.fields.FileName = filePart.FileName()
	// The session and the form's CSRF token are checked before the file is read.
	user, csrf, err := p.gate.PageSession(c, in.csrf)
	if errors.Is(err, auth.ErrNoSession) {
		drain()
		return c.Redirect("/login?next="+"/cases/"+id.String(), fiber.StatusSeeOther)
	}
	if err != nil {
		drain()
		return p.errorPage(c, err)
	}
	keepUser(c, user)
	lang = p.language(c)
	pg := page{Lang: lang, User: &user, CSRF: csrf}
	ctx := c.UserContext()
	up, err := p.Cases.BeginUpload(ctx, user, id)
	if err != nil {
		drain()
		return p.errorPage(c, err)
	}
	form := p.newAttachmentsSection(up.Case(), lang)
	form.Kind, form.Description, form.Key = in.fields.Kind, in.fields.Description, in.key
	showForm := func(status int, errs formErrors) error {
		up.Discard(ctx)
		drain()
		form.Errors = errs
		pg.Title, pg.Data = "attachments.add", form
		return p.render(c, status, "attachment", pg)
	}
	// The form's fingerprint is what it says and the file's content, not
	// the raw body: a browser draws a new boundary for every send.
	sum := sha256.New()
	if err := up.Store(ctx, io.TeeReader(filePart, sum)); err != nil {
		switch {
		case errors.Is(err, cases.ErrFileType):
			return showForm(http.StatusUnsupportedMediaType, formErrors{{Field: "file", Msg: "attachments.error.type"}})
		case errors.Is(err, cases.ErrFileTooLarge):
			return showForm(http.StatusRequestEntityTooLarge, formErrors{{Field: "file", Msg: "attachments.error.large", Args: map[string]any{"Max": form.MaxMB}}})
		}
		up.Discard(ctx)
		drain()
		return p.errorPage(c, err)
	}
	if err := up.ValidateFields(in.fields); err != nil {
		var errs formErrors
		var ve *cases.ValidationError
		if errors.As(err, &ve) {
			for _, e := range ve.Errors {
				msg := map[string]string{"kind": "attachments.error.kind", "description": "attachments.error.description", "file": "attachments.error.name"}[e.Field]
				if msg == "" {
					msg = "action.invalid"
				}
				errs = append(errs, fieldError{Field: e.Field, Msg: msg, Args: map[string]any{"Max": cases.MaxAttachmentDescription}})
			}
		}
		return showForm(http.StatusUnprocessableEntity, errs)
	}
	drain() // nothing follows the file but the closing boundary
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d:%s\n%d:%s\n%d:%s\n", c.Path(), len(in.fields.Kind), in.fields.Kind,
		len(in.fields.Description), in.fields.Description, len(in.fields.FileName), in.fields.FileName)
	h.Write(sum.Sum(nil))
	ran := false
	location, err := p.gate.PageOnce(c, in.key, h.Sum(nil), func() (uuid.UUID, string, error) {
		ran = true
		if _, err := up.Complete(ctx, in.fields); err != nil {
			return uuid.Nil, "", err
		}
		return id, "/cases/" + id.String() + "?done=attachment#attachments", nil
	})
	if !ran || err != nil {
		up.Discard(context.WithoutCancel(ctx)) // a repeated send, or a refusal: this copy goes
	}
	if err != nil {
		if msg, ok := p.refusal(err, lang); ok {
			form.Errors = formErrors{{Field: "file", Msg: "action.refused", Args: map[string]any{"Reason": msg}}}
			pg.Title, pg.Data = "attachments.add", form
			return p.render(c, http.StatusConflict, "attachment", pg)
		}
		if st, _, _ := p.Problem(err); st == http.StatusConflict || st == http.StatusUnprocessableEntity {
			form.Errors, form.Key = formErrors{{Field: "file", Msg: "authority.error.resent"}}, newFormKey()
			pg.Title, pg.Data = "attachments.add", form
			return p.render(c, http.StatusConflict, "attachment", pg)
		}
		return p.errorPage(c, err)
	}
	return c.Redirect(location, fiber.StatusSeeOther)
}

// downloadAttachment sends a file as the API does: a download under a name
// made of its kind, never displayed or sniffed by the browser; the read is
// audited by the service. A destroyed file is the 410 page.
func (p *Pages) downloadAttachment(c *fiber.Ctx, pg page) error {
	caseID, err1 := uuid.Parse(c.Params("id"))
	id, err2 := uuid.Parse(c.Params("attachment_id"))
	if err1 != nil || err2 != nil {
		return p.errorPage(c, cases.ErrNotFound)
	}
	f, err := p.Cases.OpenAttachment(c.UserContext(), *pg.User, caseID, id, cases.RequestInfo{RequestID: p.gate.RequestID(c)})
	if errors.Is(err, cases.ErrAttachmentGone) {
		return p.render(c, http.StatusGone, "error", page{Lang: pg.Lang, User: pg.User, CSRF: pg.CSRF, Title: "error.title", Data: "attachments.gone"})
	}
	if err != nil {
		return p.errorPage(c, err)
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+f.Kind+"-"+f.ID.String()[:8]+"."+f.Ext+`"`)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
	if c.Method() == fiber.MethodHead {
		f.Content.Close()
		return nil
	}
	return c.SendStream(f.Content, int(f.Size))
}
