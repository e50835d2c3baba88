package notify_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
)

func TestNotifyAudienceOfEachRole(t *testing.T) {
	cases := []struct {
		role auth.Role
		all  bool
		want []string
	}{
		{auth.Supervisor, true, nil},
		{auth.Frontline, false, []string{"agency", "child_protection", "opening_agency"}},
		{auth.CompetentAuthority, false, []string{"agency", "competent_authority"}},
		{auth.Provider, false, []string{"agency", "child_protection", "provider", "service_provider"}},
		{auth.TWG, false, []string{"agency", "twg"}},
		{auth.Admin, false, []string{"agency"}},
		{auth.Role("intruder"), false, nil},
	}
	for _, c := range cases {
		got := notify.Audience(c.role)
		roles := slices.Clone([]string(got.Roles))
		slices.Sort(roles)
		if got.All != c.all || !slices.Equal(roles, c.want) {
			t.Errorf("Audience(%s) = %+v, want all=%v roles=%v", c.role, got, c.all, c.want)
		}
	}
	for _, r := range auth.Roles {
		if a := notify.Audience(r); !a.All && len(a.Roles) == 0 {
			t.Errorf("role %s reads no notification at all", r)
		}
	}
}

func TestChannelCheckTarget(t *testing.T) {
	ctx := context.Background()
	dns := newFakeDNS(map[string]string{"hooks.example.org": "93.184.215.14"})
	dev := &notify.WebhookPolicy{AllowLoopback: true, Resolver: dns}
	good := []struct{ kind, target string }{
		{store.ChannelWebhook, "https://hooks.example.org/nrm?token=abc"},
		{store.ChannelWebhook, "http://127.0.0.1:8081/hook"},
		{store.ChannelWebhook, "http://localhost/hook"},
		{store.ChannelWebhook, "http://[::1]:9000/"},
		{store.ChannelEmail, "duty-desk@police.example.org"},
	}
	for _, g := range good {
		if err := notify.CheckTarget(ctx, dev, g.kind, g.target); err != nil {
			t.Errorf("CheckTarget(%s, %q) = %v, want ok", g.kind, g.target, err)
		}
	}
	bad := []struct{ kind, target string }{
		{store.ChannelWebhook, "http://hooks.example.org/nrm"},
		{store.ChannelWebhook, "ftp://hooks.example.org/"},
		{store.ChannelWebhook, "/relative"},
		{store.ChannelWebhook, "https://user:pw@hooks.example.org/"},
		{store.ChannelWebhook, "https://hooks.example.org/#frag"},
		{store.ChannelWebhook, "https:opaque"},
		{store.ChannelWebhook, "https://hooks.example.org/\r\nX-Injected: 1"},
		{store.ChannelEmail, "Duty Desk <duty@police.example.org>"},
		{store.ChannelEmail, "not an address"},
		{store.ChannelEmail, "a@b.org\r\nBcc: x@y.org"},
		{"sms", "+99365000000"},
	}
	for _, b := range bad {
		if err := notify.CheckTarget(ctx, dev, b.kind, b.target); !errors.Is(err, notify.ErrBadTarget) {
			t.Errorf("CheckTarget(%s, %q) = %v, want ErrBadTarget", b.kind, b.target, err)
		}
	}
}

func TestNotifySignIsStable(t *testing.T) {
	// A fixed vector receivers in other languages can check themselves
	// against: HMAC-SHA256(key "secret", "1700000000.{}"), computed apart
	// (python3 -c 'import hmac,hashlib; print(hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest())').
	got := notify.Sign("secret", 1700000000, []byte("{}"))
	want := "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}
