package api

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, peer, xff, want string
		trusted               []netip.Prefix
	}{
		{"no proxies configured: the peer, whatever the header says", "203.0.113.7", "198.51.100.1", "203.0.113.7", nil},
		{"untrusted peer: its header is ignored", "203.0.113.7", "198.51.100.1", "203.0.113.7", proxies},
		{"trusted proxy: the client it saw", "10.1.2.3", "198.51.100.1", "198.51.100.1", proxies},
		{"a spoofed left-most hop is skipped", "10.1.2.3", "1.2.3.4, 198.51.100.1", "198.51.100.1", proxies},
		{"chained trusted proxies", "10.1.2.3", "198.51.100.1, 10.9.9.9", "198.51.100.1", proxies},
		{"an unreadable hop counts under the proxy", "10.1.2.3", "1.2.3.4, not-an-address", "10.1.2.3", proxies},
		{"no header: the proxy", "10.1.2.3", "", "10.1.2.3", proxies},
		{"IPv4-mapped hop", "fd00::1", "::ffff:198.51.100.9", "198.51.100.9", proxies},
	} {
		s := &Server{deps: Deps{TrustedProxies: tc.trusted}}
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP(tc.peer), Port: 4000}, nil)
		if tc.xff != "" {
			ctx.Request.Header.Set(fiber.HeaderXForwardedFor, tc.xff)
		}
		app := fiber.New()
		c := app.AcquireCtx(&ctx)
		got := s.clientIP(c)
		app.ReleaseCtx(c)
		if got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
