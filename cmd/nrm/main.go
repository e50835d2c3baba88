// Command nrm runs the national referral mechanism: `nrm dev` for everything
// on one machine, `nrm serve` and `nrm worker` in production.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=..."; the
// Dockerfile's NRM_VERSION).
var version = "dev"

const usage = `usage: nrm <command> [flags]

commands:
  dev                 everything in one process: embedded Temporal, migrations, demo data, worker, API
  serve               the HTTP API (needs an external Temporal cluster)
  worker              the Temporal worker and the case reconciler
  migrate up|status   apply or list PostgreSQL migrations
  agency add          create an agency (the first one, for the first administrator)
  user add            create a user (password from stdin or NRM_NEW_USER_PASSWORD)
  sop validate|show|diff   check, show and compare SOP files
  sop simulate        compliance of the recorded history under another SOP version's deadlines
  seed synthetic      write a synthetic history into the read model (demos, benchmarks)
  keys rotate         re-wrap every case key under a new master key
  audit verify        check the audit log's hash chain (exit 1 and the entry ID when broken)
  reconcile           start the workflows of cases recorded without one and
                      recompute outdated blind indexes, once
  load                measure a running deployment: case openings beside bare
                      workflows, then case reads (opens synthetic cases: for
                      development or staging only)
  healthcheck URL     exit 0 when URL answers 200 (for container health checks)
  version             print the version this binary was built as

Run "nrm <command> -h" for the flags of a command; every flag also reads the
environment variable named beside it.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stderr)
	case "worker":
		return runWorker(ctx, rest, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "agency":
		return runAgency(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdin, stdout, stderr)
	case "sop":
		if len(rest) > 0 && rest[0] == "simulate" {
			return runSimulate(ctx, rest[1:], stdout, stderr)
		}
		return sopCommand(rest, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, stdout, stderr)
	case "reconcile":
		return runReconcile(ctx, rest, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "load":
		return runLoad(ctx, rest, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, rest, stderr)
	case "version":
		fmt.Fprintf(stdout, "nrm %s\n", version)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "nrm: unknown command %q\n\n%s", cmd, usage)
	return 2
}
