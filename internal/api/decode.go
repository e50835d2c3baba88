package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
)

// decode reads a JSON body strictly into dst and checks its struct rules:
// malformed JSON is 400; unknown fields, wrong types and broken rules are 422.
func decode(c *fiber.Ctx, dst any) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the body as application/json")
	}
	// JSON is UTF-8 (RFC 8259 §8.1); a body declared otherwise would be read
	// as something the client did not mean.
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the body as application/json in UTF-8 (charset=utf-8 or none)")
	}
	return decodeBody(c.Body(), dst)
}

// decodeBody reads a JSON body strictly into dst, whatever its media type
// (decode and decodeMergePatch check that), and checks its struct rules.
func decodeBody(body []byte, dst any) error {
	if bytes.Contains(body, []byte(`\u0000`)) {
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the body contains a NUL character")
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, body, reflect.TypeOf(dst))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the body must be a single JSON value")
	}
	return checkRules(dst)
}

// decodeError maps an error of decoding body into a value of type dst; a
// field error names the field by its full path (jsonpath.go).
func decodeError(err error, body []byte, dst reflect.Type) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the body is not valid JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return newProblem(http.StatusBadRequest, ProblemMalformed, "the body must be a JSON object")
		}
		field := typeErr.Field
		if p := typeErrorPath(body, typeErr.Offset); p != "" && lastKey(p) == lastKey(typeErr.Field) {
			field = p
		}
		return &cases.ValidationError{Errors: []cases.FieldError{{
			Field: field, Rule: "type", Message: fmt.Sprintf("must be a %s", jsonKind(typeErr.Type)),
		}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		quoted := strings.TrimPrefix(err.Error(), "json: unknown field ")
		field, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			field = strings.Trim(quoted, `"`)
		}
		if p := unknownFieldPath(body, dst); p != "" && (p == field || strings.HasSuffix(p, "."+field)) {
			field = p
		}
		if field == "" || strings.HasSuffix(field, ".") {
			field += "(empty name)"
		}
		return &cases.ValidationError{Errors: []cases.FieldError{{Field: field, Rule: "unknown_field", Message: "this field is not part of the request"}}}
	}
	return newProblem(http.StatusBadRequest, ProblemMalformed, "the body could not be read as JSON")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array"
	}
	return "object"
}

// checkRules checks the struct-tag rules of dst (cases.CheckRules, the one
// check that the service applies too).
func checkRules(dst any) error {
	err := cases.CheckRules(dst)
	var verr *cases.ValidationError
	if err == nil || errors.As(err, &verr) {
		return err
	}
	return newProblem(http.StatusBadRequest, ProblemMalformed, "the body could not be checked")
}
