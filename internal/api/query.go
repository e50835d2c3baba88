package api

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
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
