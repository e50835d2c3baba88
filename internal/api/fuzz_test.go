package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
)

// Fuzz targets for request decoding (docs/api.md#requests): every body type a
// handler decodes goes through the real decode() behind the real error
// handler, in a small Fiber app with one route per body type that answers
// 204 when decode accepts the body. Whatever the bytes, the answer is
// 204, 400, 413, 415 or 422 — never a panic, never a 5xx — every error is
// a problem+json document whose status matches, and a 422 names the field
// and the rule of each error. A body decode accepts must also hold what
// the handler then relies on (a pointer it dereferences is set, an ID it
// uuid.MustParse-s parses).
//
// Seed corpora: testdata/fuzz/<FuzzName>/. Run one target with
//   go test -tags fuzzing ./internal/api -run '^$' -fuzz '^FuzzDecodeLogin$' -fuzztime 15s
// (the tag leaves the tests that start the whole system out of the build).

// fuzzBodyLimit is small so that the 413 path is reachable from the corpus.
const fuzzBodyLimit = 8 << 10

// fuzzBody is one request body type and what a handler relies on once decode accepts it.
type fuzzBody struct {
	new   func() any
	check func(v any) error // nil: nothing beyond decode's rules
}

var fuzzBodies = map[string]fuzzBody{
	"login": {new: func() any { return new(loginRequest) }},
	"open": {new: func() any { return new(cases.OpenRequest) }, check: func(v any) error {
		r := v.(*cases.OpenRequest)
		// The cases service parses these without checking: "the decoder checked its format".
		if _, err := time.Parse(time.RFC3339, r.Encounter.OccurredAt); err != nil {
			return fmt.Errorf("encounter.occurred_at %q accepted but not RFC 3339: %v", r.Encounter.OccurredAt, err)
		}
		if r.Person.BirthDate != nil {
			if _, err := time.Parse(time.DateOnly, *r.Person.BirthDate); err != nil {
				return fmt.Errorf("person.birth_date %q accepted but not a date: %v", *r.Person.BirthDate, err)
			}
		}
		return nil
	}},
	"consent": {new: func() any { return new(consentRequest) }, check: func(v any) error {
		if r := v.(*consentRequest); r.Referral == nil || r.DataSharing == nil {
			return fmt.Errorf("accepted with a nil flag the handler dereferences: %+v", r)
		}
		return nil
	}},
	"reason":   {new: func() any { return new(reasonRequest) }},
	"guardian": {new: func() any { return new(guardianRequest) }},
	"decision": {new: func() any { return new(decisionRequest) }},
	"review": {new: func() any { return new(reviewRequest) }, check: func(v any) error {
		if r := v.(*reviewRequest); r.Confirm == nil {
			return fmt.Errorf("accepted with a nil confirm the handler dereferences")
		}
		return nil
	}},
	"extend": {new: func() any { return new(extendRequest) }, check: func(v any) error {
		if r := v.(*extendRequest); r.Days < 1 || r.Days > 365 {
			return fmt.Errorf("accepted days = %d", r.Days)
		}
		return nil
	}},
	"closure": {new: func() any { return new(closureRequest) }},
	"note":    {new: func() any { return new(noteRequest) }},
	"refer": {new: func() any { return new(cases.ReferRequest) }, check: func(v any) error {
		// cases.Service.Refer calls uuid.MustParse on it.
		if r := v.(*cases.ReferRequest); r.AgencyID != nil {
			if _, err := uuid.Parse(*r.AgencyID); err != nil {
				return fmt.Errorf("agency_id %q accepted but uuid.MustParse panics on it", *r.AgencyID)
			}
		}
		return nil
	}},
	"decline":      {new: func() any { return new(declineRequest) }},
	"complete":     {new: func() any { return new(completeRequest) }},
	"progress":     {new: func() any { return new(reasonlessNote) }},
	"agency":       {new: func() any { return new(agencyRequest) }},
	"agency_patch": {new: func() any { return new(agencyPatch) }},
	"user": {new: func() any { return new(userRequest) }, check: func(v any) error {
		// createUser calls uuid.MustParse on it.
		r := v.(*userRequest)
		if _, err := uuid.Parse(r.AgencyID); err != nil {
			return fmt.Errorf("agency_id %q accepted but uuid.MustParse panics on it", r.AgencyID)
		}
		return nil
	}},
	"channel": {new: func() any { return new(addChannelRequest) }},
	// Transfer, reopening and links (handlers_transfer.go): the service parses the IDs itself (422 when not UUIDs).
	"transfer": {new: func() any { return new(cases.TransferRequest) }},
	"reopen": {new: func() any { return new(cases.ReopenRequest) }, check: func(v any) error {
		if r := v.(*cases.ReopenRequest); !slices.Contains([]string{"re_trafficked", "new_information", "decision_overturned"}, r.Reason) {
			return fmt.Errorf("accepted reason %q", r.Reason)
		}
		return nil
	}},
	"link": {new: func() any { return new(cases.LinkRequest) }},
	// The correction routes' merge patches (decodeMergePatch decodes them as decode does).
	"person_patch": {new: func() any { return new(cases.PersonPatch) }},
	"case_patch":   {new: func() any { return new(cases.CasePatch) }},
	"erasure": {new: func() any { return new(cases.ErasureRequest) }, check: func(v any) error {
		// The order's characters are checked by cases.Service.Erase (422 there); the reason by decode.
		r := v.(*cases.ErasureRequest)
		_ = r.Validate()
		if !slices.Contains(cases.ErasureReasons, r.Reason) || r.Order == "" {
			return fmt.Errorf("accepted reason %q order %q", r.Reason, r.Order)
		}
		return nil
	}},
}

var (
	fuzzAppOnce sync.Once
	fuzzAppVal  *fiber.App
	// fuzzCheckErr carries a broken post-decode guarantee out of the handler.
	fuzzCheckErr sync.Map // request ID → error
)

// fuzzApp is the decoding path of the real server: its error handler and
// its body limit mechanism, and decode. No recover middleware, so that a
// panic crashes the fuzz run with its stack instead of hiding as a 500.
func fuzzApp() *fiber.App {
	fuzzAppOnce.Do(func() { fuzzAppVal = newFuzzApp() })
	return fuzzAppVal
}

func newFuzzApp() *fiber.App {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New(fiber.Config{BodyLimit: fuzzBodyLimit, ErrorHandler: s.errorHandler,
		DisableStartupMessage: true, Immutable: true})
	app.Use(s.withRequestID)
	for name, b := range fuzzBodies {
		app.Post("/fuzz/"+name, func(c *fiber.Ctx) error {
			dst := b.new()
			if err := decode(c, dst); err != nil {
				return err
			}
			if b.check != nil {
				if err := b.check(dst); err != nil {
					fuzzCheckErr.Store(requestID(c), err)
				}
			}
			return c.SendStatus(fiber.StatusNoContent)
		})
	}
	return app
}

var fuzzAllowed = map[int]bool{
	http.StatusNoContent: true, http.StatusBadRequest: true, http.StatusRequestEntityTooLarge: true,
	http.StatusUnsupportedMediaType: true, http.StatusUnprocessableEntity: true,
}

// fuzzDecode sends body to the route of one body type and checks the answer.
func fuzzDecode(t *testing.T, name string, body []byte) {
	reqID := uuid.NewString()
	req := httptest.NewRequest(http.MethodPost, "/fuzz/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", reqID)
	resp, err := fuzzApp().Test(req, -1)
	if err != nil && len(body) > fuzzBodyLimit && strings.Contains(err.Error(), "body size exceeds the given limit") {
		// app.Test reports fasthttp's refusal instead of the 413 the server
		// writes; TestFuzzCoversEveryRequestBody checks that 413 on a real connection.
		return
	}
	if err != nil {
		t.Fatalf("%s: body %q: app.Test: %v", name, body, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if e, ok := fuzzCheckErr.LoadAndDelete(reqID); ok {
		t.Errorf("%s: decode accepted %q, which the handler cannot use: %v", name, body, e)
	}
	if !fuzzAllowed[resp.StatusCode] {
		t.Fatalf("%s: body %q → %d %s; want one of 204, 400, 413, 415, 422", name, body, resp.StatusCode, data)
	}
	if resp.StatusCode == http.StatusNoContent {
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: body %q → %d with Content-Type %q, want application/problem+json", name, body, resp.StatusCode, ct)
	}
	var p Problem
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: body %q → %d with a problem that is not JSON: %q", name, body, resp.StatusCode, data)
	}
	if p.Status != resp.StatusCode || !strings.HasPrefix(p.Type, problemBase) {
		t.Errorf("%s: body %q → %d with problem status %d type %q", name, body, resp.StatusCode, p.Status, p.Type)
	}
	if resp.StatusCode == http.StatusUnprocessableEntity {
		if len(p.Errors) == 0 {
			t.Errorf("%s: body %q → 422 without errors[]: %s", name, body, data)
		}
		for i, fe := range p.Errors {
			if fe.Field == "" || fe.Rule == "" {
				t.Errorf("%s: body %q → 422 whose errors[%d] lacks field or rule: %+v", name, body, i, fe)
			}
		}
	}
}

func fuzzTarget(f *testing.F, name string) {
	if _, ok := fuzzBodies[name]; !ok {
		f.Fatalf("no body type %q", name)
	}
	f.Fuzz(func(t *testing.T, body []byte) { fuzzDecode(t, name, body) })
}

// TestFuzzCoversEveryRequestBody fails when the package declares a request
// body type that has no fuzz target: every struct of this package with
// validate tags, and every cases.*Request a handler declares, must be one
// of fuzzBodies. It also checks each target's route answers.
func TestFuzzCoversEveryRequestBody(t *testing.T) {
	covered := map[string]bool{}
	for name, b := range fuzzBodies {
		covered[reflect.TypeOf(b.new()).Elem().String()] = true
		req := httptest.NewRequest(http.MethodPost, "/fuzz/"+name, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := fuzzApp().Test(req, -1)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: {} → %d, want 204 or 422", name, resp.StatusCode)
		}
	}

	// A body over the limit: 413 problem+json, on a real connection (app.Test
	// reports fasthttp's refusal as an error instead of the answer).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := newFuzzApp()
	go server.Listener(ln)
	defer server.Shutdown()
	big := `{"note":"` + strings.Repeat("n", fuzzBodyLimit) + `"}`
	resp, err := http.Post("http://"+ln.Addr().String()+"/fuzz/note", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p Problem
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") ||
		json.Unmarshal(data, &p) != nil || p.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body → %d %q %s, want 413 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}

	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				st, ok := n.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, f := range st.Fields.List {
					if f.Tag != nil && strings.Contains(f.Tag.Value, "validate:") {
						if name := "api." + n.Name.Name; !covered[name] {
							t.Errorf("%s: request body %s has no fuzz target: add it to fuzzBodies and a FuzzDecode… with a seed corpus", path, name)
						}
						break
					}
				}
			case *ast.ValueSpec:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && strings.HasSuffix(sel.Sel.Name, "Request") {
					if x, ok := sel.X.(*ast.Ident); ok && !covered[x.Name+"."+sel.Sel.Name] {
						t.Errorf("%s: request body %s.%s has no fuzz target", path, x.Name, sel.Sel.Name)
					}
				}
			}
			return true
		})
	}
}

func FuzzDecodeLogin(f *testing.F)       { fuzzTarget(f, "login") }
func FuzzDecodeOpenCase(f *testing.F)    { fuzzTarget(f, "open") }
func FuzzDecodeConsent(f *testing.F)     { fuzzTarget(f, "consent") }
func FuzzDecodeReason(f *testing.F)      { fuzzTarget(f, "reason") }
func FuzzDecodeGuardian(f *testing.F)    { fuzzTarget(f, "guardian") }
func FuzzDecodeDecision(f *testing.F)    { fuzzTarget(f, "decision") }
func FuzzDecodeReview(f *testing.F)      { fuzzTarget(f, "review") }
func FuzzDecodeExtend(f *testing.F)      { fuzzTarget(f, "extend") }
func FuzzDecodeClosure(f *testing.F)     { fuzzTarget(f, "closure") }
func FuzzDecodeNote(f *testing.F)        { fuzzTarget(f, "note") }
func FuzzDecodeRefer(f *testing.F)       { fuzzTarget(f, "refer") }
func FuzzDecodeDecline(f *testing.F)     { fuzzTarget(f, "decline") }
func FuzzDecodeComplete(f *testing.F)    { fuzzTarget(f, "complete") }
func FuzzDecodeProgress(f *testing.F)    { fuzzTarget(f, "progress") }
func FuzzDecodeAgency(f *testing.F)      { fuzzTarget(f, "agency") }
func FuzzDecodeAgencyPatch(f *testing.F) { fuzzTarget(f, "agency_patch") }
func FuzzDecodeUser(f *testing.F)        { fuzzTarget(f, "user") }
func FuzzDecodeChannel(f *testing.F)     { fuzzTarget(f, "channel") }
func FuzzDecodeErasure(f *testing.F)     { fuzzTarget(f, "erasure") }
func FuzzDecodeTransfer(f *testing.F)    { fuzzTarget(f, "transfer") }
func FuzzDecodeReopen(f *testing.F)      { fuzzTarget(f, "reopen") }
func FuzzDecodeLink(f *testing.F)        { fuzzTarget(f, "link") }
func FuzzDecodePersonPatch(f *testing.F) { fuzzTarget(f, "person_patch") }
func FuzzDecodeCasePatch(f *testing.F)   { fuzzTarget(f, "case_patch") }
