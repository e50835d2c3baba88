package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

// Query parameters are checked like body fields: a value out of range or
// not among the known codes is a 422 naming the parameter, never ignored.
// An absent or empty parameter takes its default.

// queryErrors collects the broken rules of a request's query parameters.
type queryErrors []cases.FieldError

// limit reads ?limit: def when absent, else a whole number from 1 to most.
func (q *queryErrors) limit(c *fiber.Ctx, def, most int) int {
	v := c.Query("limit")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		*q = append(*q, cases.FieldError{Field: "limit", Rule: "range", Message: fmt.Sprintf("must be a whole number from 1 to %d", most)})
		return def
	}
	return n
}

// oneOf reads the parameter name, "" when absent, else one of allowed.
func (q *queryErrors) oneOf(c *fiber.Ctx, name string, allowed []string) string {
	v := c.Query(name)
	if v == "" || slices.Contains(allowed, v) {
		return v
	}
	*q = append(*q, cases.FieldError{Field: name, Rule: "oneof", Message: "must be one of: " + strings.Join(allowed, ", ")})
	return ""
}

// err is the 422 of the broken rules, nil when none.
func (q queryErrors) err() error {
	if len(q) == 0 {
		return nil
	}
	return &cases.ValidationError{Errors: q}
}

// only refuses every parameter not in names: a misspelt filter would
// otherwise answer an unfiltered list.
func (q *queryErrors) only(c *fiber.Ctx, names ...string) {
	var unknown []string
	for k := range c.Queries() {
		if !slices.Contains(names, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		*q = append(*q, cases.FieldError{Field: k, Rule: "unknown", Message: "this field is not part of the request"})
	}
}

// boolean reads ?name=true|false; nil when absent.
func (q *queryErrors) boolean(c *fiber.Ctx, name string) *bool {
	switch c.Query(name) {
	case "":
		return nil
	case "true":
		return new(true)
	case "false":
		return new(false)
	}
	*q = append(*q, cases.FieldError{Field: name, Rule: "boolean", Message: "must be true or false"})
	return nil
}

// uuid reads an ID; nil when absent.
func (q *queryErrors) uuid(c *fiber.Ctx, name string) *uuid.UUID {
	v := c.Query(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		*q = append(*q, cases.FieldError{Field: name, Rule: "uuid", Message: "must be an ID (a UUID)"})
		return nil
	}
	return &id
}

// instant reads an RFC 3339 date-time, or a date (YYYY-MM-DD) taken as the
// whole day in loc: its first instant, or with end its last microsecond
// (the database's precision), so that a date bounds a range inclusively.
// nil when absent.
func (q *queryErrors) instant(c *fiber.Ctx, name string, loc *time.Location, end bool) *time.Time {
	v := c.Query(name)
	if v == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t
	}
	if d, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		if end {
			d = d.AddDate(0, 0, 1).Add(-time.Microsecond)
		}
		return &d
	}
	*q = append(*q, cases.FieldError{Field: name, Rule: "datetime", Message: "must be a date (YYYY-MM-DD) or an RFC 3339 date-time"})
	return nil
}

// text reads a free text parameter of at most most characters.
func (q *queryErrors) text(c *fiber.Ctx, name string, most int) string {
	v := c.Query(name)
	if utf8.RuneCountInString(v) > most {
		*q = append(*q, cases.FieldError{Field: name, Rule: "max", Message: fmt.Sprintf("is longer or larger than %d", most)})
		return ""
	}
	return v
}

// cursor reads the after parameter of a paged list; nil when absent.
func (q *queryErrors) cursor(c *fiber.Ctx, s *Server, list byte) *store.Cursor {
	v := c.Query("after")
	if v == "" {
		return nil
	}
	cur, err := s.decodeCursor(list, v)
	if err != nil {
		*q = append(*q, cases.FieldError{Field: "after", Rule: "cursor", Message: "must be the next value of a previous page"})
		return nil
	}
	return cur
}
