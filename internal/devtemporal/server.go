// Package devtemporal runs a complete Temporal server inside the nrm process,
// persisting to a SQLite file, for `nrm dev` and for the integration tests.
// Production deployments use an external Temporal cluster instead.
package devtemporal

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const clusterName = "active"

// Options configure the embedded server.
type Options struct {
	// DatabaseFile is the SQLite file; empty means an in-memory database that
	// is lost when the server stops.
	DatabaseFile string
	// Addr is the frontend gRPC address, loopback only (e.g. 127.0.0.1:7233).
	// Port 0 picks a free port.
	Addr             string
	Namespace        string
	SearchAttributes map[string]enumspb.IndexedValueType
	Logger           *slog.Logger
	// DynamicConfig overrides server settings by key (tests use it to make
	// Temporal suggest continue-as-new early).
	DynamicConfig map[string]any
}

// Server is a running embedded Temporal server.
type Server struct {
	server   temporal.Server
	hostPort string
	stop     sync.Once
	stopErr  error
}

// Start creates the schema and namespace when missing and starts every
// Temporal service (frontend, history, matching, worker) in this process.
func Start(opts Options) (*Server, error) {
	if opts.Namespace == "" {
		return nil, errors.New("devtemporal: namespace is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, port, err := splitLoopback(opts.Addr)
	if err != nil {
		return nil, err
	}
	if port == 0 {
		if port, err = freePort(host); err != nil {
			return nil, err
		}
	}
	sqlConf, err := prepareSQLite(opts)
	if err != nil {
		return nil, err
	}
	conf, err := serverConfig(host, port, sqlConf)
	if err != nil {
		return nil, err
	}
	logger := slogAdapter{log: opts.Logger.With("component", "temporal"), starting: &atomic.Bool{}}
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 1000,
	}
	for k, v := range opts.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(net.JoinHostPort(host, strconv.Itoa(svc.RPC.GRPCPort)))
	}
	srv, err := startServer(logger.starting,
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, err
	}
	return &Server{server: srv, hostPort: net.JoinHostPort(host, strconv.Itoa(port))}, nil
}

// startServer creates and starts the server; a fatal error logged meanwhile
// (slogAdapter.Fatal) stops what started and is returned, so that a port
// taken between freePort and the bind is an error the caller can retry on
// rather than a crash of the process.
func startServer(starting *atomic.Bool, opts ...temporal.ServerOption) (srv temporal.Server, err error) {
	starting.Store(true)
	defer starting.Store(false)
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		f, ok := r.(fatal)
		if !ok {
			panic(r)
		}
		if srv != nil {
			stopQuietly(srv)
		}
		srv, err = nil, fmt.Errorf("devtemporal: start: %s", f.msg)
	}()
	if srv, err = temporal.NewServer(opts...); err != nil {
		return nil, fmt.Errorf("devtemporal: new server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devtemporal: start: %w", err)
	}
	return srv, nil
}

// stopQuietly stops a server that failed to start, whatever its state.
func stopQuietly(srv temporal.Server) {
	defer func() { recover() }()
	srv.Stop()
}

// HostPort is the frontend address clients dial.
func (s *Server) HostPort() string { return s.hostPort }

// Stop stops every service; the SQLite file keeps open workflows for the next
// start. Stopping twice is a no-op: the Temporal server must not be stopped again.
func (s *Server) Stop() error {
	s.stop.Do(func() { s.stopErr = s.server.Stop() })
	return s.stopErr
}

func splitLoopback(addr string) (string, int, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("devtemporal: address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", 0, fmt.Errorf("devtemporal: address %q must be a loopback IP: the dev server has no authentication", addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("devtemporal: address %q: bad port", addr)
	}
	return host, port, nil
}

func prepareSQLite(opts Options) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if opts.DatabaseFile == "" {
		conf.ConnectAttributes["mode"] = "memory"
		conf.ConnectAttributes["cache"] = "shared"
		conf.DatabaseName = fmt.Sprintf("nrm-%d", time.Now().UnixNano())
	} else {
		conf.ConnectAttributes["mode"] = "rwc"
		conf.DatabaseName = opts.DatabaseFile
		if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o700); err != nil {
			return nil, fmt.Errorf("devtemporal: data directory: %w", err)
		}
	}
	fresh := opts.DatabaseFile == ""
	if !fresh {
		if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			fresh = true
		}
	}
	if fresh {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("devtemporal: schema: %w", err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: namespace %s: %w", opts.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("devtemporal: namespace %s: %w", opts.Namespace, err)
	}
	return conf, nil
}

func serverConfig(host string, frontendPort int, sqlConf *config.SQL) (*config.Config, error) {
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	httpPort, err := freePort(host)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             net.JoinHostPort(host, strconv.Itoa(frontendPort)),
				HTTPAddress:            net.JoinHostPort(host, strconv.Itoa(httpPort)),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		var svc config.Service
		svc.RPC.BindOnIP = host
		if name == "frontend" {
			svc.RPC.GRPCPort = frontendPort
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = freePort(host); err != nil {
			return nil, err
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = net.JoinHostPort(host, strconv.Itoa(frontendPort))
	return conf, nil
}

// freePort picks a free port below the kernel's ephemeral range (Linux:
// 32768 and up). Temporal binds the port a moment after it is picked; a
// port of the ephemeral range could meanwhile become the local end of any
// outgoing connection on the machine — and a Temporal service that cannot
// bind panics in a goroutine instead of returning an error. Below the range
// only another server picking the same port at random can collide.
func freePort(host string) (int, error) {
	for range 50 {
		port := lowPortMin + rand.IntN(lowPortMax-lowPortMin)
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			continue // taken: try another
		}
		l.Close()
		return port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("devtemporal: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// The ports freePort picks from.
const (
	lowPortMin = 20000
	lowPortMax = 32000
)
