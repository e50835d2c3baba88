package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestWebhookAddressClassification(t *testing.T) {
	cases := []struct{ addr, want string }{
		// Loopback in every spelling an IP parser accepts.
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback (IPv4-mapped)"},
		{"::ffff:7f00:1", "loopback (IPv4-mapped)"},
		{"::127.0.0.1", "IPv4-compatible"},
		{"::ffff:0:127.0.0.1", "IPv4-translated"},
		{"64:ff9b::7f00:1", "loopback (NAT64)"},
		{"64:ff9b::127.0.0.1", "loopback (NAT64)"},
		{"64:ff9b:1::a00:1", "local NAT64"},
		{"2002:7f00:1::1", "loopback (6to4)"},
		// Unspecified: connecting to it reaches this host.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified (IPv4-mapped)"},
		// RFC 1918 and its edges.
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:10.0.0.1", "private (IPv4-mapped)"},
		{"64:ff9b::c0a8:101", "private (NAT64)"},
		{"2002:c0a8:101::", "private (6to4)"},
		// Link-local, cloud metadata included.
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local (IPv4-mapped)"},
		{"64:ff9b::a9fe:a9fe", "link-local (NAT64)"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf::1", "link-local"},
		{"fec0::1", "site-local"},
		// Unique-local (fd00:ec2::254 is AWS's IPv6 metadata service).
		{"fc00::1", "unique-local"},
		{"fd00:ec2::254", "unique-local"},
		// Shared address space (CGNAT).
		{"100.64.0.1", "shared (CGNAT)"},
		{"100.127.255.255", "shared (CGNAT)"},
		// Multicast, broadcast, reserved and the rest of the registry.
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"192.0.0.170", "IETF protocol"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.7", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"192.88.99.1", "6to4 relay"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"100::1", "discard"},
		{"2001::1", "Teredo"},
		// Public, also when written as IPv6.
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"169.255.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	}
	for _, c := range cases {
		if got := notify.ClassifyAddr(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("ClassifyAddr(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// answers are what the fake DNS of the target tests holds.
var answers = map[string]string{
	"hooks.example.org":            "93.184.215.14",
	"v6.example.org":               "2606:4700:4700::1111",
	"internal.example.org":         "10.0.0.5",
	"metadata.example.org":         "::ffff:169.254.169.254",
	"half.example.org":             "93.184.215.14,127.0.0.1",
	"svc.internal.example.org":     "10.20.9.9",
	"loopback-name.example.org":    "127.0.0.1",
	"nat64-loopback.example.org":   "64:ff9b::7f00:1",
	"unique-local.example.org":     "fd12:3456::1",
	"cgnat.example.org":            "100.64.1.1",
	"mapped-private.example.org":   "::ffff:192.168.0.10",
	"unspecified-name.example.org": "0.0.0.0",
}

func TestWebhookTargetRules(t *testing.T) {
	ctx := context.Background()
	dns := newFakeDNS(answers)
	strict := &notify.WebhookPolicy{Resolver: dns}
	dev := &notify.WebhookPolicy{AllowLoopback: true, Resolver: dns}
	allow := &notify.WebhookPolicy{Resolver: dns,
		AllowNets:    []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")},
		AllowTargets: []string{"hooks.internal:8443", "192.168.7.7:9000"}}
	cases := []struct {
		policy *notify.WebhookPolicy
		target string
		rule   string // "" for accepted
	}{
		// This host's services, however the address is written.
		{strict, "http://127.0.0.1:5432/", "address"},
		{strict, "https://127.0.0.1:5432/", "address"},
		{strict, "https://127.0.0.1:7233/", "address"},
		{strict, "https://127.0.0.1:8080/api/v1/cases", "address"},
		{strict, "http://[::1]:5432/", "address"},
		{strict, "http://[::ffff:127.0.0.1]:5432/", "address"},
		{strict, "https://[::ffff:7f00:1]/", "address"},
		{strict, "https://[::127.0.0.1]/", "address"},
		{strict, "https://[64:ff9b::7f00:1]/", "address"},
		{strict, "https://[2002:7f00:1::]/", "address"},
		{strict, "https://0.0.0.0:5432/", "address"},
		{strict, "https://[::]:5432/", "address"},
		{strict, "https://localhost/", "address"},
		{strict, "https://LOCALHOST./", "address"},
		{strict, "https://api.localhost/", "address"},
		// The networks around it.
		{strict, "https://169.254.169.254/latest/meta-data/", "address"},
		{strict, "https://[fe80::1]/", "address"},
		{strict, "https://[fd00:ec2::254]/", "address"},
		{strict, "https://10.1.2.3/", "address"},
		{strict, "https://172.16.5.4/", "address"},
		{strict, "https://192.168.0.1/", "address"},
		{strict, "https://100.64.0.1/", "address"},
		{strict, "https://224.0.0.1/", "address"},
		{strict, "https://255.255.255.255/", "address"},
		{strict, "https://[ff02::1]/", "address"},
		// Names that resolve there; one bad address is enough.
		{strict, "https://internal.example.org/hook", "address"},
		{strict, "https://metadata.example.org/", "address"},
		{strict, "https://half.example.org/", "address"},
		{strict, "https://loopback-name.example.org:5432/", "address"},
		{strict, "https://nat64-loopback.example.org/", "address"},
		{strict, "https://unique-local.example.org/", "address"},
		{strict, "https://cgnat.example.org/", "address"},
		{strict, "https://mapped-private.example.org/", "address"},
		{strict, "https://unspecified-name.example.org/", "address"},
		// IPv4 spellings Go's parser refuses but getaddrinfo reads as 127.0.0.1.
		{strict, "http://2130706433/", "url"},
		{strict, "https://2130706433:5432/", "url"},
		{strict, "http://0x7f.1/", "url"},
		{strict, "http://0x7f000001/", "url"},
		{strict, "http://0177.0.0.1/", "url"},
		{strict, "http://017700000001/", "url"},
		{strict, "http://127.1/", "url"},
		{strict, "http://127.0.0.1./", "url"},
		{strict, "https://0/", "url"},
		{strict, "https://0x/", "url"},
		// URL hygiene.
		{strict, "https://[fe80::1%25eth0]/", "url"},
		{strict, "https://[::1%25lo]/", "url"},
		{strict, "ftp://hooks.example.org/", "https"},
		{strict, "gopher://hooks.example.org:70/", "https"},
		{strict, "file:///etc/passwd", "url"},
		{strict, "javascript:alert(1)", "url"},
		{strict, "//hooks.example.org/", "url"},
		{strict, "https://user:pass@hooks.example.org/", "url"},
		{strict, "https://user@hooks.example.org/", "url"},
		{strict, "https://@hooks.example.org/", "url"},
		{strict, "https://hooks.example.org@127.0.0.1/", "url"},
		{strict, "https://hooks.example.org/#", "url"},
		{strict, "https://hooks.example.org/#frag", "url"},
		{strict, "https://hooks.example.org:0/", "url"},
		{strict, "https://hooks.example.org:99999/", "url"},
		{strict, "https://bücher.example/", "url"},
		{strict, "https://hooks.example.org/\x00", "url"},
		{strict, "http://hooks.example.org/", "https"},
		{strict, "https://nowhere.example.org/", "resolve"},
		// Public receivers.
		{strict, "https://hooks.example.org/nrm?token=abc", ""},
		{strict, "https://HOOKS.example.org./nrm", ""},
		{strict, "https://hooks.example.org:8443/", ""},
		{strict, "https://v6.example.org/", ""},
		{strict, "https://93.184.215.14/hook", ""},
		{strict, "https://[2606:4700:4700::1111]/", ""},
		{strict, "https://[64:ff9b::5db8:d70e]/", ""}, // NAT64 of a public address
		// nrm dev: loopback, and nothing more.
		{dev, "http://127.0.0.1:8081/hook", ""},
		{dev, "http://[::1]:9000/", ""},
		{dev, "http://[::ffff:127.0.0.1]:9000/", ""},
		{dev, "http://localhost/hook", ""},
		{dev, "http://loopback-name.example.org:8081/", ""},
		{dev, "https://169.254.169.254/", "address"},
		{dev, "http://10.0.0.1/", "address"},
		{dev, "https://0.0.0.0/", "address"},
		{dev, "http://2130706433/", "url"},
		{dev, "http://hooks.example.org/", "https"},
		// An operator's allow-list: exactly what it names.
		{allow, "http://10.20.3.4:8080/hook", ""},
		{allow, "https://svc.internal.example.org/", ""},
		{allow, "https://hooks.internal:8443/x", ""},
		{allow, "https://HOOKS.INTERNAL.:8443/x", ""},
		{allow, "http://192.168.7.7:9000/", ""},
		{allow, "https://hooks.internal/x", "resolve"},
		{allow, "http://192.168.7.7:9001/", "address"},
		{allow, "https://10.21.0.1/", "address"},
		{allow, "https://127.0.0.1:8443/", "address"},
		{allow, "https://internal.example.org/", "address"},
		{allow, "http://hooks.example.org/", "https"},
	}
	for _, c := range cases {
		err := notify.CheckTarget(ctx, c.policy, store.ChannelWebhook, c.target)
		if c.rule == "" {
			if err != nil {
				t.Errorf("CheckTarget(%q) = %v, want ok", c.target, err)
			}
			continue
		}
		var te *notify.TargetError
		if !errors.As(err, &te) || !errors.Is(err, notify.ErrBadTarget) {
			t.Errorf("CheckTarget(%q) = %v, want a TargetError", c.target, err)
			continue
		}
		if te.Rule != c.rule {
			t.Errorf("CheckTarget(%q) broke rule %q (%s), want %q", c.target, te.Rule, te.Reason, c.rule)
		}
		noTargetIn(t, c.target, err.Error())
	}
}

// noTargetIn fails when msg repeats the target's host or path, or an
// address the fake DNS answers: a refusal says what kind of address, not which.
func noTargetIn(t *testing.T, target, msg string) {
	t.Helper()
	if u, err := url.Parse(target); err == nil {
		for _, s := range []string{u.Hostname(), u.Path, u.RawQuery} {
			if len(s) > 3 && strings.Contains(msg, s) {
				t.Errorf("refusal of %q repeats %q: %s", target, s, msg)
			}
		}
	}
	for _, as := range answers {
		for _, a := range strings.Split(as, ",") {
			if strings.Contains(msg, a) {
				t.Errorf("refusal of %q names the address %s: %s", target, a, msg)
			}
		}
	}
}

// countingListener accepts TCP connections on 127.0.0.1 and counts them:
// a refused webhook must not even connect.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func newCountingListener(t *testing.T) *countingListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	l := &countingListener{Listener: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *countingListener) port() string {
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

func TestWebhookDialRefusesANameReboundToLoopback(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	internal := newCountingListener(t) // stands for PostgreSQL, Temporal or the API on this host
	dns := newFakeDNS(map[string]string{"hooks.example.org": "93.184.215.14"})
	policy := &notify.WebhookPolicy{Resolver: dns} // outside nrm dev
	srv := api.New(api.Deps{Store: w.st, Sessions: &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour},
		Log: slog.New(slog.DiscardHandler), Keys: w.keys, Webhooks: policy})
	admin := w.signIn(t, srv, w.addAgency(t, "administration"), "admin")
	const token = "s3cr3t-receiver-token"
	target := "https://hooks.example.org:" + internal.port() + "/nrm?token=" + token
	if s := admin.do("POST", "/api/v1/agencies/"+w.agency.ID.String()+"/channels",
		map[string]string{"kind": "webhook", "target": target}, nil); s != http.StatusCreated {
		t.Fatalf("add a webhook whose name resolves to a public address: %d, want 201", s)
	}

	for _, rebound := range []string{"127.0.0.1", "::ffff:127.0.0.1", "::1", "64:ff9b::7f00:1"} {
		// Once checked, the name is re-pointed at this host.
		dns.set("hooks.example.org", rebound)
		id := w.add(t, "breach", "opening_agency")[0]
		log, logs := newLog()
		d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: policy}
		if _, err := d.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if n := internal.n.Load(); n != 0 {
			t.Fatalf("rebound to %s: the dispatcher connected %d times to the internal port", rebound, n)
		}
		latest, err := w.st.LatestAttempts(ctx, id)
		testenv.Must(t, err)
		if len(latest) != 1 {
			t.Fatalf("rebound to %s: %d attempts recorded, want 1", rebound, len(latest))
		}
		for _, a := range latest {
			if a.Status != store.AttemptFailed || !strings.Contains(a.Error, "refused") || !strings.Contains(a.Error, "loopback") {
				t.Errorf("rebound to %s: attempt %s %q, want failed and refused as loopback", rebound, a.Status, a.Error)
			}
			for _, leak := range []string{"hooks.example.org", rebound, internal.port(), token, "/nrm"} {
				if strings.Contains(a.Error, leak) {
					t.Errorf("rebound to %s: the attempt's error holds %q: %s", rebound, leak, a.Error)
				}
			}
		}
		if s := w.statuses(t)[id]; s != store.NotificationPending {
			t.Errorf("rebound to %s: status %s, want pending (to be retried)", rebound, s)
		}
		for _, leak := range []string{token, "hooks.example.org"} {
			if strings.Contains(logs.String(), leak) {
				t.Errorf("rebound to %s: the log holds %q", rebound, leak)
			}
		}
		noPersonalData(t, "log", logs.String())
	}
}

func TestWebhookDialRefusesNumericHostSpellings(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	internal := newCountingListener(t)
	// A resolver that reads them as C's inet_aton does (the cgo resolver).
	hosts := []string{"2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001"}
	dns := newFakeDNS(nil)
	for _, h := range hosts {
		dns.set(h, "127.0.0.1")
	}
	policy := &notify.WebhookPolicy{Resolver: dns}
	chans := map[uuid.UUID]string{}
	for _, h := range hosts {
		id, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, "http://"+h+":"+internal.port()+"/hook")
		testenv.Must(t, err)
		chans[id] = h
	}
	id := w.add(t, "breach", "opening_agency")[0]
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: policy}
	if _, err := d.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := internal.n.Load(); n != 0 {
		t.Fatalf("the dispatcher connected %d times to the internal port", n)
	}
	latest, err := w.st.LatestAttempts(ctx, id)
	testenv.Must(t, err)
	for ch, h := range chans {
		a := latest[ch]
		if a.Status != store.AttemptFailed || !strings.Contains(a.Error, "numeric") || strings.Contains(a.Error, h) {
			t.Errorf("%s: attempt %s %q, want failed as a numeric spelling", h, a.Status, a.Error)
		}
	}
}

func TestWebhookAllowListLetsOneTargetThrough(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	listed, other := newReceiver(t), newReceiver(t) // both on 127.0.0.1
	listedHost := strings.TrimPrefix(listed.URL, "http://")
	policy := &notify.WebhookPolicy{AllowTargets: []string{listedHost}, Resolver: newFakeDNS(nil)}
	if err := notify.CheckTarget(ctx, policy, store.ChannelWebhook, listed.URL+"/hook"); err != nil {
		t.Errorf("the listed receiver: %v, want ok", err)
	}
	if err := notify.CheckTarget(ctx, policy, store.ChannelWebhook, other.URL+"/hook"); !errors.Is(err, notify.ErrBadTarget) {
		t.Errorf("another port of the same host: %v, want refused", err)
	}

	// The other one stored anyway, as by a release before this check.
	_, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, listed.URL+"/hook")
	testenv.Must(t, err)
	otherID, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, other.URL+"/hook")
	testenv.Must(t, err)
	id := w.add(t, "breach", "opening_agency")[0]
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: policy}
	if _, err := d.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(listed.deliveries()); n != 1 {
		t.Errorf("the listed receiver got %d deliveries, want 1", n)
	}
	if n := len(other.deliveries()); n != 0 {
		t.Errorf("the unlisted receiver got %d deliveries, want 0", n)
	}
	latest, err := w.st.LatestAttempts(ctx, id)
	testenv.Must(t, err)
	if a := latest[otherID]; a.Status != store.AttemptFailed || !strings.Contains(a.Error, "refused") {
		t.Errorf("the unlisted receiver's attempt: %s %q, want failed, refused", a.Status, a.Error)
	}
}

func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	inner := newReceiver(t)
	outer := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, inner.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(outer.Close)
	// Both reachable, so that only the redirect rule is tested.
	policy := &notify.WebhookPolicy{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	chID, _, err := w.secrets().AddChannel(ctx, w.agency.ID, store.ChannelWebhook, outer.URL+"/hook")
	testenv.Must(t, err)
	id := w.add(t, "breach", "opening_agency")[0]
	log, _ := newLog()
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: log, Webhooks: policy}
	if _, err := d.DeliverOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(inner.deliveries()); n != 0 {
		t.Errorf("the redirect was followed: its target got %d requests", n)
	}
	latest, err := w.st.LatestAttempts(ctx, id)
	testenv.Must(t, err)
	if a := latest[chID]; a.Status != store.AttemptFailed || !strings.Contains(a.Error, "307") {
		t.Errorf("attempt %s %q, want failed on the 307", a.Status, a.Error)
	}
}

func TestAddChannelRefusesInternalTargetsOutsideDev(t *testing.T) {
	w := newWorld(t)
	dns := newFakeDNS(answers)
	newAdmin := func(policy *notify.WebhookPolicy) apiClient {
		srv := api.New(api.Deps{Store: w.st, Sessions: &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour},
			Log: slog.New(slog.DiscardHandler), Keys: w.keys, Webhooks: policy})
		return w.signIn(t, srv, w.addAgency(t, "administration"), "admin")
	}
	chans := "/api/v1/agencies/" + w.agency.ID.String() + "/channels"

	// No policy is the strict one: not even this host's services.
	admin := newAdmin(nil)
	for _, c := range []struct{ target, rule string }{
		{"http://127.0.0.1:5432/", "address"},
		{"http://[::1]:5432/", "address"},
		{"http://[::ffff:127.0.0.1]:5432/", "address"},
		{"https://127.0.0.1:7233/", "address"},
		{"https://localhost:8080/api/v1/cases", "address"},
		{"https://169.254.169.254/latest/meta-data/iam/", "address"},
		{"https://10.0.0.1/hook", "address"},
		{"https://[fd00::1]/hook", "address"},
		{"https://[fe80::1]/hook", "address"},
		{"https://0.0.0.0:5432/", "address"},
		{"http://2130706433:5432/", "url"},
		{"http://0x7f.1:5432/", "url"},
		{"https://user:pw@93.184.215.14/", "url"},
		{"https://93.184.215.14/#x", "url"},
		{"ftp://93.184.215.14/", "https"},
		{"http://93.184.215.14/", "https"},
	} {
		var p struct {
			Status int `json:"status"`
			Errors []struct {
				Field   string `json:"field"`
				Rule    string `json:"rule"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		s, body := rawPost(t, admin, chans, map[string]string{"kind": "webhook", "target": c.target})
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%s: %v in %s", c.target, err, body)
		}
		if s != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Field != "target" ||
			p.Errors[0].Rule != c.rule || p.Errors[0].Message == "" {
			t.Errorf("add %s: %d %s, want 422 on target, rule %s", c.target, s, body, c.rule)
			continue
		}
		noTargetIn(t, c.target, string(body))
	}
	var listed struct {
		Channels []map[string]any `json:"channels"`
	}
	if s := admin.do("GET", chans, nil, &listed); s != 200 || len(listed.Channels) != 0 {
		t.Errorf("channels after refusals: %d %v, want none", s, listed.Channels)
	}

	// A name that resolves inside, too.
	admin = newAdmin(&notify.WebhookPolicy{Resolver: dns})
	if s, body := rawPost(t, admin, chans, map[string]string{"kind": "webhook", "target": "https://internal.example.org/hook"}); s != 422 ||
		!strings.Contains(string(body), `"rule":"address"`) {
		t.Errorf("a name resolving to 10.0.0.5: %d %s, want 422 address", s, body)
	}

	// The operator's allow-list lets its one receiver through.
	admin = newAdmin(&notify.WebhookPolicy{Resolver: dns, AllowTargets: []string{"10.0.0.5:8443"}})
	if s, _ := rawPost(t, admin, chans, map[string]string{"kind": "webhook", "target": "https://internal.example.org:8443/hook"}); s != http.StatusCreated {
		t.Errorf("the allow-listed receiver: %d, want 201", s)
	}
	if s, _ := rawPost(t, admin, chans, map[string]string{"kind": "webhook", "target": "https://internal.example.org:8444/hook"}); s != 422 {
		t.Errorf("another port of it: %d, want 422", s)
	}
}

// rawPost answers the status and body whatever the status.
func rawPost(t *testing.T, c apiClient, path string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	req := httptest.NewRequest("POST", path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.app.App().Test(req, -1)
	testenv.Must(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}
