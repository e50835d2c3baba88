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
	"net/netip"
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
	// DefaultLanguage is the web UI's language when neither the user nor
	// the browser chose one.
	DefaultLanguage string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client (sign-in throttling and rate limits count by client address).
	TrustedProxies []netip.Prefix
	// WorkflowCache is how many workflows a worker process keeps in memory
	// between their tasks (Temporal's sticky cache, one per process): it
	// bounds the worker's memory whatever the number of open cases.
	WorkflowCache int
	// HashConcurrency bounds the password hashes computed at once (each
	// takes 64 MiB); 0 derives it from GOMAXPROCS and the memory limit.
	HashConcurrency int
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
	// WebhookAllow (NRM_WEBHOOK_ALLOW) lists the internal receivers webhooks
	// may reach although their addresses are not public: networks (a CIDR,
	// or one address as a /32 or /128) and host:port targets.
	WebhookAllow WebhookAllow
	// DemoPassword comes from NRM_DEMO_PASSWORD only: secrets stay out of argv.
	DemoPassword string
	// Attachments (NRM_ATTACHMENTS) is where the cases' files are stored:
	// postgres, or s3://bucket[/prefix]?endpoint=…&region=… with the
	// object store's credentials in S3AccessKeyID and S3SecretAccessKey
	// (NRM_S3_ACCESS_KEY_ID, NRM_S3_SECRET_ACCESS_KEY, env only).
	// AttachmentMax (NRM_ATTACHMENT_MAX) bounds a file's size in bytes.
	Attachments       string
	AttachmentMax     int64
	S3AccessKeyID     string
	S3SecretAccessKey string
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
	{"workflow-cache", "NRM_WORKFLOW_CACHE", "5000", "worker: case workflows kept in memory between their steps, 100-100000 (deploy/README.md, Sizing)"},
	{"hash-concurrency", "NRM_HASH_CONCURRENCY", "0", "password hashes computed at once, 64 MiB each, 1-64 (0: GOMAXPROCS, at most a quarter of the memory limit)"},
	{"suppression-threshold", "NRM_SUPPRESSION_THRESHOLD", "5", "TWG reports withhold counts below this"},
	{"export-k", "NRM_EXPORT_K", "11", "the HTCDS export is k-anonymous for this k"},
	{"public-url", "NRM_PUBLIC_URL", "http://127.0.0.1:8080", "base URL of the web UI, for links in notifications"},
	{"smtp-addr", "NRM_SMTP_ADDR", "", "SMTP server host:port for e-mail notifications (empty: no e-mail)"},
	{"smtp-from", "NRM_SMTP_FROM", "", "sender address of e-mail notifications"},
	{"smtp-user", "NRM_SMTP_USER", "", "SMTP user (optional)"},
	{"default-language", "NRM_DEFAULT_LANGUAGE", "tk", "language of the web UI when neither the user nor the browser chose one: tk, ru or en"},
	{"trusted-proxies", "NRM_TRUSTED_PROXIES", "", "comma-separated CIDRs or addresses of the reverse proxies in front of the API, whose X-Forwarded-For is believed (empty: the connection's peer is the client)"},
	{"webhook-allow", "NRM_WEBHOOK_ALLOW", "", "comma-separated CIDRs, addresses and host:port webhooks may reach although not public (empty: public addresses only; nrm dev also allows loopback)"},
	{"master-key-file", "NRM_MASTER_KEY_FILE", "", "file with the base64 master key (nrm dev: generated under --data-dir)"},
	{"previous-key-file", "NRM_PREVIOUS_KEY_FILE", "", "file with the master key being rotated away from"},
	{"attachments", "NRM_ATTACHMENTS", "postgres", "where the cases' files are stored: postgres, or s3://bucket[/prefix]?endpoint=URL&region=R (credentials in NRM_S3_ACCESS_KEY_ID, NRM_S3_SECRET_ACCESS_KEY)"},
	{"attachment-max", "NRM_ATTACHMENT_MAX", "20971520", "largest file attached to a case, in bytes"},
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
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "", "NRM_S3_ACCESS_KEY_ID", "access key of the object store of NRM_ATTACHMENTS=s3://…")
	fmt.Fprintf(w, "  %-28s %-26s %s\n", "", "NRM_S3_SECRET_ACCESS_KEY", "secret key of the object store of NRM_ATTACHMENTS=s3://…")
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
	c.S3AccessKeyID = os.Getenv("NRM_S3_ACCESS_KEY_ID")
	c.S3SecretAccessKey = os.Getenv("NRM_S3_SECRET_ACCESS_KEY")
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
	switch c.DefaultLanguage = strings.TrimSpace(*v["default-language"]); c.DefaultLanguage {
	case "tk", "ru", "en":
	default:
		errs = append(errs, fmt.Errorf("NRM_DEFAULT_LANGUAGE must be tk, ru or en, got %q", *v["default-language"]))
	}
	if proxies, err := ParseTrustedProxies(*v["trusted-proxies"]); err != nil {
		errs = append(errs, err)
	} else {
		c.TrustedProxies = proxies
	}
	if allow, err := ParseWebhookAllow(*v["webhook-allow"]); err != nil {
		errs = append(errs, err)
	} else {
		c.WebhookAllow = allow
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
	if c.Attachments = strings.TrimSpace(*v["attachments"]); c.Attachments != "postgres" && !strings.HasPrefix(c.Attachments, "s3://") {
		errs = append(errs, errors.New("NRM_ATTACHMENTS must be postgres or s3://bucket[/prefix]?endpoint=URL&region=R"))
	}
	if c.AttachmentMax, err = strconv.ParseInt(strings.TrimSpace(*v["attachment-max"]), 10, 64); err != nil || c.AttachmentMax < 1024 || c.AttachmentMax > 1<<30 {
		errs = append(errs, fmt.Errorf("NRM_ATTACHMENT_MAX must be bytes between 1024 and 1073741824, got %q", *v["attachment-max"]))
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
	if c.WorkflowCache, err = strconv.Atoi(strings.TrimSpace(*v["workflow-cache"])); err != nil || c.WorkflowCache < 100 || c.WorkflowCache > 100000 {
		errs = append(errs, fmt.Errorf("NRM_WORKFLOW_CACHE must be a number of workflows from 100 to 100000, got %q", *v["workflow-cache"]))
	}
	// The ceiling keeps a typo from reserving gigabytes: 64 hashes are 4 GiB.
	if c.HashConcurrency, err = strconv.Atoi(strings.TrimSpace(*v["hash-concurrency"])); err != nil || c.HashConcurrency < 0 || c.HashConcurrency > 64 {
		errs = append(errs, fmt.Errorf("NRM_HASH_CONCURRENCY must be a whole number from 0 (derived) to 64, got %q", *v["hash-concurrency"]))
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

// WebhookAllow is the parsed NRM_WEBHOOK_ALLOW.
type WebhookAllow struct {
	Nets []netip.Prefix
	// Targets are host:port, the host lower-case, an IPv6 address in brackets.
	Targets []string
}

// ParseWebhookAllow reads NRM_WEBHOOK_ALLOW: comma-separated entries, each
// a CIDR (10.20.0.0/16, fd00:1::/64), one address (10.20.0.7) or a
// host:port receiver (hooks.internal:8443, 10.20.0.7:8080, [fd00::7]:8443).
func ParseWebhookAllow(s string) (WebhookAllow, error) {
	var w WebhookAllow
	var errs []error
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if err := w.add(e); err != nil {
			errs = append(errs, fmt.Errorf("NRM_WEBHOOK_ALLOW: %q %w", e, err))
		}
	}
	return w, errors.Join(errs...)
}

func (w *WebhookAllow) add(e string) error {
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return errors.New("is not a CIDR such as 10.20.0.0/16")
		}
		if p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return errors.New("must be written plainly (no IPv6 zone, no IPv4-mapped form)")
		}
		if p != p.Masked() {
			return fmt.Errorf("has bits set beyond its prefix length: did you mean %s?", p.Masked())
		}
		w.Nets = append(w.Nets, p)
		return nil
	}
	if a, err := netip.ParseAddr(e); err == nil {
		if a.Zone() != "" {
			return errors.New("must hold no IPv6 zone")
		}
		a = a.Unmap()
		w.Nets = append(w.Nets, netip.PrefixFrom(a, a.BitLen()))
		return nil
	}
	host, port, err := net.SplitHostPort(e)
	if err != nil {
		return errors.New("is not a CIDR (10.20.0.0/16), an IP address or host:port (hooks.internal:8443)")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return errors.New("must have a port from 1 to 65535")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return errors.New("must hold no IPv6 zone")
		}
		w.Targets = append(w.Targets, net.JoinHostPort(a.Unmap().String(), port))
		return nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if !isHostName(host) {
		return errors.New("must name its host by an ASCII DNS name or an IP address")
	}
	w.Targets = append(w.Targets, net.JoinHostPort(host, port))
	return nil
}

// isHostName is a DNS name in ASCII whose last label is not a number: a
// webhook URL may not name its host 2130706433 or 0x7f.1, so such an entry
// would never match.
func isHostName(h string) bool {
	labels := strings.Split(h, ".")
	if len(h) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") ||
			strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	last := labels[len(labels)-1]
	if hex, ok := strings.CutPrefix(last, "0x"); ok && strings.Trim(hex, "0123456789abcdef") == "" {
		return false
	}
	return strings.Trim(last, "0123456789") != ""
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

// ParseTrustedProxies reads NRM_TRUSTED_PROXIES: CIDRs or single addresses.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("NRM_TRUSTED_PROXIES: %q is neither an address nor a CIDR", item)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("NRM_TRUSTED_PROXIES: %q has bits set beyond its prefix length: did you mean %s?", item, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}
