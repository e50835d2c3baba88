package api

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The field names of the API follow one scheme (docs/api.md#field-names).
// This test reads every schema of openapi.yaml — components, request and
// response bodies, the webhook payload — and every query and path
// parameter, and fails on a name that breaks a rule below, unless it is one
// of the documented exceptions. An exception that no longer occurs fails
// too, so that the list in docs/api.md stays true.

// Rules a property name is checked against.
const (
	ruleSnakeCase  = "snake_case"  // lower snake_case: no camelCase, no Id or ID
	ruleInstant    = "instant"     // format: date-time is named at or <event>_at
	ruleAtIsTime   = "at_is_time"  // a name at or <event>_at is a date-time
	ruleBoolean    = "boolean"     // a boolean is a state, without is_ or has_
	ruleList       = "list"        // an array has a plural name
	ruleCaseNumber = "case_number" // number on a case, case_number elsewhere
)

// fieldNameExceptions are the known exceptions of docs/api.md#field-names:
// property name → rule it breaks → why it stays.
var fieldNameExceptions = map[string]map[string]string{
	// HTCDS 2.0's own field names: the export is for tools that read the standard.
	"nrm_RegistrationPeriod":     {ruleSnakeCase: "HTCDS 2.0"},
	"nrm_RegistrationArea":       {ruleSnakeCase: "HTCDS 2.0"},
	"nrm_AgeBandAtRegistration":  {ruleSnakeCase: "HTCDS 2.0"},
	"prs_Gender":                 {ruleSnakeCase: "HTCDS 2.0"},
	"prs_Citizenship":            {ruleSnakeCase: "HTCDS 2.0", ruleList: "HTCDS 2.0"},
	"vic_TraffickingStatus":      {ruleSnakeCase: "HTCDS 2.0"},
	"vic_TypeOfExploitation":     {ruleSnakeCase: "HTCDS 2.0", ruleList: "HTCDS 2.0"},
	"cas_Status":                 {ruleSnakeCase: "HTCDS 2.0"},
	"cas_ReasonForCaseClosure":   {ruleSnakeCase: "HTCDS 2.0"},
	"vic_LocationOfExploitation": {ruleSnakeCase: "HTCDS 2.0", ruleList: "HTCDS 2.0"},
	"hte_Country":                {ruleSnakeCase: "HTCDS 2.0", ruleList: "HTCDS 2.0"},
	// A report's reference instant, not an event: what was pending "as of" it.
	"as_of": {ruleInstant: "reference time of a report"},
	// A mass noun: the forms of exploitation.
	"exploitation": {ruleList: "mass noun"},
	// One quantity each, summed from the listed columns.
	"numerator":   {ruleList: "one quantity of several columns"},
	"denominator": {ruleList: "one quantity of several columns"},
	// The cells a table withholds.
	"suppressed": {ruleList: "the withheld cells"},
	// The SOP file's own keys (docs/sop-format.md), answered as the file spells them.
	"dimension_positive": {ruleList: "SOP file key"},
	"met_by":             {ruleList: "SOP file key"},
	"adult":              {ruleList: "SOP file key: the adult track's groups"},
	"child":              {ruleList: "SOP file key: the child track's groups"},
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// fieldProperty is one property of a schema of the document.
type fieldProperty struct {
	where, name string
	types       []string // JSON types, from type, $ref and oneOf/anyOf/allOf
	formats     []string
}

// brokenRules answers the rules of the scheme a property breaks.
func (p fieldProperty) brokenRules() []string {
	var broken []string
	if !snakeCase.MatchString(p.name) {
		broken = append(broken, ruleSnakeCase)
	}
	instantName := p.name == "at" || strings.HasSuffix(p.name, "_at")
	instant := slices.Contains(p.formats, "date-time")
	if instant && !instantName {
		broken = append(broken, ruleInstant)
	}
	if instantName && !instant {
		broken = append(broken, ruleAtIsTime)
	}
	if slices.Contains(p.types, "boolean") && (strings.HasPrefix(p.name, "is_") || strings.HasPrefix(p.name, "has_")) {
		broken = append(broken, ruleBoolean)
	}
	if slices.Contains(p.types, "array") && !strings.HasSuffix(p.name, "s") {
		broken = append(broken, ruleList)
	}
	onCase := strings.HasPrefix(p.where, "components/schemas/Case/") || p.where == "components/schemas/Case"
	if (p.name == "number" && !onCase) || (p.name == "case_number" && onCase) {
		broken = append(broken, ruleCaseNumber)
	}
	return broken
}

// schemaProperties collects every property of every schema under node.
func schemaProperties(root map[string]any, node any, where string, out *[]fieldProperty) {
	switch n := node.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			for name, def := range props {
				p := fieldProperty{where: where, name: name}
				schemaTypes(root, def, &p, 0)
				*out = append(*out, p)
			}
		}
		for k, v := range n {
			if k == "example" || k == "examples" {
				continue // values, not schemas
			}
			schemaProperties(root, v, strings.TrimPrefix(where+"/"+k, "/"), out)
		}
	case []any:
		for i, v := range n {
			schemaProperties(root, v, fmt.Sprintf("%s[%d]", where, i), out)
		}
	}
}

// schemaTypes gathers the types and formats a schema allows, following
// $ref and the branches of oneOf, anyOf and allOf.
func schemaTypes(root map[string]any, node any, p *fieldProperty, depth int) {
	s, ok := node.(map[string]any)
	if !ok || depth > 8 {
		return
	}
	switch t := s["type"].(type) {
	case string:
		p.types = append(p.types, t)
	case []any:
		for _, x := range t {
			if x, ok := x.(string); ok {
				p.types = append(p.types, x)
			}
		}
	}
	if f, ok := s["format"].(string); ok {
		p.formats = append(p.formats, f)
	}
	if ref, ok := s["$ref"].(string); ok {
		schemaTypes(root, resolveRef(root, ref), p, depth+1)
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if branches, ok := s[k].([]any); ok {
			for _, b := range branches {
				schemaTypes(root, b, p, depth+1)
			}
		}
	}
}

func resolveRef(root map[string]any, ref string) any {
	var node any = root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[part]
	}
	return node
}

// queryAndPathParameters collects the names of every query and path
// parameter (headers keep HTTP's spelling).
func queryAndPathParameters(node any, where string, out map[string]string) {
	switch n := node.(type) {
	case map[string]any:
		if params, ok := n["parameters"].([]any); ok {
			for _, prm := range params {
				m, _ := prm.(map[string]any)
				if in, _ := m["in"].(string); in == "query" || in == "path" {
					if name, ok := m["name"].(string); ok {
						out[name] = where
					}
				}
			}
		}
		for k, v := range n {
			queryAndPathParameters(v, strings.TrimPrefix(where+"/"+k, "/"), out)
		}
	case []any:
		for i, v := range n {
			queryAndPathParameters(v, fmt.Sprintf("%s[%d]", where, i), out)
		}
	}
}

func TestFieldNamesFollowTheScheme(t *testing.T) {
	var root map[string]any
	if err := yaml.Unmarshal(OpenAPI(), &root); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	var props []fieldProperty
	schemaProperties(root, root, "", &props)
	if len(props) < 300 {
		t.Fatalf("only %d properties found in openapi.yaml: the walk is broken", len(props))
	}
	sort.Slice(props, func(i, j int) bool {
		if props[i].where != props[j].where {
			return props[i].where < props[j].where
		}
		return props[i].name < props[j].name
	})
	used := map[string]map[string]bool{}
	for _, p := range props {
		for _, rule := range p.brokenRules() {
			if _, ok := fieldNameExceptions[p.name][rule]; ok {
				if used[p.name] == nil {
					used[p.name] = map[string]bool{}
				}
				used[p.name][rule] = true
				continue
			}
			t.Errorf("%s: property %q breaks the field-name rule %s (docs/api.md#field-names); rename it, "+
				"or list it as an exception there and in fieldNameExceptions", p.where, p.name, rule)
		}
	}
	for name, rules := range fieldNameExceptions {
		for rule := range rules {
			if !used[name][rule] {
				t.Errorf("exception %q (%s) no longer occurs in openapi.yaml: remove it here and from docs/api.md", name, rule)
			}
		}
	}
	params := map[string]string{}
	queryAndPathParameters(root, "", params)
	for name, where := range params {
		if !snakeCase.MatchString(name) {
			t.Errorf("%s: parameter %q is not snake_case", where, name)
		}
	}
}

// The rules themselves: a few names each rule refuses and lets through.
func TestFieldNameRules(t *testing.T) {
	for _, c := range []struct {
		p    fieldProperty
		want []string
	}{
		{fieldProperty{where: "components/schemas/Referral", name: "case_number", types: []string{"string"}}, nil},
		{fieldProperty{where: "components/schemas/Referral", name: "caseId", types: []string{"string"}}, []string{ruleSnakeCase}},
		{fieldProperty{where: "components/schemas/Referral", name: "agency_ID", types: []string{"string"}}, []string{ruleSnakeCase}},
		{fieldProperty{where: "components/schemas/Referral", name: "number", types: []string{"string"}}, []string{ruleCaseNumber}},
		{fieldProperty{where: "components/schemas/Case", name: "number", types: []string{"string"}}, nil},
		{fieldProperty{where: "components/schemas/Case", name: "case_number", types: []string{"string"}}, []string{ruleCaseNumber}},
		{fieldProperty{where: "components/schemas/Event", name: "at", types: []string{"string"}, formats: []string{"date-time"}}, nil},
		{fieldProperty{where: "x", name: "due_at", types: []string{"string", "null"}, formats: []string{"date-time"}}, nil},
		{fieldProperty{where: "x", name: "deadline", types: []string{"string"}, formats: []string{"date-time"}}, []string{ruleInstant}},
		{fieldProperty{where: "x", name: "opened_at", types: []string{"string"}, formats: []string{"date"}}, []string{ruleAtIsTime}},
		{fieldProperty{where: "x", name: "birth_date", types: []string{"string"}, formats: []string{"date"}}, nil},
		{fieldProperty{where: "x", name: "is_urgent", types: []string{"boolean"}}, []string{ruleBoolean}},
		{fieldProperty{where: "x", name: "urgent", types: []string{"boolean"}}, nil},
		{fieldProperty{where: "x", name: "referral", types: []string{"array"}}, []string{ruleList}},
		{fieldProperty{where: "x", name: "referrals", types: []string{"array"}}, nil},
	} {
		if got := c.p.brokenRules(); !slices.Equal(got, c.want) {
			t.Errorf("%s %q: breaks %v, want %v", c.p.where, c.p.name, got, c.want)
		}
	}
}
