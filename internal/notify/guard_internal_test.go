package notify

import (
	"context"
	"errors"
	"testing"
)

// The dialer's Control is the last gate, on the address the socket is
// about to connect to, whatever resolved it: it must refuse on its own.
func TestWebhookDialControlRefusesInternalAddresses(t *testing.T) {
	ctx := context.Background()
	strict := (*WebhookPolicy)(nil).orStrict()
	dev := &WebhookPolicy{AllowLoopback: true}
	for _, c := range []struct {
		policy  *WebhookPolicy
		address string
		refused bool
	}{
		{strict, "127.0.0.1:5432", true},
		{strict, "[::1]:7233", true},
		{strict, "[::ffff:127.0.0.1]:8080", true},
		{strict, "169.254.169.254:80", true},
		{strict, "[fe80::1%eth0]:443", true},
		{strict, "10.0.0.1:443", true},
		{strict, "0.0.0.0:5432", true},
		{strict, "not an address", true},
		{strict, "93.184.215.14:443", false},
		{dev, "127.0.0.1:5432", false},
		{dev, "[::1]:5432", false},
		{dev, "169.254.169.254:80", true},
	} {
		err := c.policy.control("hooks.example.org")(ctx, "tcp", c.address, nil)
		var re *RefusedError
		if got := errors.As(err, &re); got != c.refused {
			t.Errorf("control(%s) = %v, want refused %v", c.address, err, c.refused)
		}
	}
}
