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
