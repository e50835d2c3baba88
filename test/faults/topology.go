package faults

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/nrm-tm/nrm/internal/app"
)

// Options size a run.
type Options struct {
	// Repo is the repository under test (its root).
	Repo string
	// Dir holds binaries, logs and keys of the run.
	Dir string
	// PostgresURL is the server the harness creates its roles and
	// databases on, as a superuser (trust on 127.0.0.1 here).
	PostgresURL string
	// HistoryShards overrides docker-compose.yml's NUM_HISTORY_SHARDS
	// (0 keeps it): shards cost start-up time on a small CI machine.
	HistoryShards int
	// SOP is the SOP file the processes run (deadlines in seconds, so that
	// obligations fall due during the run).
	SOP string
	// NRM is the nrm binary to run, built from the tree under test (Build
	// builds it when empty).
	NRM string
	// WorkerEnv adds variables to the nrm worker processes' environment
	// (NRM_WORKFLOW_CACHE, say).
	WorkerEnv map[string]string
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// BuildNRM builds ./cmd/nrm of the repository into dir.
func BuildNRM(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "nrm")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/nrm")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/nrm: %w\n%s", err, out)
	}
	return bin, nil
}

// Topology is the running production topology.
type Topology struct {
	opts    Options
	compose *Compose
	id      string
	vars    map[string]string

	// Databases and roles of the run (deploy/postgres/init.sql's, renamed).
	NRMDB, TemporalDB, VisibilityDB string
	NRMRole, TemporalRole           string
	// NRMURL is the NRM database as the NRM processes reach it.
	NRMURL string

	Bin struct{ NRM, NRMOther, Server, SQLTool string }

	Temporal     *Proc
	TemporalAddr string
	Namespace    *NamespaceSetup
	APIs         []*Proc
	Workers      []*Proc
	// APIURLs are the base URLs of the API processes (same order as APIs).
	APIURLs []string

	masterKey string
	env       struct{ api, worker, migrate []string }
	cleanups  []func()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// NewTopology reads the deploy files and names the run's databases.
func NewTopology(opts Options) (*Topology, error) {
	compose, err := ReadCompose(opts.Repo)
	if err != nil {
		return nil, err
	}
	t := &Topology{opts: opts, compose: compose, id: randomHex(4)}
	t.NRMDB, t.TemporalDB, t.VisibilityDB = "nrm_faults_"+t.id, "temporal_faults_"+t.id, "temporal_visibility_faults_"+t.id
	t.NRMRole, t.TemporalRole = "nrm_faults_"+t.id, "temporal_faults_"+t.id
	t.NRMURL = fmt.Sprintf("postgres://%s:%s@127.0.0.1:5432/%s?sslmode=disable", t.NRMRole, "x", t.NRMDB)
	// The variables an operator puts in .env (deploy/env.example).
	t.vars = map[string]string{
		"POSTGRES_PASSWORD":    randomHex(12),
		"NRM_DB_PASSWORD":      randomHex(12),
		"TEMPORAL_DB_PASSWORD": randomHex(12),
		"NRM_PUBLIC_URL":       "https://nrm.example.org",
		"NRM_METRICS_TOKEN":    randomHex(16),
	}
	t.NRMURL = fmt.Sprintf("postgres://%s:%s@127.0.0.1:5432/%s?sslmode=disable", t.NRMRole, t.vars["NRM_DB_PASSWORD"], t.NRMDB)
	if t.Namespace, err = ReadNamespaceSetup(opts.Repo, compose); err != nil {
		return nil, err
	}
	if err := checkSearchAttributes(t.Namespace); err != nil {
		return nil, err
	}
	return t, nil
}

// checkSearchAttributes: the set-up script creates exactly the attributes
// the workflows set (app.SearchAttributes), with their types.
func checkSearchAttributes(ns *NamespaceSetup) error {
	types := map[enumspb.IndexedValueType]string{enumspb.INDEXED_VALUE_TYPE_KEYWORD: "Keyword", enumspb.INDEXED_VALUE_TYPE_BOOL: "Bool",
		enumspb.INDEXED_VALUE_TYPE_TEXT: "Text", enumspb.INDEXED_VALUE_TYPE_INT: "Int", enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
		enumspb.INDEXED_VALUE_TYPE_DOUBLE: "Double", enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList"}
	var problems []string
	for name, typ := range app.SearchAttributes {
		if got := ns.SearchAttributes[name]; got != types[typ] {
			problems = append(problems, fmt.Sprintf("%s: the workflows set it as %s, setup-namespace.sh creates %q", name, types[typ], got))
		}
	}
	for name := range ns.SearchAttributes {
		if _, ok := app.SearchAttributes[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: created by setup-namespace.sh, set by no workflow", name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("search attributes: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (t *Topology) logf(format string, args ...any) {
	if t.opts.Logf != nil {
		t.opts.Logf(format, args...)
	}
}

func (t *Topology) path(name string) string { return filepath.Join(t.opts.Dir, name) }

// Build compiles nrm twice (the second build differs in its version string
// only: another binary, hence another worker build ID, of the same
// workflow code) and the Temporal server and schema tool of the version
// go.mod pins, from the Go build cache. The server Compose runs must be of
// the same minor version.
func (t *Topology) Build(ctx context.Context) error {
	composeVersion, err := t.compose.TemporalVersion()
	if err != nil {
		return err
	}
	pinned, err := ModuleVersion(t.opts.Repo, "go.temporal.io/server")
	if err != nil {
		return err
	}
	if !SameMinor(composeVersion, pinned) {
		return fmt.Errorf("docker-compose.yml runs Temporal %s but go.mod pins go.temporal.io/server %s: move them together (docs/architecture.md#versions-that-move-together)",
			composeVersion, pinned)
	}
	t.logf("building nrm (twice) and Temporal %s (docker-compose.yml: %s)", pinned, composeVersion)
	t.Bin.NRM, t.Bin.NRMOther = t.opts.NRM, t.path("nrm-other")
	if t.Bin.NRM == "" {
		if t.Bin.NRM, err = BuildNRM(ctx, t.opts.Repo, t.opts.Dir); err != nil {
			return err
		}
	}
	if err := t.goCmd(ctx, "build", "-ldflags", "-X main.version=faults-other-build", "-o", t.Bin.NRMOther, "./cmd/nrm"); err != nil {
		return err
	}
	if t.Bin.Server, err = t.goTool(ctx, "go.temporal.io/server/cmd/server", "temporal-server"); err != nil {
		return err
	}
	if t.Bin.SQLTool, err = t.goTool(ctx, "go.temporal.io/server/cmd/tools/sql", "temporal-sql-tool"); err != nil {
		return err
	}
	return nil
}

func (t *Topology) goCmd(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = t.opts.Repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// goTool answers the binary of a tool go.mod declares: `go tool -n` builds
// it into the Go build cache once and names the cached executable, so later
// runs do not link the Temporal server again. The binary is then linked
// into the run's directory under name (the schema script calls it so).
func (t *Topology) goTool(ctx context.Context, pkg, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", pkg)
	cmd.Dir = t.opts.Repo
	out, err := cmd.Output()
	dest := t.path(name)
	if err == nil {
		cached := strings.TrimSpace(string(out))
		if _, serr := os.Stat(cached); serr == nil {
			if err := os.Symlink(cached, dest); err == nil {
				return dest, nil
			}
		}
	}
	if err := t.goCmd(ctx, "build", "-o", dest, pkg); err != nil {
		return "", err
	}
	return dest, nil
}

// Databases creates the run's roles and databases with
// deploy/postgres/init.sql, renamed for the run (the machine's PostgreSQL
// serves others too), and drops them at Close.
func (t *Topology) Databases(ctx context.Context) error {
	data, err := os.ReadFile(filepath.Join(t.opts.Repo, "deploy", "postgres", "init.sql"))
	if err != nil {
		return err
	}
	sql := string(data)
	for _, r := range []struct{ from, to string }{
		{"temporal_visibility", t.VisibilityDB}, {"temporal", t.TemporalDB}, {"nrm", t.NRMDB},
	} {
		sql = regexp.MustCompile(`\b`+r.from+`\b`).ReplaceAllString(sql, r.to)
	}
	// Role and database share their name in init.sql (nrm, temporal); the
	// renamed ones do too, except the visibility database's owner.
	file := t.path("init.sql")
	if err := os.WriteFile(file, []byte(sql), 0o600); err != nil {
		return err
	}
	t.cleanups = append(t.cleanups, t.dropDatabases)
	env := append(os.Environ(), "NRM_DB_PASSWORD="+t.vars["NRM_DB_PASSWORD"], "TEMPORAL_DB_PASSWORD="+t.vars["TEMPORAL_DB_PASSWORD"])
	return RunOnce(ctx, t.path("setup.log"), "", env, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", t.opts.PostgresURL, "-f", file)
}

func (t *Topology) dropDatabases() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stmts []string
	for _, db := range []string{t.NRMDB, t.TemporalDB, t.VisibilityDB} {
		stmts = append(stmts, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE);`, db))
	}
	for _, role := range []string{t.NRMRole, t.TemporalRole} {
		stmts = append(stmts, fmt.Sprintf(`DROP ROLE IF EXISTS %s;`, role))
	}
	for _, s := range stmts {
		if err := RunOnce(ctx, t.path("setup.log"), "", os.Environ(), "psql", "-X", "-q", "-d", t.opts.PostgresURL, "-c", s); err != nil {
			t.logf("cleanup: %v", err)
		}
	}
}

// Schema runs deploy/temporal/scripts/setup-schema.sh with the environment
// of Compose's temporal-schema service: temporal-sql-tool sets up and
// updates both Temporal schemas from the server module's schema files.
func (t *Topology) Schema(ctx context.Context) error {
	shims := t.path("shims")
	if err := os.MkdirAll(shims, 0o700); err != nil {
		return err
	}
	// The admin-tools image has temporal-sql-tool and busybox nc on its PATH.
	if err := os.Symlink(t.Bin.SQLTool, filepath.Join(shims, "temporal-sql-tool")); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	nc := "#!/bin/bash\n# nc -z -w SECONDS HOST PORT, as the schema script calls it\nexec timeout \"$3\" bash -c \"exec 3<>/dev/tcp/$4/$5\"\n"
	if err := os.WriteFile(filepath.Join(shims, "nc"), []byte(nc), 0o700); err != nil {
		return err
	}
	env, err := t.compose.Env("temporal-schema", t.vars, map[string]string{
		"SQL_HOST": "127.0.0.1", "SQL_USER": t.TemporalRole,
		"TEMPORAL_DBNAME": t.TemporalDB, "TEMPORAL_VISIBILITY_DBNAME": t.VisibilityDB,
	})
	if err != nil {
		return err
	}
	modDir, err := moduleDir(ctx, t.opts.Repo, "go.temporal.io/server")
	if err != nil {
		return err
	}
	env["TEMPORAL_SCHEMA_ROOT"] = filepath.Join(modDir, "schema", "postgresql", "v12")
	env["PATH"] = shims + ":" + os.Getenv("PATH")
	return RunOnce(ctx, t.path("temporal-schema.log"), "", Environ(env), "/bin/sh",
		filepath.Join(t.opts.Repo, "deploy", "temporal", "scripts", "setup-schema.sh"))
}

func moduleDir(ctx context.Context, repo, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// StartTemporal starts the server with the environment of Compose's
// temporal service (its built-in configuration template reads it, as the
// temporalio/server image does) and deploy/temporal/dynamicconfig/nrm.yaml.
// Besides Compose's settings it gets loopback ports and small connection
// pools: the machine's PostgreSQL is shared and allows 100 connections.
func (t *Topology) StartTemporal(ctx context.Context) error {
	ports, err := freePorts(10)
	if err != nil {
		return err
	}
	overrides := map[string]string{
		"POSTGRES_SEEDS": "127.0.0.1", "POSTGRES_USER": t.TemporalRole,
		"DBNAME": t.TemporalDB, "VISIBILITY_DBNAME": t.VisibilityDB,
		"BIND_ON_IP":               "127.0.0.1",
		"DYNAMIC_CONFIG_FILE_PATH": filepath.Join(t.opts.Repo, "deploy", "temporal", "dynamicconfig", "nrm.yaml"),
		"PROMETHEUS_ENDPOINT":      "127.0.0.1:" + strconv.Itoa(ports[0]),
		"LOG_LEVEL":                "warn",
	}
	if t.opts.HistoryShards > 0 {
		overrides["NUM_HISTORY_SHARDS"] = strconv.Itoa(t.opts.HistoryShards)
	}
	env, err := t.compose.Env("temporal", t.vars, overrides)
	if err != nil {
		return err
	}
	for i, name := range []string{"FRONTEND_GRPC_PORT", "FRONTEND_HTTP_PORT", "FRONTEND_MEMBERSHIP_PORT", "HISTORY_GRPC_PORT",
		"HISTORY_MEMBERSHIP_PORT", "MATCHING_GRPC_PORT", "MATCHING_MEMBERSHIP_PORT", "WORKER_GRPC_PORT", "WORKER_MEMBERSHIP_PORT"} {
		env[name] = strconv.Itoa(ports[i+1])
	}
	for k, v := range map[string]string{"SQL_MAX_CONNS": "6", "SQL_MAX_IDLE_CONNS": "6", "SQL_VIS_MAX_CONNS": "2", "SQL_VIS_MAX_IDLE_CONNS": "2"} {
		env[k] = v
	}
	env["PATH"] = os.Getenv("PATH")
	t.TemporalAddr = "127.0.0.1:" + env["FRONTEND_GRPC_PORT"]
	t.Temporal = &Proc{Name: "temporal", Bin: t.Bin.Server, Args: []string{"start"}, Env: Environ(env), Log: t.path("temporal.log")}
	t.cleanups = append(t.cleanups, func() { t.Temporal.Stop(30 * time.Second) })
	if err := t.Temporal.Start(); err != nil {
		return err
	}
	return t.WaitTemporal(ctx)
}

// WaitTemporal waits until the frontend answers its health check.
func (t *Topology) WaitTemporal(ctx context.Context) error {
	for {
		if !t.Temporal.Running() {
			return fmt.Errorf("temporal exited (see %s)", t.Temporal.Log)
		}
		c, err := client.Dial(client.Options{HostPort: t.TemporalAddr, Namespace: t.Namespace.Namespace, Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal not healthy: %w (see %s)", ctx.Err(), t.Temporal.Log)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// NamespaceSetup does what deploy/temporal/scripts/setup-namespace.sh does
// (the harness has no `temporal` CLI), with its values: the namespace with
// its retention, then the search attributes, each step retried until the
// server takes it, then checked.
func (t *Topology) NamespaceSetup(ctx context.Context) error {
	retention, err := parseRetention(t.Namespace.Retention)
	if err != nil {
		return err
	}
	nc, err := client.NewNamespaceClient(client.Options{HostPort: t.TemporalAddr, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer nc.Close()
	err = retry(ctx, "create namespace", func() error {
		err := nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{Namespace: t.Namespace.Namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(retention)})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: t.TemporalAddr, Namespace: t.Namespace.Namespace, Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	want := map[string]enumspb.IndexedValueType{}
	for name, typ := range t.Namespace.SearchAttributes {
		v, ok := enumspb.IndexedValueType_value["INDEXED_VALUE_TYPE_"+strings.ToUpper(typ)]
		if !ok {
			return fmt.Errorf("setup-namespace.sh: unknown search attribute type %s", typ)
		}
		want[name] = enumspb.IndexedValueType(v)
	}
	err = retry(ctx, "create search attributes", func() error {
		_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace: t.Namespace.Namespace, SearchAttributes: want})
		return err
	})
	if err != nil {
		return err
	}
	return retry(ctx, "check search attributes", func() error {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: t.Namespace.Namespace})
		if err != nil {
			return err
		}
		for name, typ := range want {
			if resp.GetCustomAttributes()[name] != typ {
				return fmt.Errorf("search attribute %s is %v, want %v", name, resp.GetCustomAttributes()[name], typ)
			}
		}
		return nil
	})
}

// parseRetention reads the CLI's durations of the script ("30d", "72h").
func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("retention %q: %w", s, err)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func retry(ctx context.Context, what string, f func() error) error {
	var err error
	for range 60 {
		if err = f(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// nrmEnv is a Compose NRM service's environment for a loopback process.
func (t *Topology) nrmEnv(service string, overrides map[string]string) ([]string, error) {
	env, err := t.compose.Env(service, t.vars, overrides)
	if err != nil {
		return nil, err
	}
	if service != "migrate" {
		// The load comes from one address: lift the per-address and
		// per-user limits (harness only).
		env["NRM_LOGIN_RATE"] = "100000"
		env["NRM_USER_RATE"] = "1000000"
	}
	env["PATH"] = os.Getenv("PATH")
	return Environ(env), nil
}

// Migrate runs Compose's one-shot migrate service.
func (t *Topology) Migrate(ctx context.Context) error {
	env, err := t.nrmEnv("migrate", map[string]string{"DATABASE_URL": t.NRMURL})
	if err != nil {
		return err
	}
	t.env.migrate = env
	return RunOnce(ctx, t.path("migrate.log"), "", env, t.Bin.NRM, t.compose.Services["migrate"].Command...)
}

// Prepare writes the master key and the NRM processes' environments.
func (t *Topology) Prepare() error {
	key := make([]byte, 32)
	rand.Read(key)
	t.masterKey = t.path("master.key")
	if err := os.WriteFile(t.masterKey, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o400); err != nil {
		return err
	}
	common := map[string]string{"DATABASE_URL": t.NRMURL, "TEMPORAL_ADDRESS": t.TemporalAddr, "NRM_SOP": t.opts.SOP,
		"NRM_MASTER_KEY_FILE": t.masterKey}
	var err error
	apiOverrides := map[string]string{"NRM_ADDR": "127.0.0.1:0"}
	for k, v := range common {
		apiOverrides[k] = v
	}
	if t.env.api, err = t.nrmEnv("api", apiOverrides); err != nil {
		return err
	}
	workerOverrides := map[string]string{"NRM_HEALTH_ADDR": "127.0.0.1:0"}
	for k, v := range common {
		workerOverrides[k] = v
	}
	for k, v := range t.opts.WorkerEnv {
		workerOverrides[k] = v
	}
	t.env.worker, err = t.nrmEnv("worker", workerOverrides)
	return err
}

// withAddr replaces one variable of an environment.
func withAddr(env []string, name, value string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// FirstAdministrator runs the first deployment's `docker compose run --rm
// api ...` steps of deploy/README.md with the nrm binary and the api
// service's environment; the administrator's password goes to stdin as
// the README says. It answers the administrator's e-mail.
func (t *Topology) FirstAdministrator(ctx context.Context, password string) (email string, err error) {
	steps, err := ReadmeCommands(t.opts.Repo)
	if err != nil {
		return "", err
	}
	for _, args := range steps {
		for i, a := range args {
			if a == "--email" && i+1 < len(args) {
				email = args[i+1]
			}
		}
		stdin := ""
		if len(args) >= 2 && args[0] == "user" && args[1] == "add" {
			stdin = password + "\n"
		}
		if err := RunOnce(ctx, t.path("first-admin.log"), stdin, t.env.api, t.Bin.NRM, args...); err != nil {
			return "", fmt.Errorf("deploy/README.md step `nrm %s`: %w", strings.Join(args, " "), err)
		}
	}
	if email == "" {
		return "", errors.New("deploy/README.md: no `user add --email` step")
	}
	return email, nil
}

// StartNRM starts the API and worker processes (Compose's api and worker
// services, n of each) and waits for their /readyz.
func (t *Topology) StartNRM(ctx context.Context, n int) error {
	for i := range n {
		ports, err := freePorts(2)
		if err != nil {
			return err
		}
		api := &Proc{Name: fmt.Sprintf("api-%d", i+1), Bin: t.Bin.NRM, Args: t.compose.Services["api"].Command,
			Env: withAddr(t.env.api, "NRM_ADDR", fmt.Sprintf("127.0.0.1:%d", ports[0])), Log: t.path(fmt.Sprintf("api-%d.log", i+1)),
			Ready: fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[0])}
		worker := &Proc{Name: fmt.Sprintf("worker-%d", i+1), Bin: t.Bin.NRM, Args: t.compose.Services["worker"].Command,
			Env: withAddr(t.env.worker, "NRM_HEALTH_ADDR", fmt.Sprintf("127.0.0.1:%d", ports[1])), Log: t.path(fmt.Sprintf("worker-%d.log", i+1)),
			Ready: fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1])}
		t.APIs = append(t.APIs, api)
		t.APIURLs = append(t.APIURLs, fmt.Sprintf("http://127.0.0.1:%d", ports[0]))
		t.Workers = append(t.Workers, worker)
	}
	t.cleanups = append(t.cleanups, t.stopNRM)
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		if err := p.Start(); err != nil {
			return err
		}
	}
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		if err := p.WaitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (t *Topology) stopNRM() {
	for _, p := range append(append([]*Proc{}, t.APIs...), t.Workers...) {
		p.Stop(30 * time.Second)
	}
}

// Restart kills (or stops) a process and starts it again after pause,
// waiting for its readiness.
func Restart(ctx context.Context, p *Proc, kill bool, pause time.Duration) error {
	if kill {
		p.Kill()
	} else {
		p.Stop(60 * time.Second)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pause):
	}
	// As a container's restart policy does, a process that exits while it
	// starts is started again (twice at most).
	var err error
	for range 3 {
		if err = p.Start(); err != nil {
			return err
		}
		if err = p.WaitReady(ctx); err == nil || p.Running() {
			return err
		}
	}
	return err
}

// Close stops every process and drops the run's databases.
func (t *Topology) Close() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// Up brings the whole topology up in Compose's order and walks the
// README's first deployment: databases, Temporal schema, Temporal,
// namespace, migrations, the first administrator, then the NRM processes.
func (t *Topology) Up(ctx context.Context, adminPassword string, processes int) (adminEmail string, err error) {
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"build", t.Build},
		{"roles and databases (deploy/postgres/init.sql)", t.Databases},
		{"Temporal schema (setup-schema.sh)", t.Schema},
		{"Temporal server", t.StartTemporal},
		{"namespace and search attributes (setup-namespace.sh)", t.NamespaceSetup},
		{"migrations (nrm migrate up)", t.Migrate},
		{"master key and environments", func(context.Context) error { return t.Prepare() }},
		{"first administrator (deploy/README.md)", func(ctx context.Context) error {
			adminEmail, err = t.FirstAdministrator(ctx, adminPassword)
			return err
		}},
		{fmt.Sprintf("%d nrm serve + %d nrm worker", processes, processes), func(ctx context.Context) error { return t.StartNRM(ctx, processes) }},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.f(ctx); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		t.logf("up: %s (%s)", s.name, time.Since(start).Round(time.Millisecond))
	}
	return adminEmail, nil
}
