package config

import (
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestWebhookAllowFromEnvAndFlag(t *testing.T) {
	c, _, err := Load("worker", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.WebhookAllow.Nets) != 0 || len(c.WebhookAllow.Targets) != 0 {
		t.Errorf("default allow-list = %+v, want empty: public addresses only", c.WebhookAllow)
	}

	t.Setenv("NRM_WEBHOOK_ALLOW", " 10.20.0.0/16, fd00:1::/64,10.30.0.7 ,::ffff:10.40.0.1, Hooks.Internal.:8443, 10.20.0.7:8080,[FD00::7]:9443,")
	c, _, err = Load("worker", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var nets []string
	for _, n := range c.WebhookAllow.Nets {
		nets = append(nets, n.String())
	}
	if want := []string{"10.20.0.0/16", "fd00:1::/64", "10.30.0.7/32", "10.40.0.1/32"}; !slices.Equal(nets, want) {
		t.Errorf("nets = %v, want %v", nets, want)
	}
	if want := []string{"hooks.internal:8443", "10.20.0.7:8080", "[fd00::7]:9443"}; !slices.Equal(c.WebhookAllow.Targets, want) {
		t.Errorf("targets = %v, want %v", c.WebhookAllow.Targets, want)
	}

	c, _, err = Load("worker", []string{"--webhook-allow", "192.168.5.0/24"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.WebhookAllow.Nets) != 1 || c.WebhookAllow.Nets[0] != netip.MustParsePrefix("192.168.5.0/24") || len(c.WebhookAllow.Targets) != 0 {
		t.Errorf("the flag does not win over the environment: %+v", c.WebhookAllow)
	}
}

func TestWebhookAllowRefusesWhatItCannotRead(t *testing.T) {
	for _, bad := range []string{
		"10.0.0.1/8",          // host bits: a typo for 10.0.0.0/8 or 10.0.0.1/32?
		"10.0.0.0/33",         // no such prefix length
		"10.0.0/8",            // not an address
		"::ffff:10.0.0.0/104", // the IPv4-mapped spelling of 10.0.0.0/8
		"fe80::1%eth0",        // a zone
		"hooks.internal",      // a name without its port
		"hooks.internal:0",    // no port 0
		"hooks.internal:https",
		"hooks.internal:65536",
		"2130706433:80", // 127.0.0.1 to getaddrinfo; no webhook URL may name it so
		"0x7f.1:80",
		"bücher.example:443",
		"http://10.0.0.1/",
		"*",
	} {
		_, _, err := Load("worker", []string{"--webhook-allow", "10.9.0.0/16," + bad}, io.Discard)
		if err == nil {
			t.Errorf("NRM_WEBHOOK_ALLOW %q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "NRM_WEBHOOK_ALLOW") || !strings.Contains(err.Error(), bad) {
			t.Errorf("NRM_WEBHOOK_ALLOW %q: the error names neither the setting nor the entry: %v", bad, err)
		}
	}
	_, err := ParseWebhookAllow("10.0.0.1/8")
	if err == nil || !strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("host bits set: %v, want a hint of 10.0.0.0/8", err)
	}
}
