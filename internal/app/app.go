// Package app wires NRM's parts into the processes the nrm binary runs:
// `dev` (everything in one process), `serve` (API) and `worker`.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/gofiber/fiber/v2"
	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/attachments"
	"github.com/nrm-tm/nrm/internal/audit"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/config"
	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/devtemporal"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/metrics"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/reports"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/web"
)

// System is a running set of NRM parts. Fields are nil for parts a process does not run.
type System struct {
	Config   *config.Config
	Log      *slog.Logger
	Store    *store.Store
	SOPs     *sop.Set
	Keys     *crypto.Keyring
	Vault    *identity.Vault
	Temporal client.Client
	Dev      *devtemporal.Server
	Worker   worker.Worker
	Cases    *cases.Service
	API      *api.Server
	// Metrics are this process's Prometheus metrics (API's /metrics, the
	// worker's health listener).
	Metrics *metrics.Registry
	// APIAddr is where the API listens once started.
	APIAddr string

	apiDone chan error
	stops   []func()
	// webhooks is what the API checks new webhook channels against and
	// the dispatcher every connection.
	webhooks *notify.WebhookPolicy

	// Readiness (ready.go): started is set once the process's own start-up
	// is done (MarkReady), stopping once Stop began; workerFailed holds the
	// worker's fatal error; polling is set once Temporal has seen this
	// process's worker poll its task queue.
	started, stopping, polling atomic.Bool
	workerFailed               atomic.Pointer[error]
	// identity names this process to Temporal (its worker's pollers).
	identity string
}

// Parts chooses what Start runs.
type Parts struct {
	EmbeddedTemporal bool // start the dev server under cfg.DataDir
	Migrate          bool // create the database if missing and migrate
	Worker           bool
	API              bool
	Reconciler       bool
	// LogNotifications also writes each delivered notification to the log (nrm dev).
	LogNotifications bool
	// TemporalDynamicConfig overrides settings of the embedded server (tests only).
	TemporalDynamicConfig map[string]any
	// HoldReady keeps /readyz at 503 after Start until the caller's own
	// start-up is done and it calls MarkReady (`nrm dev` creates the demo
	// users first).
	HoldReady bool
}

// Start brings the chosen parts up in dependency order. On error, whatever
// started is stopped again.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger, parts Parts) (_ *System, err error) {
	sys := &System{Config: cfg, Log: log, Metrics: metrics.New(), identity: processIdentity()}
	// `nrm dev` runs beside its receivers, so loopback is let through there.
	sys.webhooks = &notify.WebhookPolicy{AllowLoopback: parts.EmbeddedTemporal,
		AllowNets: cfg.WebhookAllow.Nets, AllowTargets: cfg.WebhookAllow.Targets}
	defer func() {
		if err != nil {
			sys.Stop()
		}
	}()
	if sys.SOPs, err = sop.LoadPath(cfg.SOPPath); err != nil {
		return nil, fmt.Errorf("load SOPs from %s: %w", cfg.SOPPath, err)
	}
	if err := sys.openStore(ctx, parts.Migrate); err != nil {
		return nil, err
	}
	if err := sys.Metrics.RegisterDB(sys.Store.DB().DB); err != nil {
		return nil, err
	}
	if err := sys.checkSOPs(ctx); err != nil {
		return nil, err
	}
	if sys.Keys, err = LoadKeyring(cfg, parts.EmbeddedTemporal); err != nil {
		return nil, err
	}
	sys.Vault = &identity.Vault{Store: sys.Store, Keys: sys.Keys}
	hostPort := cfg.TemporalAddress
	if parts.EmbeddedTemporal {
		opts := devtemporal.Options{
			DatabaseFile:     filepath.Join(cfg.DataDir, "temporal.sqlite"),
			Addr:             cfg.TemporalAddr,
			Namespace:        cfg.TemporalNamespace,
			SearchAttributes: SearchAttributes,
			Logger:           quietTemporal(log),
			DynamicConfig:    parts.TemporalDynamicConfig,
		}
		dev, err := devtemporal.Start(opts)
		// The embedded server's internal ports are picked at random and
		// bound a moment later; another process may take one in between
		// (seen when `nrm dev` restarts after a kill -9 on a busy
		// machine). Picking again is all it takes.
		for attempt := 1; err != nil && strings.Contains(err.Error(), "address already in use") && attempt < 3; attempt++ {
			log.Warn("embedded Temporal: a port was taken meanwhile; starting again", "error", err.Error())
			dev, err = devtemporal.Start(opts)
		}
		if err != nil {
			return nil, err
		}
		sys.Dev = dev
		sys.stops = append(sys.stops, func() { dev.Stop() })
		hostPort = dev.HostPort()
	}
	if sys.Temporal, err = dialTemporal(cfg, hostPort, sys.Keys, quietTemporal(log), sys.Metrics.Temporal(), sys.identity); err != nil {
		return nil, err
	}
	sys.stops = append(sys.stops, sys.Temporal.Close)
	sys.Cases = &cases.Service{Store: sys.Store, Temporal: sys.Temporal, TaskQueue: cfg.TaskQueue, SOPs: sys.SOPs,
		Vault: sys.Vault, Regions: cfg.Regions, Prefix: cfg.CasePrefix, Log: log}
	// The cases' files: where new ones go (NRM_ATTACHMENTS) and where earlier
	// ones may be; PostgreSQL always among them.
	if sys.Cases.Attachments, err = attachments.Open(cfg.Attachments, sys.Store,
		attachments.Credentials{AccessKeyID: cfg.S3AccessKeyID, SecretAccessKey: cfg.S3SecretAccessKey}); err != nil {
		return nil, err
	}
	sys.Cases.AttachmentMax = cfg.AttachmentMax
	if parts.Worker {
		// Process-wide, read when the first worker starts: the cache holds
		// each recently active case's workflow so that its next step need
		// not replay its history, and its size bounds the worker's memory.
		worker.SetStickyWorkflowCacheSize(cfg.WorkflowCache)
		sys.Worker = newWorker(sys.Temporal, cfg.TaskQueue, sys.Store, sys.SOPs, sys.Vault, sys.workerOptions())
		if err := sys.Worker.Start(); err != nil {
			return nil, fmt.Errorf("start worker: %w", err)
		}
		sys.stops = append(sys.stops, sys.Worker.Stop)
		sys.startDispatcher(ctx, parts.LogNotifications)
		sys.startHousekeeping(ctx)
	}
	if parts.Reconciler {
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); sys.Cases.ReconcileLoop(rctx, 30*time.Second) }()
		sys.stops = append(sys.stops, func() { cancel(); <-done })
	}
	if parts.API {
		if err := sys.startAPI(cfg); err != nil {
			return nil, err
		}
	}
	if !parts.HoldReady {
		sys.MarkReady()
	}
	return sys, nil
}

func (s *System) openStore(ctx context.Context, migrate bool) error {
	if migrate {
		if err := store.EnsureDatabase(ctx, s.Config.DatabaseURL); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, s.Config.DatabaseURL)
	if err != nil {
		return err
	}
	s.Store = st
	s.stops = append(s.stops, func() { st.Close() })
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			return err
		}
		return nil
	}
	pending, err := st.Pending(ctx)
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("the database has %d pending migrations: run `nrm migrate up` first", pending)
	}
	return nil
}

// checkSOPs refuses to start when a file changed under a version cases use.
func (s *System) checkSOPs(ctx context.Context) error {
	var errs []error
	for _, p := range s.SOPs.All() {
		if err := s.Store.CheckSOP(ctx, p.ID, p.Version, p.Hash); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w; publish the change as a new version instead", p.File, err))
		}
	}
	return errors.Join(errs...)
}

func (s *System) startAPI(cfg *config.Config) error {
	// One bound on password hashing for the whole process: each hash holds 64 MiB.
	auth.SetHashGate(auth.NewHashGate(cfg.HashConcurrency, auth.HashWait))
	sessions := &auth.Sessions{Store: s.Store, Idle: cfg.SessionIdle, Max: cfg.SessionMax}
	pages, err := web.New(s.Cases, s.Log, cfg.DefaultLanguage, api.ProblemOf)
	if err != nil {
		return err
	}
	// One instance of each service for the API and the pages.
	dir, inbox := &directory.Service{Store: s.Store}, &notify.Inbox{Store: s.Store}
	notifications := &notify.Admin{Store: s.Store, Keys: s.Keys, Webhooks: s.webhooks}
	pages.Directory, pages.Inbox, pages.Notifications, pages.Audit = dir, inbox, notifications, &audit.Service{Store: s.Store}
	pages.Reports = &reports.Service{Store: s.Store, SOPs: s.SOPs, Threshold: cfg.SuppressionThreshold, K: cfg.ExportK}
	pages.OfflineSecret = s.Keys.OfflineKey() // offline screenings' keys, derived from it per user with HKDF (web/offline.go)
	s.API = api.New(api.Deps{Store: s.Store, Sessions: sessions, Cases: s.Cases, Directory: dir, Inbox: inbox,
		Notifications: notifications, TrustedProxies: cfg.TrustedProxies, Temporal: s.Temporal, Log: s.Log, BodyLimit: cfg.BodyLimit,
		Codec: crypto.NewPayloadCodec(s.Keys), CSRFKey: s.Keys.CSRFKey(), Limits: api.Limits{LoginPerMinute: cfg.LoginRate, UserPerMinute: cfg.UserRate},
		Reports: pages.Reports, Ready: s.Readiness,
		Metrics: s.Metrics, MetricsToken: cfg.MetricsToken, Keys: s.Keys, Webhooks: s.webhooks,
		Pages: func(r fiber.Router, srv *api.Server) { pages.Mount(r, srv) }})
	// The read-model gauges are the same whichever process reports them:
	// only the API's processes do, so the worker's scrapes query nothing.
	if err := s.Metrics.RegisterReadModel(s.Store, s.Log); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s.APIAddr = ln.Addr().String()
	// The TWG's dashboard is built ahead in each API process (web/twgcache.go).
	wctx, cancelWarm := context.WithCancel(context.Background())
	warmed := make(chan struct{})
	go func() { defer close(warmed); pages.KeepTWGWarm(wctx) }()
	s.stops = append(s.stops, func() { cancelWarm(); <-warmed })
	s.apiDone = make(chan error, 1)
	go func() { s.apiDone <- s.API.App().Listener(ln) }()
	s.stops = append(s.stops, func() {
		// Requests in flight finish (bounded); new connections are refused.
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		defer cancel()
		if err := s.API.Shutdown(ctx); err != nil {
			s.Log.Warn("HTTP requests still running at shutdown were cut", "error", err.Error())
		}
		<-s.apiDone
	})
	return nil
}

// APIFailed delivers an error if the HTTP server stops by itself.
func (s *System) APIFailed() <-chan error { return s.apiDone }

// Stop stops every part in reverse order of start: the API first (its
// requests in flight finish), then the loops, the worker (its activities in
// flight finish), the Temporal client and the database. /readyz answers 503
// from the start.
func (s *System) Stop() {
	s.stopping.Store(true)
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// ServeHealth serves /healthz, /readyz and /metrics for processes without
// the API (the worker). The listener is internal (a pod or compose
// network port), so /metrics needs no token there.
func (s *System) ServeHealth(addr string) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks, ok := s.Readiness(ctx)
		body := map[string]any{"status": "ready", "checks": checks}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			body["status"] = "unavailable"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(body)
	})
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.Handler())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health listener %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// quietTemporal keeps the embedded server's and SDK's info chatter out of
// the operator's log; warnings and errors still show.
func quietTemporal(log *slog.Logger) *slog.Logger {
	return slog.New(minLevel{h: log.Handler(), min: slog.LevelWarn})
}

type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(a), min: m.min}
}
func (m minLevel) WithGroup(n string) slog.Handler { return minLevel{h: m.h.WithGroup(n), min: m.min} }

// LoadKeyring reads the master key (and the one being rotated away from).
// `nrm dev` generates a key into its data directory on first start; every
// other process refuses to run without one.
func LoadKeyring(cfg *config.Config, dev bool) (*crypto.Keyring, error) {
	current, err := crypto.LoadMasterKey(cfg.MasterKey, cfg.MasterKeyFile)
	if errors.Is(err, crypto.ErrNoMasterKey) && dev {
		current, err = crypto.GenerateMasterKeyFile(filepath.Join(cfg.DataDir, "master.key"))
	}
	if errors.Is(err, crypto.ErrNoMasterKey) {
		return nil, fmt.Errorf("no master key: set NRM_MASTER_KEY_FILE (or NRM_MASTER_KEY); identity data cannot be stored without one")
	}
	if err != nil {
		return nil, err
	}
	var older []crypto.MasterKey
	if cfg.PreviousKeyFile != "" {
		prev, err := crypto.LoadMasterKey("", cfg.PreviousKeyFile)
		if err != nil {
			return nil, fmt.Errorf("NRM_PREVIOUS_KEY_FILE: %w", err)
		}
		older = append(older, prev)
	}
	return crypto.NewKeyring(current, older...)
}

// startDispatcher delivers the notification outbox through the agencies' channels.
func (s *System) startDispatcher(ctx context.Context, logDeliveries bool) {
	cfg := s.Config
	d := &notify.Dispatcher{Store: s.Store, Keys: s.Keys, PublicURL: cfg.PublicURL, Log: s.Log, Webhooks: s.webhooks,
		SMTP: notify.SMTP{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, User: cfg.SMTPUser, Password: cfg.SMTPPassword}}
	if logDeliveries {
		d.Channels = []notify.Channel{notify.LogChannel{Log: s.Log}}
	}
	nctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); d.Run(nctx) }()
	s.stops = append(s.stops, func() { cancel(); <-done })
}
