package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A webhook is a request NRM makes on an administrator's behalf to a URL
// they typed: pointed at this host or its network it would reach the
// database, Temporal, the API itself or a cloud metadata service with
// NRM's own network position (SSRF). So a webhook may only reach public
// addresses, unless an operator lists an internal receiver in
// NRM_WEBHOOK_ALLOW or `nrm dev` lets loopback receivers through. The rule
// is checked twice: when the channel is added (the URL's literal address,
// or every address its name resolves to), and on the address each
// connection is actually made to, since a name may be re-pointed between
// the two (DNS rebinding).

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WebhookPolicy says which addresses webhooks may reach. The zero value
// (and nil) allows public addresses only.
type WebhookPolicy struct {
	// AllowLoopback lets webhooks reach this host's loopback addresses:
	// `nrm dev`, whose receivers run beside it.
	AllowLoopback bool
	// AllowNets are networks an operator lets webhooks reach although they
	// are not public (NRM_WEBHOOK_ALLOW CIDRs and single addresses).
	AllowNets []netip.Prefix
	// AllowTargets are host:port receivers an operator lets through
	// (NRM_WEBHOOK_ALLOW): a literal address matches the address connected
	// to; a host name matches the URL's host, whatever it resolves to, as
	// the operator vouches for their own DNS.
	AllowTargets []string
	// Resolver looks host names up; nil means net.DefaultResolver.
	Resolver Resolver
}

// lookupTimeout bounds the look-up of a new channel's host name, which an
// administrator waits for.
const lookupTimeout = 5 * time.Second

// RefusedError is a connection the policy did not let a webhook make. Its
// text names the kind of address only: neither the URL, whose path or
// query may hold a receiver's token, nor the address a name resolved to.
type RefusedError struct {
	// Class is the kind of address refused, as ClassifyAddr names it.
	Class string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("webhook receiver refused: %s, which webhooks may not reach unless NRM_WEBHOOK_ALLOW lists it", article(e.Class))
}

// special is an address block that is not globally reachable.
type special struct {
	prefix netip.Prefix
	class  string
	// via names a block that carries an IPv4 address at byte offset at
	// (NAT64, 6to4): its addresses are of the class of that IPv4 address.
	via string
	at  int
}

func block(prefix, class string) special {
	return special{prefix: netip.MustParsePrefix(prefix), class: class}
}

func carrier(prefix, via string, at int) special {
	return special{prefix: netip.MustParsePrefix(prefix), via: via, at: at}
}

// The IANA special-purpose address registries, most specific first where
// blocks nest.
var (
	specialV4 = []special{
		block("0.0.0.0/8", "unspecified"),
		block("10.0.0.0/8", "private"),
		block("100.64.0.0/10", "shared (CGNAT)"),
		block("127.0.0.0/8", "loopback"),
		block("169.254.0.0/16", "link-local"), // cloud metadata services live here
		block("172.16.0.0/12", "private"),
		block("192.0.0.0/24", "IETF protocol"),
		block("192.0.2.0/24", "documentation"),
		block("192.88.99.0/24", "6to4 relay"),
		block("192.168.0.0/16", "private"),
		block("198.18.0.0/15", "benchmarking"),
		block("198.51.100.0/24", "documentation"),
		block("203.0.113.0/24", "documentation"),
		block("224.0.0.0/4", "multicast"),
		block("255.255.255.255/32", "broadcast"),
		block("240.0.0.0/4", "reserved"),
	}
	specialV6 = []special{
		block("::/128", "unspecified"),
		block("::1/128", "loopback"),
		// Deprecated IPv4-compatible addresses (::a.b.c.d) and SIIT's
		// IPv4-translated ones have no public use, and some stacks still
		// route them to the IPv4 address.
		block("::/96", "IPv4-compatible"),
		block("::ffff:0:0:0/96", "IPv4-translated"),
		carrier("64:ff9b::/96", "NAT64", 12),
		block("64:ff9b:1::/48", "local NAT64"),
		block("100::/64", "discard"),
		block("2001::/32", "Teredo"),
		block("2001:db8::/32", "documentation"),
		carrier("2002::/16", "6to4", 2),
		block("3fff::/20", "documentation"),
		block("5f00::/16", "segment routing"),
		block("fc00::/7", "unique-local"),
		block("fe80::/10", "link-local"),
		block("fec0::/10", "site-local"),
		block("ff00::/8", "multicast"),
	}
)

// ClassifyAddr names the kind of a non-public address ("loopback",
// "private", "link-local", …; "loopback (IPv4-mapped)", "private (NAT64)"
// and the like for an IPv4 address carried in IPv6), or answers "" for a
// public one.
func ClassifyAddr(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("")
	if a.Is4In6() {
		if c := classify4(a.Unmap()); c != "" {
			return c + " (IPv4-mapped)"
		}
		return ""
	}
	if a.Is4() {
		return classify4(a)
	}
	for _, s := range specialV6 {
		if !s.prefix.Contains(a) {
			continue
		}
		if s.via == "" {
			return s.class
		}
		b := a.As16()
		if c := classify4(netip.AddrFrom4([4]byte(b[s.at : s.at+4]))); c != "" {
			return c + " (" + s.via + ")"
		}
		return ""
	}
	return ""
}

func classify4(a netip.Addr) string {
	for _, s := range specialV4 {
		if s.prefix.Contains(a) {
			return s.class
		}
	}
	return ""
}

// verdict is what the policy says of connecting to one address.
type verdict int

const (
	public   verdict = iota // reachable by any webhook
	excepted                // not public, but let through (allow-list, dev loopback)
	refused
)

func (p *WebhookPolicy) orStrict() *WebhookPolicy {
	if p == nil {
		return &WebhookPolicy{}
	}
	return p
}

// judge says whether a webhook to host (as the URL names it) may connect
// to a on port, and the kind of address a is.
func (p *WebhookPolicy) judge(host string, a netip.Addr, port uint16) (verdict, string) {
	a = a.WithZone("")
	class := ClassifyAddr(a)
	if p.listed(host, a, port) {
		return excepted, class
	}
	switch {
	case class == "":
		return public, ""
	case p.AllowLoopback && a.Unmap().IsLoopback():
		return excepted, class
	}
	return refused, class
}

// listed reports whether an operator's allow-list names this receiver:
// a network holding a, a target naming a and port, or one naming host and port.
func (p *WebhookPolicy) listed(host string, a netip.Addr, port uint16) bool {
	for _, n := range p.AllowNets {
		if n.Contains(a) || n.Contains(a.Unmap()) {
			return true
		}
	}
	for _, t := range p.AllowTargets {
		if ap, err := netip.ParseAddrPort(t); err == nil && ap.Addr().Unmap() == a.Unmap() && ap.Port() == port {
			return true
		}
	}
	return p.listedName(host, port)
}

// listedName reports whether an allow-list target names this host name
// and port, so that no address of it needs checking.
func (p *WebhookPolicy) listedName(host string, port uint16) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	want := net.JoinHostPort(canonicalHost(host), strconv.Itoa(int(port)))
	for _, t := range p.AllowTargets {
		if h, ps, err := net.SplitHostPort(t); err == nil && net.JoinHostPort(canonicalHost(h), ps) == want {
			return true
		}
	}
	return false
}

func canonicalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// numericHost reports a host that is no IP address Go accepts but that a
// C resolver (inet_aton) reads as one: 2130706433, 0x7f.1, 0177.0.0.1 and
// 127.1 are all 127.0.0.1 to getaddrinfo. No top-level domain is numeric,
// so a name whose last label is a number is never a real host name.
func numericHost(h string) bool {
	labels := strings.Split(strings.TrimSuffix(h, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	if last == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last = hex
		if last == "" {
			return true
		}
		return strings.Trim(last, "0123456789abcdef") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}

// validHostName is a DNS name in ASCII: letters, digits, hyphens and
// underscores in labels of 1 to 63, at most 253 in all.
func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// isLocalhostName is the name RFC 6761 reserves for loopback, whatever
// the resolver answers for it.
func isLocalhostName(h string) bool {
	h = canonicalHost(h)
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// resolve answers the addresses a URL's host stands for.
func (p *WebhookPolicy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if isLocalhostName(host) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

// HTTPClient is the webhook client under this policy. It connects only to
// addresses the policy allows, checked on each address it dials, so a name
// re-pointed at an internal address after the channel was added is
// refused. It uses no proxy (a proxy would resolve and connect on NRM's
// behalf, past the check) and follows no redirect (a signed POST is not
// re-sent elsewhere, nor steered to an internal address). Each request is
// bounded by WebhookTimeout.
func (p *WebhookPolicy) HTTPClient() *http.Client {
	p = p.orStrict()
	return &http.Client{
		Timeout: WebhookTimeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.dialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// dialContext resolves addr's host itself, then dials only the addresses
// the policy allows, by address, so that what was checked is what is
// connected to.
func (p *WebhookPolicy) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, errors.New("webhook receiver: bad address")
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return nil, errors.New("webhook receiver: bad port")
	}
	if _, err := netip.ParseAddr(host); err != nil && numericHost(host) {
		// Never handed to a resolver: a C one would read it as an address.
		return nil, errors.New("webhook receiver refused: its host is a numeric spelling of an address (such as one integer), which resolvers read differently")
	}
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return nil, lookupError(err)
	}
	var refusal *RefusedError
	var lastErr error
	for _, a := range addrs {
		if v, class := p.judge(host, a, uint16(port)); v == refused {
			if refusal == nil {
				refusal = &RefusedError{Class: class}
			}
			continue
		}
		d := net.Dialer{Timeout: WebhookTimeout, KeepAlive: 30 * time.Second, ControlContext: p.control(host)}
		conn, err := d.DialContext(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if errors.As(err, &refusal) {
			return nil, refusal
		}
		lastErr = err
		// The reason without the address, which for a receiver let through
		// by the allow-list is an internal one.
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			lastErr = fmt.Errorf("webhook receiver: %w", oe.Err)
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if refusal != nil {
		return nil, refusal
	}
	return nil, errors.New("webhook receiver: its host name has no address")
}

// control checks the address the socket is about to connect to: the last
// gate, whatever resolved it.
func (p *WebhookPolicy) control(host string) func(context.Context, string, string, syscall.RawConn) error {
	return func(_ context.Context, _, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &RefusedError{Class: "unparsable"}
		}
		if v, class := p.judge(host, ap.Addr(), ap.Port()); v == refused {
			return &RefusedError{Class: class}
		}
		return nil
	}
}

// lookupError keeps why a look-up failed, without the name or the DNS
// server it asked.
func lookupError(err error) error {
	var de *net.DNSError
	switch {
	case errors.As(err, &de) && de.IsNotFound:
		return errors.New("webhook receiver: its host name does not resolve")
	case errors.As(err, &de) && de.IsTimeout:
		return errors.New("webhook receiver: looking its host name up timed out")
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("webhook receiver: looking its host name up timed out")
	}
	return errors.New("webhook receiver: looking its host name up failed")
}

// checkWebhook applies the policy to a new webhook URL: an absolute
// http(s) URL without credentials, fragment or IPv6 zone, whose host is a
// plain name or address and is not refused; plain http only to a receiver
// let through by exception (allow-list, dev loopback), since elsewhere a
// delivery would cross networks unencrypted.
func (p *WebhookPolicy) checkWebhook(ctx context.Context, u *urlParts) error {
	p = p.orStrict()
	host, port := u.host, u.port
	if _, err := netip.ParseAddr(host); err != nil {
		switch {
		case numericHost(host):
			return targetErr("url", "must name its host by a DNS name, a dotted-decimal IPv4 address or a bracketed IPv6 one: other numeric spellings (one integer, octal or hex parts) are refused")
		case !validHostName(host):
			return targetErr("url", "must name its host by an ASCII DNS name (an internationalised name in its xn-- form) or an IP address")
		}
	}
	if p.listedName(host, port) {
		return nil // the operator vouches for this name and port
	}
	addrs, err := func() ([]netip.Addr, error) {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		return p.resolve(ctx, host)
	}()
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return targetErr("resolve", "its host name does not resolve: check the name, or add the channel once its DNS record exists")
		}
		return targetErr("resolve", "its host name could not be looked up just now: try again")
	}
	if len(addrs) == 0 {
		return targetErr("resolve", "its host name has no address")
	}
	plainOK := true
	for _, a := range addrs {
		v, class := p.judge(host, a, port)
		switch v {
		case refused:
			return targetErr("address", fmt.Sprintf("must reach a receiver on a public address: this one is %s, inside NRM's network (an operator may allow an internal receiver with NRM_WEBHOOK_ALLOW)", article(class)))
		case public:
			plainOK = false
		}
	}
	if u.scheme == "http" && !plainOK {
		return targetErr("https", "must use https: plain http only to a receiver NRM_WEBHOOK_ALLOW lists (or, under nrm dev, on this host)")
	}
	return nil
}

func article(class string) string {
	if strings.IndexByte("aeiouAEIOU", class[0]) >= 0 {
		return "an " + class + " address"
	}
	return "a " + class + " address"
}

// urlParts is what the policy needs of a webhook URL.
type urlParts struct {
	scheme, host string
	port         uint16
}

// parseWebhookURL reads a webhook URL, refusing what would make its
// receiver ambiguous or carry secrets in the clear: another scheme,
// credentials, a fragment, an IPv6 zone, a bad port.
func parseWebhookURL(target string) (*urlParts, error) {
	u, err := url.Parse(target)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || u.Hostname() == "" {
		return nil, targetErr("url", "must be an absolute https URL such as https://receiver.example/nrm")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, targetErr("https", "must be an https URL")
	}
	if u.User != nil { // "https://@host/" too: an empty user is still userinfo

		return nil, targetErr("url", "must hold no credentials (user:password@): authenticate the receiver by the signature")
	}
	if strings.Contains(target, "#") { // "https://host/#" parses to an empty Fragment
		return nil, targetErr("url", "must hold no fragment (#…)")
	}
	host := u.Hostname()
	if strings.Contains(host, "%") {
		return nil, targetErr("url", "must hold no IPv6 zone (%…)")
	}
	port := uint64(443)
	if u.Scheme == "http" {
		port = 80
	}
	if ps := u.Port(); ps != "" {
		if port, err = strconv.ParseUint(ps, 10, 16); err != nil || port == 0 {
			return nil, targetErr("url", "must have a port from 1 to 65535")
		}
	}
	return &urlParts{scheme: u.Scheme, host: host, port: uint16(port)}, nil
}
