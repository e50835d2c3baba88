package config

import (
	"io"
	"strings"
	"testing"
)

// The metrics token is a secret: env only, never a flag, and long enough
// not to be guessed.
func TestMetricsTokenFromEnvOnly(t *testing.T) {
	t.Setenv("NRM_METRICS_TOKEN", "")
	c, _, err := Load("serve", nil, io.Discard)
	if err != nil || c.MetricsToken != "" {
		t.Fatalf("unset: %q %v", c.MetricsToken, err)
	}
	t.Setenv("NRM_METRICS_TOKEN", " 0123456789abcdef0123 \n")
	if c, _, err = Load("serve", nil, io.Discard); err != nil || c.MetricsToken != "0123456789abcdef0123" {
		t.Fatalf("set: %q %v", c.MetricsToken, err)
	}
	if _, _, err := Load("serve", []string{"--metrics-token", "0123456789abcdef0123"}, io.Discard); err == nil {
		t.Error("a --metrics-token flag is accepted: secrets stay out of argv")
	}
	t.Setenv("NRM_METRICS_TOKEN", "short")
	if _, _, err := Load("serve", nil, io.Discard); err == nil || !strings.Contains(err.Error(), "NRM_METRICS_TOKEN") {
		t.Errorf("a short token: %v", err)
	}
	var usage strings.Builder
	Usage(&usage)
	if !strings.Contains(usage.String(), "NRM_METRICS_TOKEN") {
		t.Error("Usage does not list NRM_METRICS_TOKEN")
	}
}
