package testenv

import (
	"testing"

	"github.com/nrm-tm/nrm/internal/store"
)

// AuditRows reads the audit log, oldest first, for tests that check what an
// action recorded.
func AuditRows(tb testing.TB, st *store.Store) []store.AuditEntry {
	tb.Helper()
	var rows []store.AuditEntry
	Must(tb, st.DB().Select(&rows, `SELECT at, user_id, role, agency_id, action, case_id, fields, request_id,
		COALESCE(client_request_id, '') AS client_request_id FROM audit_log ORDER BY id`))
	return rows
}
