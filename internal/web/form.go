package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
)

// fieldError is a problem with one field of a form: shown next to the field
// and, as a link to it, in the error summary at the top of the page (the
// GOV.UK pattern). Msg is a message ID; Args its template data.
type fieldError struct {
	Field string
	Msg   string
	Args  map[string]any
}

// formErrors are a form's problems, in the order of its fields.
type formErrors []fieldError

// For is the error of one field, nil when it has none.
func (e formErrors) For(field string) *fieldError {
	for i := range e {
		if e[i].Field == field {
			return &e[i]
		}
	}
	return nil
}

// add records a problem with a field.
func (e *formErrors) add(field, msg string) { *e = append(*e, fieldError{Field: field, Msg: msg}) }

// refusal puts a command the procedure refused (409, cases.RuleError) in
// the user's words: rule.<code> from the catalogue, else the general
// message (protected periods are named by their obligation IDs, which the
// SOP labels). ok is false for errors that are no refusal.
func (p *Pages) refusal(err error, lang string) (msg string, ok bool) {
	var re *cases.RuleError
	if !errors.As(err, &re) {
		return "", false
	}
	t := p.msgs.translator(lang)
	if id := "rule." + re.Rule; t.has(id) {
		return t.T(id), true
	}
	return t.T("rule.other"), true
}

// clean trims a typed text; forms keep what was typed but store it trimmed.
func clean(s string) string { return strings.TrimSpace(s) }

// newFormKey is the random key a command form carries (hidden field "key"):
// the same form sent twice — a double click, a retry after a dropped
// connection — is the same command, and the workflow answers the second
// with the first's result instead of running it again.
func newFormKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// retryOf makes a command form's retry key: its "key" field and a
// fingerprint of what the form says (the command's fields, in order). A
// form without a valid key is a new command each time.
func retryOf(c *fiber.Ctx, fields ...string) cases.Retry {
	key := c.FormValue("key")
	if len(key) != 32 {
		return cases.Retry{}
	}
	if _, err := hex.DecodeString(key); err != nil {
		return cases.Retry{}
	}
	h := sha256.New()
	h.Write([]byte(c.Path()))
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return cases.Retry{Key: "page-" + key, Fingerprint: h.Sum(nil)}
}
