package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/config"
	"github.com/nrm-tm/nrm/internal/demo"
)

// setup reads the configuration and builds the JSON logger; exit code 2 on bad flags.
func setup(name string, args []string, stderr io.Writer) (*config.Config, []string, *slog.Logger, int) {
	cfg, rest, err := config.Load(name, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil, nil, 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nrm %s: %v\n", name, err)
		return nil, nil, nil, 2
	}
	level, _ := config.ParseLevel(cfg.LogLevel)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	return cfg, rest, log, -1
}

func fail(log *slog.Logger, msg string, err error) int {
	log.Error(msg, "error", err.Error())
	return 1
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, _, log, code := setup("dev", args, stderr)
	if code >= 0 {
		return code
	}
	// /readyz answers 503 until the demo users exist with their password,
	// so that a script that waits for readiness can sign in at once.
	sys, err := app.Start(ctx, cfg, log, app.Parts{EmbeddedTemporal: true, Migrate: true, Worker: true, API: true, Reconciler: true,
		LogNotifications: true, HoldReady: true})
	if err != nil {
		return fail(log, "nrm dev could not start", err)
	}
	defer sys.Stop()
	seeded := demo.Result{}
	if !cfg.NoDemo {
		if seeded, err = demo.Seed(ctx, sys.Store, cfg.DemoPassword); err != nil {
			return fail(log, "demo data", err)
		}
	}
	sys.MarkReady()
	printBanner(stdout, sys, seeded)
	return waitForStop(ctx, sys, log)
}

func printBanner(w io.Writer, sys *app.System, seeded demo.Result) {
	fmt.Fprintf(w, "\nNRM is running (development mode)\n")
	fmt.Fprintf(w, "  Web UI:     http://%s/   (sign in with a demo login below; ?lang=tk, ru or en)\n", sys.APIAddr)
	fmt.Fprintf(w, "  API:        http://%s/api/v1   (OpenAPI: http://%s/api/openapi.yaml)\n", sys.APIAddr, sys.APIAddr)
	fmt.Fprintf(w, "  Temporal:   %s  namespace %q  (temporal workflow list --address %s --namespace %s)\n",
		sys.Dev.HostPort(), sys.Config.TemporalNamespace, sys.Dev.HostPort(), sys.Config.TemporalNamespace)
	fmt.Fprintf(w, "  Data:       %s (Temporal), %s (PostgreSQL)\n", sys.Config.DataDir, redactURL(sys.Config.DatabaseURL))
	if sys.Config.NoDemo {
		fmt.Fprintf(w, "  Demo data:  off (--no-demo)\n\n")
		return
	}
	fmt.Fprintf(w, "\nDemo logins:\n")
	for _, u := range demo.Users {
		fmt.Fprintf(w, "  %-34s %-20s %s\n", u.Email, u.Role, u.Agency)
	}
	switch {
	case seeded.Generated:
		fmt.Fprintf(w, "\n  Password for all demo users: %s\n  (shown once; set NRM_DEMO_PASSWORD to choose or reset it)\n\n", seeded.Password)
	case seeded.Password != "":
		fmt.Fprintf(w, "\n  Password for all demo users: from NRM_DEMO_PASSWORD\n\n")
	default:
		fmt.Fprintf(w, "\n  Password: as printed at first start (set NRM_DEMO_PASSWORD to reset it)\n\n")
	}
}

func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
			creds := u[scheme+3 : at]
			if user, _, ok := strings.Cut(creds, ":"); ok {
				return u[:scheme+3] + user + ":***" + u[at:]
			}
		}
	}
	return u
}

// waitForStop blocks until SIGINT/SIGTERM or the HTTP server failing.
func waitForStop(ctx context.Context, sys *app.System, log *slog.Logger) int {
	var apiErr <-chan error
	if sys.API != nil {
		apiErr = sys.APIFailed()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return 0
	case err := <-apiErr:
		return fail(log, "HTTP server stopped", err)
	}
}

func runServe(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, _, log, code := setup("serve", args, stderr)
	if code >= 0 {
		return code
	}
	sys, err := app.Start(ctx, cfg, log, app.Parts{API: true})
	if err != nil {
		return fail(log, "nrm serve could not start", err)
	}
	defer sys.Stop()
	log.Info("API listening", "addr", sys.APIAddr, "version", version)
	return waitForStop(ctx, sys, log)
}

func runWorker(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, _, log, code := setup("worker", args, stderr)
	if code >= 0 {
		return code
	}
	sys, err := app.Start(ctx, cfg, log, app.Parts{Worker: true, Reconciler: true})
	if err != nil {
		return fail(log, "nrm worker could not start", err)
	}
	defer sys.Stop()
	if cfg.HealthAddr != "" {
		stopHealth, err := sys.ServeHealth(cfg.HealthAddr)
		if err != nil {
			return fail(log, "health listener", err)
		}
		defer stopHealth()
	}
	log.Info("worker running", "task_queue", cfg.TaskQueue, "version", version)
	return waitForStop(ctx, sys, log)
}

func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, _, log, code := setup("reconcile", args, stderr)
	if code >= 0 {
		return code
	}
	sys, err := app.Start(ctx, cfg, log, app.Parts{})
	if err != nil {
		return fail(log, "nrm reconcile could not start", err)
	}
	defer sys.Stop()
	n, err := sys.Cases.Reconcile(ctx)
	if err != nil {
		return fail(log, "reconcile", err)
	}
	fmt.Fprintf(stdout, "started %d case workflows\n", n)
	indexed, failed, err := sys.Cases.Reindex(ctx)
	if err != nil {
		return fail(log, "reindex", err)
	}
	fmt.Fprintf(stdout, "recomputed the blind indexes of %d cases\n", indexed)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d cases could not be opened with the configured master keys: run again with the key that wraps them\n", failed)
		return 1
	}
	return 0
}

func runHealthcheck(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 1 || !(strings.HasPrefix(args[0], "http://") || strings.HasPrefix(args[0], "https://")) {
		fmt.Fprintln(stderr, "usage: nrm healthcheck http://host:port/path")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "healthcheck: %s answered %d\n", args[0], resp.StatusCode)
		return 1
	}
	return 0
}
