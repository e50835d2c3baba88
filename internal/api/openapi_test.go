package api

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// openAPIDoc is the part of openapi.yaml these tests read.
type openAPIDoc struct {
	OpenAPI string                                 `yaml:"openapi"`
	Paths   map[string]map[string]openAPIOperation `yaml:"paths"`
	Hooks   map[string]map[string]openAPIOperation `yaml:"webhooks"`
}

type openAPIOperation struct {
	OperationID string           `yaml:"operationId"`
	Parameters  []map[string]any `yaml:"parameters"`
	Responses   map[string]any   `yaml:"responses"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes fails when a route is served but not documented,
// or documented but not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			if len(op.Responses) == 0 {
				t.Errorf("%s %s documents no responses", method, path)
			}
		}
	}
	served := map[string]bool{}
	for _, r := range (&Server{}).routes() {
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	for _, k := range sorted(served) {
		if !documented[k] {
			t.Errorf("route %s is served but not in openapi.yaml", k)
		}
	}
	for _, k := range sorted(documented) {
		if !served[k] {
			t.Errorf("openapi.yaml documents %s, which is not served", k)
		}
	}
}

var routeParam = regexp.MustCompile(`:([a-z_]+)`)

// openAPIPath is a Fiber route path in OpenAPI's template syntax.
func openAPIPath(p string) string { return routeParam.ReplaceAllString(p, "{$1}") }

// TestOpenAPIOperationsAreComplete checks what the linters cannot know:
// every operation has a stable camelCase operationId, lists each response
// by status (OAS 3.1 allows no $ref in place of the responses object), and
// documents the statuses that the middleware in front of its handler
// (routes.go, server.go, limits.go, idempotency.go) can answer.
// TestContractOpenAPI (internal/app) checks the answers themselves.
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]string{}
	camel := regexp.MustCompile(`^[a-z][A-Za-z0-9]*$`)
	status := regexp.MustCompile(`^[1-5][0-9X]{2}$`)
	for _, ops := range []map[string]map[string]openAPIOperation{doc.Paths, doc.Hooks} {
		for path, item := range ops {
			for method, op := range item {
				name := strings.ToUpper(method) + " " + path
				switch {
				case !camel.MatchString(op.OperationID):
					t.Errorf("%s: operationId %q is not camelCase", name, op.OperationID)
				case ids[op.OperationID] != "":
					t.Errorf("%s: operationId %s is also %s's", name, op.OperationID, ids[op.OperationID])
				}
				ids[op.OperationID] = name
				for code := range op.Responses {
					if !status.MatchString(code) {
						t.Errorf("%s: responses holds %q, not a status code", name, code)
					}
				}
			}
		}
	}

	for _, r := range (&Server{}).routes() {
		path := openAPIPath(r.Path)
		op, ok := doc.Paths[path][strings.ToLower(r.Method)]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		unsafe := unsafeMethod(r.Method)
		post := r.Method == "POST"
		want := []string{
			"400", // withSaneInput: a path or query that is not UTF-8, on every route
			"500",
		}
		if r.Access != public {
			want = append(want, "401", "429") // authorize; userLimiter
		}
		if r.Access == roles || (r.Access == signedIn && unsafe) {
			want = append(want, "403") // the role; a cookie session's CSRF check
		}
		if unsafe {
			want = append(want, "413") // the body limit
		}
		if post && r.Access != public {
			want = append(want, "409", "422") // idempotent: a key still running, reused or malformed
		}
		if strings.Contains(path, "{") {
			want = append(want, "404")
		}
		for _, code := range want {
			if _, ok := op.Responses[code]; !ok {
				t.Errorf("%s %s: status %s is not documented", r.Method, path, code)
			}
		}
		if post && r.Access != public && !hasParameter(op, "IdempotencyKey") {
			t.Errorf("%s %s: the Idempotency-Key header is honoured but not documented", r.Method, path)
		}
	}
}

func hasParameter(op openAPIOperation, component string) bool {
	for _, p := range op.Parameters {
		if fmt.Sprint(p["$ref"]) == "#/components/parameters/"+component {
			return true
		}
	}
	return false
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
