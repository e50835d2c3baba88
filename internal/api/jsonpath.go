package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// encoding/json names a field in its errors without the way to it: an
// unknown field only by its own key ("nickname", not "person.nickname"), a
// wrong type by a dotted path without array indices ("indicators.id"). The
// functions here find the full path ("person.nickname", "indicators[2].id")
// by reading the body again with a json.Decoder. They run only once decoding
// has failed, and fall back to what encoding/json said when the body does
// not lead to the error they look for.

// jsonPath is the path of the value being read: object keys and array indices.
type jsonPath []jsonStep

type jsonStep struct {
	key   string
	index int // -1 for an object key
}

func (p jsonPath) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.key)
	}
	return b.String()
}

// lastKey is the last object key of a path: "person.languages[1]" → "languages".
func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// typeErrorPath is the path of the value encoding/json refused, found by its
// offset: UnmarshalTypeError.Offset is where the refused value's first token
// ends (after a literal, or after the '{' or '[' that opens it), which is
// where a json.Decoder stands after returning that token. "" when no value
// ends there.
func typeErrorPath(body []byte, offset int64) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var w tokenWalk
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if w.step(tok) != valueStart {
			continue
		}
		// tok starts a value at w.path.
		if dec.InputOffset() == offset {
			return w.path.String()
		}
		if dec.InputOffset() > offset {
			return ""
		}
		w.enter(tok)
	}
}

// tokenWalk follows the path of each token of a JSON text read one token
// at a time with json.Decoder.Token: step says what a token is, enter
// descends into a value that starts an object or array.
type tokenWalk struct {
	stack []walkFrame
	path  jsonPath
}

type walkFrame struct {
	object  bool
	wantKey bool
}

type tokenKind int

const (
	valueStart tokenKind = iota // a literal, or the '{' or '[' of a value at path
	keyToken                    // an object key, now the last step of path
	closeToken                  // the '}' or ']' that ends a value
)

// step places tok on the path.
func (w *tokenWalk) step(tok json.Token) tokenKind {
	if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
		w.stack = w.stack[:len(w.stack)-1]
		if d == ']' {
			w.path = w.path[:len(w.path)-1]
		}
		w.done()
		return closeToken
	}
	if n := len(w.stack); n > 0 && w.stack[n-1].object && w.stack[n-1].wantKey {
		key, _ := tok.(string)
		w.stack[n-1].wantKey = false
		w.path = append(w.path, jsonStep{key: key, index: -1})
		return keyToken
	}
	return valueStart
}

// enter descends into the value tok starts, or ends it when it is a literal.
func (w *tokenWalk) enter(tok json.Token) {
	switch tok {
	case json.Delim('{'):
		w.stack = append(w.stack, walkFrame{object: true, wantKey: true})
	case json.Delim('['):
		w.stack = append(w.stack, walkFrame{})
		w.path = append(w.path, jsonStep{index: 0})
	default:
		w.done()
	}
}

// done ends a value: the next one in an array has the next index, the next
// one in an object comes after a key.
func (w *tokenWalk) done() {
	if len(w.stack) == 0 {
		return
	}
	top := &w.stack[len(w.stack)-1]
	if top.object {
		top.wantKey = true
		w.path = w.path[:len(w.path)-1]
	} else {
		w.path[len(w.path)-1].index++
	}
}

// depth is how many objects and arrays enclose the current token.
func (w *tokenWalk) depth() int { return len(w.stack) }

// unknownFieldPath is the path of the first key in body that has no field in
// the struct type t decodes into, as DisallowUnknownFields sees it: keys
// match json tags or field names regardless of case, embedded structs lend
// their fields, and anything decoded into an interface, a json.Unmarshaler
// or a type other than a struct, map, slice or array is not looked into.
func unknownFieldPath(body []byte, t reflect.Type) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	path, _ := walkUnknown(dec, t, nil)
	return path
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// walkUnknown reads one value of dec against type t; it returns the path of
// the first unknown key in it, or "" and whether the body could be read.
func walkUnknown(dec *json.Decoder, t reflect.Type, path jsonPath) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return "", true
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "", skipValue(dec, d)
	}
	switch {
	case d == '{' && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map):
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", false
			}
			key, _ := tok.(string)
			step := append(path[:len(path):len(path)], jsonStep{key: key, index: -1})
			elem := t
			if t.Kind() == reflect.Map {
				elem = t.Elem()
			} else if f, ok := jsonField(t, key); ok {
				elem = f
			} else {
				return step.String(), true
			}
			if p, ok := walkUnknown(dec, elem, step); p != "" || !ok {
				return p, ok
			}
		}
	case d == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; dec.More(); i++ {
			step := append(path[:len(path):len(path)], jsonStep{index: i})
			if p, ok := walkUnknown(dec, t.Elem(), step); p != "" || !ok {
				return p, ok
			}
		}
	default:
		return "", skipValue(dec, d)
	}
	_, err = dec.Token() // the closing delimiter
	return "", err == nil
}

// skipValue reads the rest of an object or array whose opening delimiter was read.
func skipValue(dec *json.Decoder, open json.Delim) bool {
	if open != '{' && open != '[' {
		return true
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return true
}

// jsonField is the type of the field of struct t that key decodes into:
// an exact name first, then one that differs only in case.
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	var visit func(t reflect.Type, depth int) (reflect.Type, bool)
	visit = func(t reflect.Type, depth int) (reflect.Type, bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct && depth < 8 {
					if found, ok := visit(ft, depth+1); ok {
						return found, true
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if name == key {
				return f.Type, true
			}
			if folded == nil && strings.EqualFold(name, key) {
				folded = f.Type
			}
		}
		return nil, false
	}
	if found, ok := visit(t, 0); ok {
		return found, true
	}
	return folded, folded != nil
}
