// Package config reads NRM's settings from flags and environment variables
// of the same name (flag --temporal-address ↔ env TEMPORAL_ADDRESS). Flags win.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of the nrm binary.
type Config struct {
	DatabaseURL       string
	Addr              string
	HealthAddr        string
	DataDir           string
	TemporalAddr      string // nrm dev: where the embedded Temporal listens
	TemporalAddress   string // serve/worker: the external Temporal frontend
	TemporalNamespace string
	TemporalTLSCert   string
	TemporalTLSKey    string
	TemporalTLSCA     string
	TemporalTLSServer string
	TaskQueue         string
	SOPPath           string
	LogLevel          string
	SessionIdle       time.Duration
	SessionMax        time.Duration
	BodyLimit         int
	Regions           []string
	CasePrefix        string
	NoDemo            bool
	// MasterKeyFile holds the base64 master key; MasterKey (env only) may
	// carry it instead. PreviousKeyFile is the key being rotated away from.
	MasterKeyFile   string
	PreviousKeyFile string
	MasterKey       string
	// Rate limits per minute.
	LoginRate int
	UserRate  int
	// Disclosure control of the TWG's reports: cells under SuppressionThreshold
	// are withheld; the HTCDS export is ExportK-anonymous.
	SuppressionThreshold int
	ExportK              int
	// Notifications: links point at PublicURL; e-mail goes through SMTP.
	PublicURL    string
	SMTPAddr     string
	SMTPFrom     string
	SMTPUser     string
	SMTPPassword string
	// DemoPassword comes from NRM_DEMO_PASSWORD only: secrets stay out of argv.
	DemoPassword string
	// MetricsToken (NRM_METRICS_TOKEN, env only) is the bearer token of the
	// API's /metrics; empty: the API serves no /metrics.
	MetricsToken string
}

// minMetricsToken is the shortest NRM_METRICS_TOKEN accepted: /metrics has
// no sign-in throttling, so the token must not be guessable.
const minMetricsToken = 16

// DefaultRegions are Turkmenistan's: the capital and the five velayats.
const DefaultRegions = "ashgabat,ahal,balkan,dashoguz,lebap,mary"

type setting struct {
	flag, env, def, usage string
}

var settings = []setting{
	{"database-url", "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nrm?sslmode=disable", "PostgreSQL URL"},
	{"addr", "NRM_ADDR", "127.0.0.1:8080", "HTTP listen address"},
	{"health-addr", "NRM_HEALTH_ADDR", "", "worker health listen address (empty: none)"},
	{"data-dir", "NRM_DATA_DIR", ".nrm", "nrm dev: data directory (Temporal SQLite file)"},
	{"temporal-addr", "NRM_TEMPORAL_ADDR", "127.0.0.1:7233", "nrm dev: loopback address of the embedded Temporal server"},
	{"temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"},
	{"temporal-namespace", "TEMPORAL_NAMESPACE", "nrm", "Temporal namespace"},
	{"temporal-tls-cert", "TEMPORAL_TLS_CERT", "", "client certificate file for mTLS to Temporal"},
	{"temporal-tls-key", "TEMPORAL_TLS_KEY", "", "client key file for mTLS to Temporal"},
	{"temporal-tls-ca", "TEMPORAL_TLS_CA", "", "CA file to verify the Temporal server"},
	{"temporal-tls-server-name", "TEMPORAL_TLS_SERVER_NAME", "", "TLS server name of the Temporal frontend"},
	{"task-queue", "NRM_TASK_QUEUE", "nrm", "Temporal task queue"},
	{"sop", "NRM_SOP", "sop", "SOP file or folder"},
	{"log-level", "NRM_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"session-idle", "NRM_SESSION_IDLE", "30m", "session idle timeout"},
	{"session-max", "NRM_SESSION_MAX", "12h", "session absolute lifetime"},
	{"body-limit", "NRM_BODY_LIMIT", "1048576", "maximum request body in bytes"},
	{"regions", "NRM_REGIONS", DefaultRegions, "comma-separated region codes"},
	{"case-prefix", "NRM_CASE_PREFIX", "TM", "prefix of case numbers"},
	{"no-demo", "NRM_NO_DEMO", "false", "nrm dev: do not create demo agencies and users"},
	{"login-rate", "NRM_LOGIN_RATE", "10", "sign-in attempts per minute per client address"},
	{"user-rate", "NRM_USER_RATE", "600", "requests per minute per signed-in user"},
	{"suppression-threshold", "NRM_SUPPRESSION_THRESHOLD", "5", "TWG reports withhold counts below this"},
	{"export-k", "NRM_EXPORT_K", "11", "the HTCDS export is k-anonymous for this k"},
	{"public-url", "NRM_PUBLIC_URL", "http://127.0.0.1:8080", "base URL of the web UI, for links in notifications"},
	{"smtp-addr", "NRM_SMTP_ADDR", "", "SMTP server host:port for e-mail notifications (empty: no e-mail)"},
	{"smtp-from", "NRM_SMTP_FROM", "", "sender address of e-mail notifications"},
	{"smtp-user", "NRM_SMTP_USER", "", "SMTP user (optional)"},
	{"master-key-file", "NRM_MASTER_KEY_FILE", "", "file with the base64 master key (nrm dev: generated under --data-dir)"},
	{"previous-key-file", "NRM_PREVIOUS_KEY_FILE", "", "file with the master key being rotated away from"},
}

// Usage prints the settings table (for --help and the README).
func Usage(w io.Writer) {
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%-26s %-26s %s (default %s)\n", s.flag, s.env, s.usage, def)
	}
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "", "NRM_DEMO_PASSWORD", "nrm dev: password of the demo users (default: generated, printed once)")
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "", "NRM_MASTER_KEY", "base64 master key, instead of NRM_MASTER_KEY_FILE")
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "", "NRM_METRICS_TOKEN", "bearer token of the API's /metrics, 16+ characters (default: no /metrics on the API)")
}

// Load parses args (after the subcommand) over the environment. It returns
// the remaining positional arguments.
func Load(name string, args []string, stderr io.Writer) (*Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: nrm %s [flags]\n", name)
		Usage(stderr)
	}
	values := map[string]*string{}
	for _, s := range settings {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok {
			def = v
		}
		if s.def == "false" { // boolean switch: --no-demo
			values[s.flag] = new(string)
			*values[s.flag] = def
			fs.BoolFunc(s.flag, s.usage+" (env "+s.env+")", func(v string) error { *values[s.flag] = v; return nil })
			continue
		}
		values[s.flag] = fs.String(s.flag, def, s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	c, err := build(values)
	if err != nil {
		return nil, nil, err
	}
	c.DemoPassword = os.Getenv("NRM_DEMO_PASSWORD")
	c.MasterKey = os.Getenv("NRM_MASTER_KEY")
	c.SMTPPassword = os.Getenv("NRM_SMTP_PASSWORD")
	if c.MetricsToken = strings.TrimSpace(os.Getenv("NRM_METRICS_TOKEN")); c.MetricsToken != "" && len(c.MetricsToken) < minMetricsToken {
		return nil, nil, fmt.Errorf("NRM_METRICS_TOKEN must be at least %d characters (a random token), or empty to serve no /metrics", minMetricsToken)
	}
	return c, fs.Args(), nil
}

func build(v map[string]*string) (*Config, error) {
	var errs []error
	c := &Config{
		DatabaseURL:       *v["database-url"],
		Addr:              *v["addr"],
		HealthAddr:        *v["health-addr"],
		DataDir:           *v["data-dir"],
		TemporalAddr:      *v["temporal-addr"],
		TemporalAddress:   *v["temporal-address"],
		TemporalNamespace: *v["temporal-namespace"],
		TemporalTLSCert:   *v["temporal-tls-cert"],
		TemporalTLSKey:    *v["temporal-tls-key"],
		TemporalTLSCA:     *v["temporal-tls-ca"],
		TemporalTLSServer: *v["temporal-tls-server-name"],
		TaskQueue:         *v["task-queue"],
		SOPPath:           *v["sop"],
		LogLevel:          *v["log-level"],
		CasePrefix:        *v["case-prefix"],
		MasterKeyFile:     *v["master-key-file"],
		PublicURL:         strings.TrimRight(*v["public-url"], "/"),
		SMTPAddr:          *v["smtp-addr"],
		SMTPFrom:          *v["smtp-from"],
		SMTPUser:          *v["smtp-user"],
		PreviousKeyFile:   *v["previous-key-file"],
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || strings.Trim(u.Path, "/") == "" {
		errs = append(errs, errors.New("DATABASE_URL must be postgres://user@host:port/database"))
	}
	for _, a := range []struct{ name, val string }{{"NRM_ADDR", c.Addr}, {"NRM_TEMPORAL_ADDR", c.TemporalAddr}, {"TEMPORAL_ADDRESS", c.TemporalAddress}} {
		if _, _, err := net.SplitHostPort(a.val); err != nil {
			errs = append(errs, fmt.Errorf("%s must be host:port, got %q", a.name, a.val))
		}
	}
	if c.HealthAddr != "" {
		if _, _, err := net.SplitHostPort(c.HealthAddr); err != nil {
			errs = append(errs, fmt.Errorf("NRM_HEALTH_ADDR must be host:port, got %q", c.HealthAddr))
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("NRM_PUBLIC_URL must be an http(s) URL, got %q", c.PublicURL))
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil || c.SMTPFrom == "" {
			errs = append(errs, errors.New("NRM_SMTP_ADDR must be host:port and needs NRM_SMTP_FROM"))
		}
	}
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		errs = append(errs, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"))
	}
	if c.TemporalNamespace == "" || c.TaskQueue == "" {
		errs = append(errs, errors.New("TEMPORAL_NAMESPACE and NRM_TASK_QUEUE must not be empty"))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	var err error
	if c.SessionIdle, err = positiveDuration("NRM_SESSION_IDLE", *v["session-idle"]); err != nil {
		errs = append(errs, err)
	}
	if c.SessionMax, err = positiveDuration("NRM_SESSION_MAX", *v["session-max"]); err != nil {
		errs = append(errs, err)
	}
	if c.BodyLimit, err = strconv.Atoi(strings.TrimSpace(*v["body-limit"])); err != nil || c.BodyLimit < 1024 || c.BodyLimit > 64<<20 {
		errs = append(errs, fmt.Errorf("NRM_BODY_LIMIT must be bytes between 1024 and 67108864, got %q", *v["body-limit"]))
	}
	for _, r := range []struct {
		name string
		in   string
		dst  *int
	}{{"NRM_LOGIN_RATE", *v["login-rate"], &c.LoginRate}, {"NRM_USER_RATE", *v["user-rate"], &c.UserRate}} {
		n, err := strconv.Atoi(strings.TrimSpace(r.in))
		if *r.dst = n; err != nil || n < 1 || n > 1000000 {
			errs = append(errs, fmt.Errorf("%s must be a positive number of requests per minute, got %q", r.name, r.in))
		}
	}
	for _, r := range []struct {
		name string
		in   string
		dst  *int
	}{{"NRM_SUPPRESSION_THRESHOLD", *v["suppression-threshold"], &c.SuppressionThreshold}, {"NRM_EXPORT_K", *v["export-k"], &c.ExportK}} {
		n, err := strconv.Atoi(strings.TrimSpace(r.in))
		if *r.dst = n; err != nil || n < 2 || n > 100 {
			errs = append(errs, fmt.Errorf("%s must be a whole number from 2 to 100, got %q", r.name, r.in))
		}
	}
	for _, r := range strings.Split(*v["regions"], ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Regions = append(c.Regions, r)
		}
	}
	if len(c.Regions) == 0 {
		errs = append(errs, errors.New("NRM_REGIONS must list at least one region"))
	}
	if c.CasePrefix == "" || len(c.CasePrefix) > 8 || strings.ToUpper(c.CasePrefix) != c.CasePrefix {
		errs = append(errs, fmt.Errorf("NRM_CASE_PREFIX must be 1-8 upper-case characters, got %q", c.CasePrefix))
	}
	switch *v["no-demo"] {
	case "true", "1":
		c.NoDemo = true
	case "false", "0", "":
	default:
		errs = append(errs, fmt.Errorf("NRM_NO_DEMO must be true or false, got %q", *v["no-demo"]))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func positiveDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration like 30m, got %q", name, s)
	}
	return d, nil
}

// ParseLevel reads a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("NRM_LOG_LEVEL must be debug, info, warn or error, got %q", s)
	}
	return l, nil
}
