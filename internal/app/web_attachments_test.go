package app_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// sendMultipart posts a multipart form from the browser.
func (b *browser) sendMultipart(t *testing.T, path string, parts ...uploadPart) (*http.Response, string) {
	t.Helper()
	body, ct := multipartBody(t, parts...)
	req, err := http.NewRequest("POST", b.base+path, bytes.NewReader(body))
	testenv.Must(t, err)
	req.Header.Set("Content-Type", ct)
	resp, err := b.c.Do(req)
	testenv.Must(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	return resp, string(data)
}

var attachmentLink = regexp.MustCompile(`href="(/cases/[0-9a-f-]+/attachments/[0-9a-f-]+)" download`)

// The case page lists the case's files with a download link and an upload
// form (multipart, CSRF token and form key first, the file last): a file
// added through it is stored once even when the form is sent twice, shows
// on the page and downloads exactly; a file of another type is refused on
// the form, in words, with nothing stored; a form without the CSRF token is
// refused. The notes are shown 20 a page with a link to the later ones.
func TestAttachmentsAndNotesOnTheCasePage(t *testing.T) {
	t.Parallel()
	sys := testenv.Start(t, testenv.Config(t, testenv.Database(t), t.TempDir()))
	base := "http://" + sys.APIAddr
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	casePath := "/cases/" + opened.ID
	b := signInPages(t, base, "officer@lebap-police.example", testenv.DemoPassword)

	_, page := b.do(t, "GET", casePath+"?lang=en", nil, nil)
	if !strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, `action="`+casePath+`/attachments"`) ||
		!strings.Contains(page, "Identity document") || !strings.Contains(page, "No files yet.") {
		t.Fatalf("the case page has no upload form: %s", page)
	}
	csrf, key := csrfOf(t, page), formKeyField.FindStringSubmatch(page)
	if key == nil {
		t.Fatal("the upload form has no key")
	}
	content := append([]byte("%PDF-1.5\n"), bytes.Repeat([]byte("letter from the clinic\n"), 3000)...)
	form := []uploadPart{{name: "csrf", data: []byte(csrf)}, {name: "key", data: []byte(key[1])},
		{name: "kind", data: []byte("medical_report")}, {name: "description", data: []byte("Clinic letter, 3 May")},
		{name: "file", fileName: "clinic.pdf", contentType: "application/pdf", data: content}}
	var locations []string
	for range 2 { // a double click: the same form twice
		resp, body := b.sendMultipart(t, casePath+"/attachments?lang=en", form...)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload form: %d %s", resp.StatusCode, body)
		}
		locations = append(locations, resp.Header.Get("Location"))
	}
	if locations[0] != casePath+"?done=attachment#attachments" || locations[1] != locations[0] {
		t.Errorf("upload redirects %q, want the case page's files twice", locations)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments`); n != 1 {
		t.Errorf("%d attachments after the form was sent twice, want 1", n)
	}
	_, page = b.do(t, "GET", casePath+"?done=attachment&lang=en", nil, nil)
	link := attachmentLink.FindStringSubmatch(page)
	if !strings.Contains(page, "File added.") || !strings.Contains(page, "clinic.pdf") || !strings.Contains(page, "Clinic letter, 3 May") ||
		!strings.Contains(page, "Medical report") || link == nil {
		t.Fatalf("the case page does not list the file: %s", page)
	}
	resp, got := b.do(t, "GET", link[1], nil, nil)
	if resp.StatusCode != http.StatusOK || got != string(content) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download from the page: %d, %d bytes, %v", resp.StatusCode, len(got), resp.Header)
	}

	// A renamed executable: the form again, the error linked to the file field, nothing stored.
	_, page = b.do(t, "GET", casePath+"?lang=en", nil, nil)
	key = formKeyField.FindStringSubmatch(page)
	resp, body := b.sendMultipart(t, casePath+"/attachments?lang=en", uploadPart{name: "csrf", data: []byte(csrfOf(t, page))},
		uploadPart{name: "key", data: []byte(key[1])}, uploadPart{name: "kind", data: []byte("other")},
		uploadPart{name: "file", fileName: "scan.pdf", contentType: "application/pdf", data: []byte("MZ\x90\x00 this is a program")})
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, `href="#file"`) || !strings.Contains(body, "Choose a PDF, JPEG, PNG, TIFF or HEIC file") {
		t.Errorf("disguised executable through the form: %d %s", resp.StatusCode, body)
	}
	// No kind chosen: the form again with the kind's error.
	resp, body = b.sendMultipart(t, casePath+"/attachments?lang=en", uploadPart{name: "csrf", data: []byte(csrfOf(t, page))},
		uploadPart{name: "key", data: []byte(key[1])}, uploadPart{name: "file", fileName: "x.png", data: []byte("\x89PNG\r\n\x1a\nxxxx")})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `href="#kind"`) {
		t.Errorf("no kind through the form: %d", resp.StatusCode)
	}
	// Without the CSRF token: refused.
	resp, _ = b.sendMultipart(t, casePath+"/attachments", uploadPart{name: "key", data: []byte(key[1])},
		uploadPart{name: "kind", data: []byte("other")}, uploadPart{name: "file", fileName: "x.png", data: []byte("\x89PNG\r\n\x1a\nxxxx")})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without the CSRF token: %d", resp.StatusCode)
	}
	if n := countRows(t, sys, `SELECT count(*) FROM attachments`); n != 1 {
		t.Errorf("%d attachments after refused forms, want 1", n)
	}

	// Notes: 20 a page, then the later ones.
	for i := range 23 {
		mustStatus(t, "note", officer.Do(t, "POST", "/api/v1/cases/"+opened.ID+"/notes", map[string]any{"note": "page note " + itoa(i+1)}, nil), http.StatusCreated)
	}
	_, page = b.do(t, "GET", casePath+"?lang=en", nil, nil)
	later := regexp.MustCompile(`href="(` + regexp.QuoteMeta(casePath) + `\?notes=[0-9]+\.[0-9a-f-]+#notes)" rel="next"`).FindStringSubmatch(page)
	if !strings.Contains(page, "page note 20<") || strings.Contains(page, "page note 21<") || later == nil {
		t.Fatalf("the first page of notes: no link to the later ones, or not 20 notes")
	}
	_, page = b.do(t, "GET", strings.ReplaceAll(later[1], "&amp;", "&"), nil, nil)
	if !strings.Contains(page, "page note 21<") || !strings.Contains(page, "page note 23<") || strings.Contains(page, "page note 20<") ||
		!strings.Contains(page, `href="`+casePath+`#notes"`) || strings.Contains(page, `rel="next"`) {
		t.Errorf("the later notes' page does not hold notes 21 to 23 with a link back to the first ones")
	}
}
