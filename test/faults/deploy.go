// Package faults runs NRM's production topology as processes on loopback —
// PostgreSQL (the machine's), a Temporal server on PostgreSQL set up with
// Temporal's SQL schema tool, two `nrm serve` and two `nrm worker` — drives
// cases through it while it kills and restarts its parts, and then checks
// that nothing was lost or written twice (docs/architecture.md#failures,
// deploy/README.md#failures-and-recovery).
//
// Everything it starts comes from the repository under test: the nrm binary
// from ./cmd/nrm, the Temporal server and schema tool from the
// go.temporal.io/server module go.mod pins, and the settings from the files
// an operator deploys with — docker-compose.yml (services, environment,
// Temporal version), deploy/postgres/init.sql (roles and databases),
// deploy/temporal/scripts (schema and namespace set-up),
// deploy/temporal/dynamicconfig and deploy/README.md (the first
// administrator) — so a change there that breaks the topology fails here.
//
// The harness is the test TestFaults (build tag faults); README.md and
// deploy/README.md give the commands of its CI and larger runs.
package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Compose is what the harness reads of docker-compose.yml.
type Compose struct {
	Services map[string]ComposeService `yaml:"services"`
}

// ComposeService is one service: its image, command and environment
// (anchors and merge keys resolved by the YAML decoder).
type ComposeService struct {
	Image       string            `yaml:"image"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
}

// ReadCompose parses docker-compose.yml.
func ReadCompose(repo string) (*Compose, error) {
	data, err := os.ReadFile(filepath.Join(repo, "docker-compose.yml"))
	if err != nil {
		return nil, err
	}
	var c Compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("docker-compose.yml: %w", err)
	}
	for _, name := range []string{"temporal-schema", "temporal", "temporal-setup", "migrate", "api", "worker"} {
		if _, ok := c.Services[name]; !ok {
			return nil, fmt.Errorf("docker-compose.yml has no service %q", name)
		}
	}
	return &c, nil
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// Interpolate expands ${VAR}, ${VAR:-default} and ${VAR:?message} as
// Compose does, from vars; a missing required variable is an error.
func Interpolate(s string, vars map[string]string) (string, error) {
	var missing []string
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		p := interpolation.FindStringSubmatch(m)
		v, set := vars[p[1]]
		switch {
		case p[2] == ":-" && v == "", p[2] == "-" && !set:
			return p[3]
		case (p[2] == ":?" && v == "") || (p[2] == "?" && !set):
			missing = append(missing, p[1]+": "+p[3])
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("docker-compose.yml needs %s", strings.Join(missing, "; "))
	}
	return out, nil
}

// Env is a service's environment, interpolated with vars, then with the
// overrides applied. Every override must name a variable the service
// already sets: the harness changes where things are (addresses, paths),
// never which settings a deployment passes.
func (c *Compose) Env(service string, vars, overrides map[string]string) (map[string]string, error) {
	svc := c.Services[service]
	env := map[string]string{}
	for k, v := range svc.Environment {
		x, err := Interpolate(v, vars)
		if err != nil {
			return nil, fmt.Errorf("service %s: %s: %w", service, k, err)
		}
		env[k] = x
	}
	for k, v := range overrides {
		if _, ok := env[k]; !ok {
			return nil, fmt.Errorf("docker-compose.yml: service %s does not set %s", service, k)
		}
		env[k] = v
	}
	return env, nil
}

// Environ turns an environment map into KEY=value pairs, sorted.
func Environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// TemporalVersion is the temporalio/server tag docker-compose.yml runs,
// e.g. "1.32.0".
func (c *Compose) TemporalVersion() (string, error) {
	img, err := Interpolate(c.Services["temporal"].Image, nil)
	if err != nil {
		return "", err
	}
	name, tag, ok := strings.Cut(img, ":")
	if !ok || name != "temporalio/server" {
		return "", fmt.Errorf("docker-compose.yml: temporal image %q is not temporalio/server:<version>", img)
	}
	tools, _ := Interpolate(c.Services["temporal-schema"].Image, nil)
	if tools != "temporalio/admin-tools:"+tag {
		return "", fmt.Errorf("docker-compose.yml: temporal-schema runs %q, not admin-tools of the server's version %s", tools, tag)
	}
	return tag, nil
}

// ModuleVersion is the version go.mod requires of a module, e.g. "v1.32.1".
func ModuleVersion(repo, module string) (string, error) {
	data, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		return "", err
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(s.Text()), "require "))
		if len(f) >= 2 && f[0] == module {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("go.mod does not require %s", module)
}

// SameMinor says whether two versions ("1.32.0", "v1.32.1") share major
// and minor: the server Compose runs and the one the harness builds must.
func SameMinor(a, b string) bool {
	mm := func(v string) string {
		parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
		if len(parts) < 2 {
			return v
		}
		return parts[0] + "." + parts[1]
	}
	return mm(a) == mm(b)
}

// NamespaceSetup is what deploy/temporal/scripts/setup-namespace.sh creates.
type NamespaceSetup struct {
	Namespace, Retention string
	// SearchAttributes maps each attribute's name to its type (Keyword, Bool).
	SearchAttributes map[string]string
}

var (
	scriptDefault = regexp.MustCompile(`(?m)^([A-Z_]+)="\$\{[A-Z_]+:-([^}]*)\}"`)
	scriptAttrs   = regexp.MustCompile(`(?m)^SEARCH_ATTRIBUTES="([^"]*)"`)
)

// ReadNamespaceSetup reads the namespace, its retention and the search
// attributes from the set-up script, with the values docker-compose.yml's
// temporal-setup service gives it.
func ReadNamespaceSetup(repo string, compose *Compose) (*NamespaceSetup, error) {
	data, err := os.ReadFile(filepath.Join(repo, "deploy", "temporal", "scripts", "setup-namespace.sh"))
	if err != nil {
		return nil, err
	}
	defaults := map[string]string{}
	for _, m := range scriptDefault.FindAllStringSubmatch(string(data), -1) {
		defaults[m[1]] = m[2]
	}
	env, err := compose.Env("temporal-setup", nil, nil)
	if err != nil {
		return nil, err
	}
	pick := func(scriptVar, envVar string) string {
		if v := env[envVar]; v != "" {
			return v
		}
		return defaults[scriptVar]
	}
	ns := &NamespaceSetup{Namespace: pick("NAMESPACE", "NRM_TEMPORAL_NAMESPACE"), Retention: pick("RETENTION", "NRM_TEMPORAL_RETENTION"),
		SearchAttributes: map[string]string{}}
	m := scriptAttrs.FindStringSubmatch(string(data))
	if m == nil || ns.Namespace == "" || ns.Retention == "" {
		return nil, fmt.Errorf("setup-namespace.sh: no NAMESPACE, RETENTION or SEARCH_ATTRIBUTES found")
	}
	for _, pair := range strings.Fields(m[1]) {
		name, typ, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("setup-namespace.sh: search attribute %q is not NAME:Type", pair)
		}
		ns.SearchAttributes[name] = typ
	}
	return ns, nil
}

// ReadmeCommands are the commands of deploy/README.md's first deployment
// that run the NRM image (`docker compose run --rm [-T] api ARGS...`), as
// argument lists for the nrm binary, in the README's order.
func ReadmeCommands(repo string) ([][]string, error) {
	data, err := os.ReadFile(filepath.Join(repo, "deploy", "README.md"))
	if err != nil {
		return nil, err
	}
	text := string(data)
	start := strings.Index(text, "## First deployment")
	if start < 0 {
		return nil, fmt.Errorf("deploy/README.md has no \"First deployment\" section")
	}
	text = text[start:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	// Join continuation lines, drop comments.
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "docker compose run --rm ") {
			continue
		}
		words, err := shellWords(strings.TrimPrefix(line, "docker compose run --rm "))
		if err != nil {
			return nil, fmt.Errorf("deploy/README.md: %q: %w", line, err)
		}
		for len(words) > 0 && strings.HasPrefix(words[0], "-") {
			words = words[1:]
		}
		if len(words) < 2 || words[0] != "api" {
			continue
		}
		out = append(out, words[1:])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("deploy/README.md: no `docker compose run --rm api ...` step in the first deployment")
	}
	return out, nil
}

// shellWords splits a command line as sh does for plain words, single and
// double quotes; it stops at a comment.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '#' && !inWord:
			i = len(s)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
