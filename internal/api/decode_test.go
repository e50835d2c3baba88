package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
)

// pathItem, pathInner and pathBody exercise what the path finder must follow:
// arrays of objects, pointers, maps, embedded structs, case-insensitive keys.
type pathItem struct {
	ID    string   `json:"id"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

type pathInner struct {
	Note string `json:"note"`
}

type pathBody struct {
	pathInner
	Items []pathItem            `json:"items"`
	Ptr   *pathItem             `json:"ptr"`
	Map   map[string]pathItem   `json:"map"`
	Grid  [][]pathItem          `json:"grid"`
	Any   any                   `json:"any"`
	Raw   json.RawMessage       `json:"raw"`
	Deep  map[string][]pathItem `json:"deep"`
}

// decodeProblem decodes body into a new value like dst's behind the real
// error handler and returns the answer.
func decodeProblem[T any](t *testing.T, body string) (int, Problem) {
	t.Helper()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New(fiber.Config{ErrorHandler: s.errorHandler, DisableStartupMessage: true})
	app.Post("/", func(c *fiber.Ctx) error {
		var dst T
		if err := decode(c, &dst); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p Problem
	if resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatalf("%s: problem: %v", body, err)
		}
	}
	return resp.StatusCode, p
}

func TestDecodeNamesTheFullPath(t *testing.T) {
	for _, tc := range []struct {
		body, field, rule string
	}{
		// Unknown fields.
		{`{"nope":1}`, "nope", "unknown_field"},
		{`{"items":[{"id":"a"},{"id":"b"},{"id":"c","extra":true}]}`, "items[2].extra", "unknown_field"},
		{`{"ptr":{"id":"a","extra":{}}}`, "ptr.extra", "unknown_field"},
		{`{"map":{"k":{"extra":1}}}`, "map.k.extra", "unknown_field"},
		{`{"grid":[[],[{"id":"x"},{"extra":1}]]}`, "grid[1][1].extra", "unknown_field"},
		{`{"deep":{"a":[{"id":"x"}],"b":[{"ID":"y","Count":2},{"x":1}]}}`, "deep.b[1].x", "unknown_field"},
		// Case-insensitive matches, embedded fields, interfaces and raw
		// messages are known: the unknown key is the one after them.
		{`{"NOTE":"n","any":{"x":{"y":1}},"raw":{"z":[1]},"items":[{"ID":"a","Tags":["t"],"zz":1}]}`, "items[0].zz", "unknown_field"},
		{`{"items":[{"":1}]}`, "items[0].(empty name)", "unknown_field"},
		{`{"":1}`, "(empty name)", "unknown_field"},
		{`{"items":[{"a\"b":1}]}`, `items[0].a"b`, "unknown_field"},
		// Wrong types.
		{`{"note":1}`, "note", "type"},
		{`{"items":[{"id":"a"},{"id":"b"},{"count":"x"}]}`, "items[2].count", "type"},
		{`{"items":[{"tags":["a", 2 ]}]}`, "items[0].tags[1]", "type"},
		{"{\"items\" : [ {\"tags\" :\n[ \"a\" ,\t{\"x\":1} ] } ] }", "items[0].tags[1]", "type"},
		{`{"items":[{"id":"é€"},{"count":"ü"}]}`, "items[1].count", "type"},
		{`{"ptr":{"count":true}}`, "ptr.count", "type"},
		{`{"items":{}}`, "items", "type"},
		{`{"items":[1]}`, "items[0]", "type"},
		{`{"grid":[[{"id":"a"}],[{"id":"b"},{"id":[]}]]}`, "grid[1][1].id", "type"},
		{`{"map":{"k":{"count":"x"}}}`, "map.k.count", "type"},
	} {
		status, p := decodeProblem[pathBody](t, tc.body)
		if status != http.StatusUnprocessableEntity || len(p.Errors) != 1 {
			t.Errorf("%s → %d %+v, want 422 with one error", tc.body, status, p)
			continue
		}
		if e := p.Errors[0]; e.Field != tc.field || e.Rule != tc.rule {
			t.Errorf("%s → field %q rule %q, want %q %q", tc.body, e.Field, e.Rule, tc.field, tc.rule)
		}
	}
}

func TestDecodeOpenCaseNestedErrors(t *testing.T) {
	for _, tc := range []struct {
		body, field, rule string
	}{
		{`{"person":{"given_name":"x","nickname":"y"}}`, "person.nickname", "unknown_field"},
		{`{"consent":{"referral":true,"data_sharing":true,"marketing":true}}`, "consent.marketing", "unknown_field"},
		{`{"person":{"given_name":"x","languages":["tk",7]}}`, "person.languages[1]", "type"},
		{`{"indicators":["a","b",3]}`, "indicators[2]", "type"},
		{`{"encounter":{"region":false}}`, "encounter.region", "type"},
	} {
		status, p := decodeProblem[cases.OpenRequest](t, tc.body)
		if status != http.StatusUnprocessableEntity || len(p.Errors) != 1 {
			t.Errorf("%s → %d %+v, want 422 with one error", tc.body, status, p)
			continue
		}
		if e := p.Errors[0]; e.Field != tc.field || e.Rule != tc.rule {
			t.Errorf("%s → field %q rule %q, want %q %q", tc.body, e.Field, e.Rule, tc.field, tc.rule)
		}
	}
}

// What encoding/json would accept silently is refused with the field named:
// a key given twice (the last would win), text that is not UTF-8 or an
// unpaired surrogate (it would be stored as U+FFFD).
func TestDecodeRefusesAmbiguousText(t *testing.T) {
	for _, tc := range []struct {
		body, field, rule string
	}{
		{`{"note":"a","note":"b"}`, "note", "duplicate_key"},
		{`{"note":"a","NOTE":"b"}`, "NOTE", "duplicate_key"},
		{`{"items":[{"id":"a"},{"id":"b","count":1,"id":"c"}]}`, "items[1].id", "duplicate_key"},
		{"{\"note\":\"Ay\xffna\"}", "note", "utf8"},
		{"{\"items\":[{\"id\":\"ok\"},{\"tags\":[\"a\",\"\xc3\x28\"]}]}", "items[1].tags[1]", "utf8"},
		{`{"note":"\ud800x"}`, "note", "utf8"},
		{"{\"no\xfete\":\"x\"}", "no?te", "utf8"},
	} {
		status, p := decodeProblem[pathBody](t, tc.body)
		if status != http.StatusUnprocessableEntity || len(p.Errors) != 1 {
			t.Errorf("%q → %d %+v, want 422 with one error", tc.body, status, p)
			continue
		}
		if e := p.Errors[0]; e.Field != tc.field || e.Rule != tc.rule {
			t.Errorf("%q → field %q rule %q, want %q %q", tc.body, e.Field, e.Rule, tc.field, tc.rule)
		}
	}
	// Real text passes: a written U+FFFD, a paired surrogate escape, Turkmen letters.
	for _, body := range []string{`{"note":"\ufffd and \uFFFD and ` + "\uFFFD" + `"}`, `{"note":"\ud83d\ude00"}`, `{"note":"Aýna Öwezowa ňüçşž"}`,
		`{"map":{"a":{"id":"x"},"b":{"id":"x"}},"items":[{"id":"a"},{"id":"a"}]}`} {
		if status, p := decodeProblem[pathBody](t, body); status != http.StatusNoContent {
			t.Errorf("%s → %d %+v, want accepted", body, status, p)
		}
	}
}

func TestDecodeRefusesOtherCharsets(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	app := fiber.New(fiber.Config{ErrorHandler: s.errorHandler, DisableStartupMessage: true})
	app.Post("/", func(c *fiber.Ctx) error {
		var dst pathBody
		if err := decode(c, &dst); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	for ct, want := range map[string]int{
		"application/json":                 http.StatusNoContent,
		"application/json; charset=utf-8":  http.StatusNoContent,
		"application/json; charset=UTF-8":  http.StatusNoContent,
		"application/json; charset=utf-16": http.StatusUnsupportedMediaType,
		"application/json; charset=latin1": http.StatusUnsupportedMediaType,
		"application/json; charset=\"\"":   http.StatusUnsupportedMediaType,
		"text/plain; charset=utf-8":        http.StatusUnsupportedMediaType,
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"note":"x"}`))
		req.Header.Set("Content-Type", ct)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Content-Type %q → %d, want %d", ct, resp.StatusCode, want)
		}
	}
}
