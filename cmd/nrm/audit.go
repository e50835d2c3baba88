package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nrm-tm/nrm/internal/store"
)

const auditUsage = "usage: nrm audit verify [flags]"

// runAudit implements `nrm audit verify`: recompute the audit log's hash
// chain. Exit 0 when it is intact, 1 when it is broken (or cannot be read),
// 2 on bad usage.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, auditUsage)
			return 0
		}
		fmt.Fprintln(stderr, auditUsage)
		return 2
	}
	cfg, rest, log, code := setup("audit verify", args[1:], stderr)
	if code >= 0 {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "nrm audit verify: unexpected arguments %q\n%s\n", rest, auditUsage)
		return 2
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "audit verify", err)
	}
	defer st.Close()
	n, err := st.VerifyAudit(ctx)
	var broken *store.AuditBrokenError
	switch {
	case errors.As(err, &broken):
		fmt.Fprintln(stdout, broken.Error())
		return 1
	case err != nil:
		return fail(log, "audit verify", err)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries\n", n)
	return 0
}
