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
	var w tokenWalk
	// keys[i] holds the keys seen in the object at depth i+1.
	var keys []map[string]bool
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		kind := w.step(tok)
		if s, ok := tok.(string); ok && !faithfulString(body[start:dec.InputOffset()], s) {
			p := w.path.String()
			if kind == keyToken {
				p = append(w.path[:len(w.path)-1:len(w.path)-1], jsonStep{key: strings.ReplaceAll(s, "\uFFFD", "?"), index: -1}).String()
			}
			return textError(p, "utf8", "must be valid UTF-8 text")
		}
		switch kind {
		case closeToken:
			keys = keys[:w.depth()]
		case keyToken:
			seen := keys[w.depth()-1]
			folded := strings.ToLower(tok.(string))
			if seen[folded] {
				return textError(w.path.String(), "duplicate_key", "is given more than once")
			}
			seen[folded] = true
		case valueStart:
			w.enter(tok)
			for len(keys) < w.depth() {
				keys = append(keys, map[string]bool{})
			}
		}
	}
}

func textError(field, rule, msg string) error {
	if field == "" {
		field = "(body)"
	}
	return &cases.ValidationError{Errors: []cases.FieldError{{Field: field, Rule: rule, Message: msg}}}
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
