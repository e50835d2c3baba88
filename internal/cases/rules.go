package cases

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// The rules written in the request types' struct tags (validate:"…") are
// checked here, in one place, for every client: the API's decoder calls
// CheckRules on each body it reads, and Open calls it again on the
// screening it is given, so that the web form, which builds an OpenRequest
// from its fields, is held to exactly the rules the API applies.

var structRules = newStructValidator()

func newStructValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	// Report JSON names, not Go names, in field errors.
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}

// CheckRules checks the struct-tag rules of a request (a pointer to a
// struct): nil when it keeps them, a *ValidationError naming each broken
// rule by the field's JSON path ("person.given_name") and the rule's tag
// ("required"), or another error when v is no struct.
func CheckRules(v any) error {
	err := structRules.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("check rules: %w", err)
	}
	out := &ValidationError{}
	for _, fe := range verrs {
		out.Errors = append(out.Errors, FieldError{Field: fieldPath(fe), Rule: fe.Tag(), Message: ruleMessage(fe)})
	}
	return out
}

// fieldPath drops the root struct name: "OpenRequest.person.given_name" → "person.given_name".
func fieldPath(fe validator.FieldError) string {
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func ruleMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max":
		return "is longer or larger than " + fe.Param()
	case "min":
		return "is shorter or smaller than " + fe.Param()
	case "len":
		return "must have length " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "email":
		return "must be an e-mail address"
	case "datetime":
		return "must be formatted as " + fe.Param()
	case "uppercase":
		return "must be upper case"
	case "lowercase", "alpha":
		return "must be a lower-case language code"
	}
	return "breaks rule " + fe.Tag()
}

// tagOneOf is the list of values a field's oneof rule allows, read from its
// struct tag, so that a form offers exactly what the rule accepts.
func tagOneOf(t reflect.Type, field string) []string {
	f, ok := t.FieldByName(field)
	if !ok {
		panic("cases: no field " + field + " in " + t.Name())
	}
	for _, rule := range strings.Split(f.Tag.Get("validate"), ",") {
		if list, ok := strings.CutPrefix(rule, "oneof="); ok {
			return strings.Fields(list)
		}
	}
	panic("cases: field " + t.Name() + "." + field + " has no oneof rule")
}

// Sexes are the values of person.sex, EncounterContexts those of
// encounter.context and ExploitationTypes those of exploitation, in the
// order of their rules.
func Sexes() []string             { return tagOneOf(reflect.TypeFor[PersonInput](), "Sex") }
func EncounterContexts() []string { return tagOneOf(reflect.TypeFor[EncounterInput](), "Context") }
func ExploitationTypes() []string { return tagOneOf(reflect.TypeFor[OpenRequest](), "Exploitation") }
