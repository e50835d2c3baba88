package api

import "testing"

// TestAuditCoversEveryCommand: the routes exempt from the command audit
// (they audit themselves) are real routes — a renamed route must not drop
// out of the audit unnoticed — and reads are not audited as commands.
func TestAuditCoversEveryCommand(t *testing.T) {
	served := map[string]bool{}
	byMiddleware := 0
	for _, r := range (&Server{}).routes() {
		served[r.Method+" "+r.Path] = true
		if audited(r) {
			byMiddleware++
		}
		if r.Method == "GET" && audited(r) {
			t.Errorf("%s %s: a read audited as a command", r.Method, r.Path)
		}
	}
	for k := range selfAudited {
		if !served[k] {
			t.Errorf("selfAudited names %s, which is not a route", k)
		}
	}
	if byMiddleware < 15 {
		t.Errorf("only %d routes audited by the middleware", byMiddleware)
	}
}
