package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status" && args[0] != "wait") {
		fmt.Fprintln(stderr, "usage: nrm migrate up|status|wait [flags]")
		return 2
	}
	if args[0] == "wait" {
		return runMigrateWait(ctx, args[1:], stdout, stderr)
	}
	cfg, _, log, code := setup("migrate "+args[0], args[1:], stderr)
	if code >= 0 {
		return code
	}
	if args[0] == "up" {
		if err := store.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
			return fail(log, "migrate", err)
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "migrate", err)
	}
	defer st.Close()
	if args[0] == "up" {
		done, err := st.Migrate(ctx)
		if err != nil {
			return fail(log, "migrate up", err)
		}
		for _, m := range done {
			fmt.Fprintf(stdout, "applied %04d_%s\n", m.Version, m.Name)
		}
		fmt.Fprintf(stdout, "database is up to date (%d applied now)\n", len(done))
		return 0
	}
	list, err := st.MigrationStatus(ctx)
	if err != nil {
		return fail(log, "migrate status", err)
	}
	for _, m := range list {
		state := "pending"
		if m.AppliedAt != nil {
			state = "applied " + m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(stdout, "%04d_%-30s %s\n", m.Version, m.Name, state)
	}
	return 0
}

func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: nrm user add --email E --name N --role R --agency AGENCY_ID_OR_NAME")
		return 2
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "e-mail address (login)")
	name := fs.String("name", "", "full name")
	role := fs.String("role", "", "frontline, competent_authority, supervisor, provider, twg or admin")
	agency := fs.String("agency", "", "agency ID or exact name")
	// Common flags (database URL, log level) come after the user flags.
	cfgArgs := splitCommonFlags(args[1:])
	if err := fs.Parse(cfgArgs.own); err != nil {
		return 2
	}
	cfg, _, log, code := setup("user add", cfgArgs.common, stderr)
	if code >= 0 {
		return code
	}
	r, err := auth.ParseRole(*role)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	if !strings.Contains(*email, "@") || len(*email) > 254 {
		problems = append(problems, "--email must be an e-mail address")
	}
	if strings.TrimSpace(*name) == "" {
		problems = append(problems, "--name is required")
	}
	if *agency == "" {
		problems = append(problems, "--agency is required")
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "nrm user add: %s\n", strings.Join(problems, "; "))
		return 2
	}
	password := os.Getenv("NRM_NEW_USER_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fail(log, "read password", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "user add", err)
	}
	defer st.Close()
	var ag *store.Agency
	if id, perr := uuid.Parse(*agency); perr == nil {
		ag, err = st.Agency(ctx, id)
	} else {
		ag, err = st.AgencyByName(ctx, *agency)
	}
	if err != nil {
		fmt.Fprintf(stderr, "nrm user add: agency %q not found\n", *agency)
		return 1
	}
	dir := &directory.Service{Store: st}
	u, err := dir.AddUser(ctx, directory.NewUser{Email: *email, Name: *name, Password: password, Role: r, AgencyID: ag.ID})
	var fe *directory.FieldError
	if errors.As(err, &fe) {
		fmt.Fprintf(stderr, "nrm user add: --%s: %v\n", cliFlagOf(fe.Field), fe.Err)
		return 2
	}
	if err != nil {
		return fail(log, "user add", err)
	}
	fmt.Fprintf(stdout, "created user %s (%s, %s)\n", u.ID, r, ag.Name)
	return 0
}

// cliFlagOf is the flag of `nrm user add` that sets a directory field.
func cliFlagOf(field string) string {
	switch field {
	case "agency_id":
		return "agency"
	case "password":
		return "password (stdin or NRM_NEW_USER_PASSWORD)"
	}
	return field
}

type splitArgs struct{ own, common []string }

// splitCommonFlags separates the user flags from the configuration flags.
func splitCommonFlags(args []string) splitArgs {
	own := map[string]bool{"email": true, "name": true, "role": true, "agency": true}
	var out splitArgs
	for i := 0; i < len(args); i++ {
		name := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(name, "=")
		target := &out.common
		if own[name] {
			target = &out.own
		}
		*target = append(*target, args[i])
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			*target = append(*target, args[i+1])
			i++
		}
	}
	return out
}

// runMigrateWait waits until the database is reachable and every migration
// of this binary is applied: the init container of the Kubernetes
// Deployments, so that `kubectl apply -k` does not start serve and worker
// before the migration Job has finished (they would exit and back off).
func runMigrateWait(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long (exit 1)")
	parts := splitFlags(args, []string{"timeout"}, nil)
	if err := fs.Parse(parts.own); err != nil {
		return 2
	}
	cfg, _, log, code := setup("migrate wait", parts.common, stderr)
	if code >= 0 {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	last := ""
	for {
		pending, err := pendingMigrations(ctx, cfg.DatabaseURL)
		switch {
		case err == nil && pending == 0:
			fmt.Fprintln(stdout, "database is up to date")
			return 0
		case err != nil:
			if msg := err.Error(); msg != last {
				log.Info("waiting for the database", "error", msg)
				last = msg
			}
		default:
			if msg := fmt.Sprintf("%d pending", pending); msg != last {
				log.Info("waiting for the migrations (nrm migrate up)", "pending", pending)
				last = msg
			}
		}
		select {
		case <-ctx.Done():
			return fail(log, "migrate wait", fmt.Errorf("the database is not up to date after %s", *timeout))
		case <-time.After(2 * time.Second):
		}
	}
}

func pendingMigrations(ctx context.Context, databaseURL string) (int, error) {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.Pending(ctx)
}
