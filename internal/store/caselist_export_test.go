package store

// What the external plan test (caselist_plan_test.go) reads of the list
// queries.
var (
	CaseListSQL    = caseListSQL
	InboxSQL       = inboxSQL
	PrefixRange    = prefixRange
	QKeysToReindex = qKeysToReindex
	QDuplicates    = qDuplicates
)
