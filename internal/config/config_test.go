package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAndEnvAndFlags(t *testing.T) {
	t.Setenv("TEMPORAL_NAMESPACE", "from-env")
	t.Setenv("NRM_SESSION_IDLE", "10m")
	c, rest, err := Load("serve", []string{"--session-idle", "5m", "--no-demo", "extra"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalNamespace != "from-env" || c.SessionIdle != 5*time.Minute || !c.NoDemo {
		t.Errorf("got namespace %q idle %s no-demo %v", c.TemporalNamespace, c.SessionIdle, c.NoDemo)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != ".nrm" || c.TemporalAddr != "127.0.0.1:7233" || len(c.Regions) != 6 {
		t.Errorf("defaults: %+v", c)
	}
	if c.SuppressionThreshold != 5 || c.ExportK != 11 || c.BodyLimit != 1<<20 || c.WorkflowCache != 5000 {
		t.Errorf("defaults: threshold %d k %d body %d workflow cache %d", c.SuppressionThreshold, c.ExportK, c.BodyLimit, c.WorkflowCache)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest = %v", rest)
	}
}

func TestBadSettingsAreAllReported(t *testing.T) {
	_, _, err := Load("serve", []string{
		"--database-url", "mysql://x", "--addr", "8080", "--session-max", "-1h",
		"--log-level", "loud", "--body-limit", "12", "--temporal-tls-cert", "c.pem", "--case-prefix", "tm",
		"--suppression-threshold", "1", "--export-k", "11x", "--login-rate", "10/min", "--workflow-cache", "10",
	}, io.Discard)
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"DATABASE_URL", "NRM_ADDR", "NRM_SESSION_MAX", "NRM_LOG_LEVEL", "NRM_BODY_LIMIT", "TEMPORAL_TLS_KEY", "NRM_CASE_PREFIX",
		"NRM_SUPPRESSION_THRESHOLD", "NRM_EXPORT_K", "NRM_LOGIN_RATE", "NRM_WORKFLOW_CACHE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if _, _, err := Load("dev", []string{"--no-such-flag"}, io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.10 ,fd00::/8,::ffff:198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.10/32", "fd00::/8", "198.51.100.1/32"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.1/8", "proxy.example", "10.0.0.0/33", "1.2.3"} {
		if _, err := ParseTrustedProxies(bad); err == nil || !strings.Contains(err.Error(), "NRM_TRUSTED_PROXIES") {
			t.Errorf("%q: %v, want an error naming NRM_TRUSTED_PROXIES", bad, err)
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v %v", p, err)
	}
}
