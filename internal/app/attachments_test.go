package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/attachments/s3fake"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// uploadPart is one part of a multipart upload, in the order sent.
type uploadPart struct {
	name, fileName, contentType string
	data                        []byte
}

// multipartBody builds a multipart/form-data body and its Content-Type.
func multipartBody(t *testing.T, parts ...uploadPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := fmt.Sprintf(`form-data; name="%s"`, p.name)
		if p.fileName != "" {
			disp += fmt.Sprintf(`; filename="%s"`, p.fileName)
		}
		h.Set("Content-Disposition", disp)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		testenv.Must(t, err)
		_, err = pw.Write(p.data)
		testenv.Must(t, err)
	}
	testenv.Must(t, w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// upload sends a file with its kind and description; extra headers may add
// an Idempotency-Key.
func upload(t *testing.T, c *testenv.Client, caseID string, parts []uploadPart, extra http.Header) (*http.Response, []byte) {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	h := http.Header{"Content-Type": {ct}}
	for k, v := range extra {
		h[k] = v
	}
	resp := c.Raw(t, "POST", "/api/v1/cases/"+caseID+"/attachments", body, h)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, data
}

// pdfWithMarker is a PDF-looking file of about size bytes, holding marker
// many times between random bytes, so that it spans several chunks.
func pdfWithMarker(t *testing.T, marker string, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	noise := make([]byte, 4096)
	for b.Len() < size {
		_, err := rand.Read(noise)
		testenv.Must(t, err)
		b.Write(noise)
		b.WriteString("\n" + marker + "\n")
	}
	return b.Bytes()
}

type attachmentBody struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	Description *string    `json:"description"`
	FileName    *string    `json:"file_name"`
	AgencyName  string     `json:"agency_name"`
	DestroyedAt *time.Time `json:"destroyed_at"`
}

func countRows(t *testing.T, sys *app.System, query string, args ...any) int {
	t.Helper()
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, query, args...))
	return n
}

// download reads an attachment and answers the response with its body.
func download(t *testing.T, c *testenv.Client, caseID, id string) (*http.Response, []byte) {
	t.Helper()
	resp := c.Raw(t, "GET", "/api/v1/cases/"+caseID+"/attachments/"+id, nil, nil)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, data
}

// A file with a unique marker, attached to a case: the permitted user lists
// it and downloads exactly its bytes, as a download the browser does not
// sniff, each read audited; neither a pg_dump of the database nor any
// Temporal history holds the marker (nor the description's or the file
// name's); a disguised executable, a file over the limit (declared or
// streamed), an unknown kind or another agency change nothing; an upload
// retried under one Idempotency-Key is one file; after the competent
// authority's erasure the file is 410 and its chunks are gone.
func TestAttachmentsStayEncrypted(t *testing.T) {
	t.Parallel()
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatalf("pg_dump is needed (Debian package postgresql-client): %v", err)
	}
	db := testenv.Database(t)
	cfg := testenv.Config(t, db, t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	officer := anon.Login(t, "officer@lebap-police.example")
	decider := anon.Login(t, "decider@authority.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)

	mark := "FILEMARK" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	content := pdfWithMarker(t, mark+"content", 3<<20+12345) // four chunks
	parts := []uploadPart{
		{name: "kind", data: []byte("identity_document")},
		{name: "description", data: []byte("Passport scan " + mark + "description")},
		{name: "file", fileName: "passport-" + mark + "name.pdf", contentType: "application/pdf", data: content},
	}
	resp, data := upload(t, officer, opened.ID, parts, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, data)
	}
	var created attachmentBody
	decodeJSONBytes(t, data, &created)
	if created.Kind != "identity_document" || created.ContentType != "application/pdf" || created.Size != int64(len(content)) ||
		resp.Header.Get("Location") != "/api/v1/cases/"+opened.ID+"/attachments/"+created.ID {
		t.Fatalf("created %+v at %q", created, resp.Header.Get("Location"))
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachment_chunks WHERE attachment_id = $1`, created.ID); n != 4 {
		t.Errorf("%d chunks stored for a file of %d bytes, want 4 of 1 MiB at most", n, len(content))
	}

	// Listed with its sealed fields opened, for the case's readers; audited.
	var list struct {
		Attachments []attachmentBody `json:"attachments"`
	}
	mustStatus(t, "list", decider.Do(t, "GET", "/api/v1/cases/"+opened.ID+"/attachments", nil, &list), http.StatusOK)
	if len(list.Attachments) != 1 || list.Attachments[0].Description == nil || *list.Attachments[0].Description != "Passport scan "+mark+"description" ||
		list.Attachments[0].FileName == nil || *list.Attachments[0].FileName != "passport-"+mark+"name.pdf" || list.Attachments[0].DestroyedAt != nil {
		t.Fatalf("list %+v", list.Attachments)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'case.attachments.read'`, opened.ID); n != 1 {
		t.Errorf("%d audited list reads, want 1", n)
	}

	// The download is the exact bytes, as a download, audited.
	resp, got := download(t, officer, opened.ID, created.ID)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Fatalf("download: %d, %d bytes equal=%v", resp.StatusCode, len(got), bytes.Equal(got, content))
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || strings.Contains(cd, mark) {
		t.Errorf("Content-Disposition %q: want an attachment not named by the uploaded name", cd)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("download headers %v", resp.Header)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM audit_log WHERE case_id = $1 AND action = 'case.attachment.read' AND user_id = (SELECT id FROM users WHERE email = 'officer@lebap-police.example')`, opened.ID); n != 1 {
		t.Errorf("%d audited downloads, want 1", n)
	}

	// Who may not: another agency (404, as for a case that does not exist), a provider (403).
	mustStatus(t, "foreign list", dashoguz.Do(t, "GET", "/api/v1/cases/"+opened.ID+"/attachments", nil, nil), http.StatusNotFound)
	if resp, _ := download(t, dashoguz, opened.ID, created.ID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("foreign download: %d", resp.StatusCode)
	}
	if resp, _ := upload(t, dashoguz, opened.ID, parts, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("foreign upload: %d", resp.StatusCode)
	}
	mustStatus(t, "provider list", shelter.Do(t, "GET", "/api/v1/cases/"+opened.ID+"/attachments", nil, nil), http.StatusForbidden)
	if resp, _ := download(t, officer, opened.ID, uuid.NewString()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown attachment: %d", resp.StatusCode)
	}

	unchanged := func(what string) {
		t.Helper()
		if n := countRows(t, sys, `SELECT count(*) FROM attachments`); n != 1 {
			t.Errorf("%s: %d attachment rows, want the one file", what, n)
		}
		if n := countRows(t, sys, `SELECT count(*) FROM attachment_chunks`); n != 4 {
			t.Errorf("%s: %d chunks, want the one file's 4", what, n)
		}
	}
	// A Windows executable named and declared as a PDF: refused on its content.
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 4096)...)
	resp, data = upload(t, officer, opened.ID, []uploadPart{{name: "kind", data: []byte("other")},
		{name: "file", fileName: "report.pdf", contentType: "application/pdf", data: exe}}, nil)
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(data), "urn:nrm:problem:unsupported-file-type") {
		t.Errorf("disguised executable: %d %s", resp.StatusCode, data)
	}
	unchanged("disguised executable")
	// 30 MB declared: refused on the declared length.
	big := pdfWithMarker(t, "x", 30<<20)
	resp, data = upload(t, officer, opened.ID, []uploadPart{{name: "kind", data: []byte("other")},
		{name: "file", fileName: "big.pdf", contentType: "application/pdf", data: big}}, nil)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "urn:nrm:problem:too-large") {
		t.Errorf("30 MB: %d %s", resp.StatusCode, data)
	}
	unchanged("30 MB declared")
	// 21 MB of unknown length (chunked): refused while it streams, what was stored deleted again.
	body, ct := multipartBody(t, uploadPart{name: "kind", data: []byte("other")},
		uploadPart{name: "file", fileName: "big.pdf", contentType: "application/pdf", data: big[:21<<20]})
	req, err := http.NewRequest("POST", officer.Base+"/api/v1/cases/"+opened.ID+"/attachments", io.MultiReader(bytes.NewReader(body)))
	testenv.Must(t, err)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+officer.Token)
	chunked, err := officer.HTTP.Do(req)
	testenv.Must(t, err)
	io.Copy(io.Discard, chunked.Body)
	chunked.Body.Close()
	if chunked.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("21 MB streamed: %d", chunked.StatusCode)
	}
	unchanged("21 MB streamed")
	// An unknown kind, a missing file, an unknown part: 422.
	for name, ps := range map[string][]uploadPart{
		"unknown kind": {{name: "kind", data: []byte("selfie")}, {name: "file", fileName: "a.pdf", data: content[:5000]}},
		"no file":      {{name: "kind", data: []byte("other")}},
		"unknown part": {{name: "kind", data: []byte("other")}, {name: "owner", data: []byte("x")}, {name: "file", fileName: "a.pdf", data: content[:5000]}},
	} {
		if resp, data := upload(t, officer, opened.ID, ps, nil); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", name, resp.StatusCode, data)
		}
	}
	unchanged("invalid fields")
	if resp := officer.Raw(t, "POST", "/api/v1/cases/"+opened.ID+"/attachments", []byte(`{"kind":"other"}`), nil); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d", resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	// Sent twice under one Idempotency-Key: one file, the same answer.
	key := http.Header{"Idempotency-Key": {"upload-" + uuid.NewString()}}
	small := []uploadPart{{name: "kind", data: []byte("medical_report")}, {name: "file", fileName: "scan.png", data: append([]byte("\x89PNG\r\n\x1a\n"), content[:70000]...)}}
	first, firstBody := upload(t, officer, opened.ID, small, key)
	second, secondBody := upload(t, officer, opened.ID, small, key)
	if first.StatusCode != http.StatusCreated || second.StatusCode != http.StatusCreated || !bytes.Equal(firstBody, secondBody) ||
		second.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried upload: %d then %d (replayed %q)", first.StatusCode, second.StatusCode, second.Header.Get("Idempotent-Replayed"))
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments`); n != 2 {
		t.Errorf("%d attachments after a retried upload, want 2", n)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments WHERE status = 'uploading'`); n != 0 {
		t.Errorf("%d uploads left half-way", n)
	}

	// Nothing in clear: neither the database dump nor any Temporal history.
	u, _ := url.Parse(db)
	dump, err := exec.Command(pgDump, "--no-owner", "-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username(), strings.TrimPrefix(u.Path, "/")).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("COPY public.attachment_chunks")) {
		t.Fatalf("the dump holds no attachment_chunks table")
	}
	if bytes.Contains(dump, []byte(mark)) {
		t.Errorf("the marker (content, description or file name) is in the pg_dump")
	}
	assertNoMarkerInHistories(t, sys, cfg.TemporalNamespace, mark)

	// Erasure: the file cannot be read any more, its chunks are gone.
	mustStatus(t, "erase", decider.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/erasure",
		map[string]string{"reason": "data_subject_request", "order": "No. 12/2026-A"}, nil), http.StatusOK)
	if resp, data := download(t, officer, opened.ID, created.ID); resp.StatusCode != http.StatusGone ||
		!strings.Contains(string(data), "urn:nrm:problem:gone") {
		t.Errorf("download after erasure: %d %s", resp.StatusCode, data)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachment_chunks`); n != 0 {
		t.Errorf("%d chunks left after erasure", n)
	}
	mustStatus(t, "list after erasure", officer.Do(t, "GET", "/api/v1/cases/"+opened.ID+"/attachments", nil, &list), http.StatusOK)
	if len(list.Attachments) != 2 || list.Attachments[0].DestroyedAt == nil || list.Attachments[0].Description != nil || list.Attachments[0].FileName != nil {
		t.Errorf("list after erasure %+v, want both destroyed without their text", list.Attachments)
	}
	if resp, data := upload(t, officer, opened.ID, small, nil); resp.StatusCode != http.StatusConflict || !strings.Contains(string(data), "identity_gone") {
		t.Errorf("upload after erasure: %d %s", resp.StatusCode, data)
	}
}

func decodeJSONBytes(t *testing.T, data []byte, out any) {
	t.Helper()
	decodeJSON(t, &http.Response{Body: io.NopCloser(bytes.NewReader(data))}, out)
}

// assertNoMarkerInHistories reads every workflow's history as Temporal
// stores it.
func assertNoMarkerInHistories(t *testing.T, sys *app.System, namespace, mark string) {
	t.Helper()
	ctx := context.Background()
	list, err := sys.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, PageSize: 1000})
	testenv.Must(t, err)
	if len(list.Executions) == 0 {
		t.Fatalf("no workflow found to look into")
	}
	for _, ex := range list.Executions {
		iter := sys.Temporal.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			testenv.Must(t, err)
			js, err := protojson.Marshal(ev)
			testenv.Must(t, err)
			if bytes.Contains(js, []byte(mark)) {
				t.Errorf("the marker reached the history of %s (event %d)", ex.Execution.WorkflowId, ev.EventId)
			}
		}
	}
}

// With NRM_ATTACHMENTS naming an S3-compatible store (a fake one that
// checks every request's signature), the chunks are objects there, never
// in the database, only ever ciphertext; the file downloads exactly; the
// erasure deletes the objects; an upload cut off half-way is deleted by
// the housekeeping's purge.
func TestAttachmentsInAnObjectStore(t *testing.T) {
	t.Parallel()
	fake := s3fake.Start(t, "nrm-files")
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.Attachments, cfg.S3AccessKeyID, cfg.S3SecretAccessKey = fake.Spec(), fake.Creds.AccessKeyID, fake.Creds.SecretAccessKey
	cfg.AttachmentMax = 4 << 20
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)

	mark := "S3MARK" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	content := pdfWithMarker(t, mark, 2<<20+7) // three chunks
	resp, data := upload(t, officer, opened.ID, []uploadPart{{name: "kind", data: []byte("medical_report")},
		{name: "file", fileName: "report.pdf", data: content}}, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, data)
	}
	var created attachmentBody
	decodeJSONBytes(t, data, &created)
	objects := fake.Objects()
	if len(objects) != 3 || fake.Refused() != 0 {
		t.Fatalf("%d objects stored (%d requests refused), want the file's 3 chunks", len(objects), fake.Refused())
	}
	for k, v := range objects {
		if !strings.HasPrefix(k, "nrm/attachments/"+created.ID+"/") || bytes.Contains(v, []byte(mark)) {
			t.Errorf("object %s: wrong key, or the content in clear", k)
		}
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachment_chunks`); n != 0 {
		t.Errorf("%d chunks in the database with an object store configured", n)
	}
	if resp, got := download(t, officer, opened.ID, created.ID); resp.StatusCode != http.StatusOK || !bytes.Equal(got, content) {
		t.Fatalf("download: %d, equal %v", resp.StatusCode, bytes.Equal(got, content))
	}
	// Over the configured limit, streamed in: nothing stays in the store.
	if resp, data := upload(t, officer, opened.ID, []uploadPart{{name: "kind", data: []byte("other")},
		{name: "file", fileName: "big.pdf", data: pdfWithMarker(t, "y", 4<<20+10)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over the limit: %d %s", resp.StatusCode, data)
	}
	if n := len(fake.Objects()); n != 3 {
		t.Errorf("%d objects after a refused upload, want 3", n)
	}

	// An upload cut off an hour ago: the purge deletes its objects and row.
	ctx := context.Background()
	stale := uuid.New()
	_, err := sys.Store.DB().Exec(`INSERT INTO attachments (id, case_id, status, backend, chunk_size, chunks, uploaded_by, agency_id, created_at)
		SELECT $1, $2, 'uploading', 's3', 1048576, 1, id, agency_id, now() - interval '2 hours' FROM users WHERE email = 'officer@lebap-police.example'`, stale, opened.ID)
	testenv.Must(t, err)
	testenv.Must(t, sys.Cases.Attachments.New.Put(ctx, stale, 0, []byte("left over")))
	purged, err := sys.Cases.PurgeAttachments(ctx)
	testenv.Must(t, err)
	if purged != 1 || len(fake.Objects()) != 3 || countRows(t, sys, `SELECT count(*) FROM attachments WHERE id = $1`, stale) != 0 {
		t.Errorf("purge: %d purged, %d objects, want the cut-off upload gone", purged, len(fake.Objects()))
	}

	// Erasure: 410, and the objects are deleted.
	mustStatus(t, "erase", decider.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/erasure",
		map[string]string{"reason": "court_order", "order": "No. 7/2026"}, nil), http.StatusOK)
	if resp, _ := download(t, officer, opened.ID, created.ID); resp.StatusCode != http.StatusGone {
		t.Errorf("download after erasure: %d", resp.StatusCode)
	}
	if n := len(fake.Objects()); n != 0 {
		t.Errorf("%d objects left after erasure", n)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments WHERE purged_at IS NULL`); n != 0 {
		t.Errorf("%d attachments not marked purged after erasure", n)
	}
}

// The end of the retention period shreds the identity the way
// store.DestroyCaseKey does: the attachments go with it, in the same
// transaction (migration 0023's trigger).
func TestRetentionDestroysAttachments(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	resp, data := upload(t, officer, opened.ID, []uploadPart{{name: "kind", data: []byte("decision_letter")},
		{name: "file", fileName: "letter.jpg", data: append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 5000)...)}}, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, data)
	}
	var created attachmentBody
	decodeJSONBytes(t, data, &created)
	// What the retention activity (ShredIdentity) does.
	testenv.Must(t, sys.Vault.Shred(context.Background(), uuid.MustParse(opened.ID), time.Now()))
	if n := countRows(t, sys, `SELECT count(*) FROM attachment_chunks`); n != 0 {
		t.Errorf("%d chunks left after shredding", n)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments WHERE destroyed_at IS NOT NULL AND purged_at IS NOT NULL AND description IS NULL AND file_name IS NULL`); n != 1 {
		t.Errorf("the attachment is not recorded destroyed and purged")
	}
	if resp, _ := download(t, officer, opened.ID, created.ID); resp.StatusCode != http.StatusGone {
		t.Errorf("download after shredding: %d", resp.StatusCode)
	}
}
