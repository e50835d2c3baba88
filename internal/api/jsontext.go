package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/nrm-tm/nrm/internal/cases"
)

// checkJSONText refuses what encoding/json accepts silently: a key given
// twice in one object (the last would win, so a reviewer of the request and
// the server would read different values; keys differing only in case count
// as the same, because encoding/json matches them to the same field), and
// text that is not UTF-8 or holds an unpaired surrogate escape (encoding/json
// would store U+FFFD in its place, so a name would be recorded other than
// typed). A body that is not valid JSON passes: decode reports that.
func checkJSONText(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]bool
	}
	var stack []frame
	var path jsonPath
	done := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.object {
			top.wantKey = true
			path = path[:len(path)-1]
		} else {
			path[len(path)-1].index++
		}
	}
	fieldError := func(field, rule, msg string) error {
		if field == "" {
			field = "(body)"
		}
		return &cases.ValidationError{Errors: []cases.FieldError{{Field: field, Rule: rule, Message: msg}}}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if s, ok := tok.(string); ok && !faithfulString(body[start:dec.InputOffset()], s) {
			p := path.String()
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				p = append(path[:len(path):len(path)], jsonStep{key: strings.ReplaceAll(s, "\uFFFD", "?"), index: -1}).String()
			}
			return fieldError(p, "utf8", "must be valid UTF-8 text")
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if d == ']' {
				path = path[:len(path)-1]
			}
			done()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			key, _ := tok.(string)
			top := &stack[n-1]
			top.wantKey = false
			path = append(path, jsonStep{key: key, index: -1})
			folded := strings.ToLower(key)
			if top.keys[folded] {
				return fieldError(path.String(), "duplicate_key", "is given more than once")
			}
			top.keys[folded] = true
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, frame{})
			path = append(path, jsonStep{index: 0})
		default:
			done()
		}
	}
}

// faithfulString reports whether decoded is exactly what the raw token
// (with any separators before it) says: valid UTF-8, and every U+FFFD in
// decoded written as such rather than produced from a broken escape.
func faithfulString(raw []byte, decoded string) bool {
	if !utf8.Valid(raw) {
		return false
	}
	n := strings.Count(decoded, "\uFFFD")
	if n == 0 {
		return true
	}
	lower := bytes.ToLower(raw)
	return n == bytes.Count(raw, []byte("\uFFFD"))+bytes.Count(lower, []byte(`\ufffd`))
}
