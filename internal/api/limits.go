package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// RateWindow is the length of the fixed windows the limits count in.
const RateWindow = time.Minute

// Limits bound how fast one client may call the API. The counters are in
// PostgreSQL (store.HitRateLimit, one statement per request), so a limit
// holds across all API replicas; so does the account lock-out after repeated
// failed sign-ins.
//
// Windows are fixed minutes of the database's clock: a client may get up to
// twice a limit through in a burst that straddles two windows, the price of
// one small row per key and minute instead of a log of request times.
type Limits struct {
	LoginPerMinute int // per client address
	UserPerMinute  int // per signed-in user, every route
}

func (l Limits) withDefaults() Limits {
	if l.LoginPerMinute <= 0 {
		l.LoginPerMinute = 10
	}
	if l.UserPerMinute <= 0 {
		l.UserPerMinute = 600
	}
	return l
}

// tooMany answers 429 with the seconds until the window ends.
func tooMany(c *fiber.Ctx, left time.Duration) error {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retrySeconds(left)))
	return newProblem(http.StatusTooManyRequests, ProblemRateLimited, "too many requests; try again in a minute")
}

func retrySeconds(left time.Duration) int {
	s := int((left + time.Second - 1) / time.Second) // round up: never invite a retry inside the window
	return min(max(s, 1), int(RateWindow/time.Second))
}

// loginLimiter throttles sign-in attempts per client address.
//
// When the counter cannot be written (PostgreSQL unreachable or failing) it
// fails closed: the sign-in is refused with 503 and Retry-After. Sign-in
// needs the database anyway, and a failure mode that lifted the throttle
// would invite password guessing while the database is degraded.
func (s *Server) loginLimiter() fiber.Handler {
	rateKey := s.rateKeys()
	return func(c *fiber.Ctx) error {
		n, left, err := s.deps.Store.HitRateLimit(c.UserContext(), rateKey("login", c.IP()), RateWindow)
		if err != nil {
			s.log.Warn("rate limit: sign-in counter unavailable; sign-in refused", "request_id", requestID(c), "error", err)
			c.Set(fiber.HeaderRetryAfter, "5")
			return newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "sign-in is unavailable for a moment; try again shortly")
		}
		if n > s.limits.LoginPerMinute {
			return tooMany(c, left)
		}
		return c.Next()
	}
}

// userLimiter throttles each signed-in user across all routes.
//
// When the counter cannot be written it fails open: the request goes on
// (logged). The caller is authenticated, every command is audited and the
// route's own work needs the database too; refusing every signed-in request
// because a counter is unavailable would turn a degraded limiter into an
// outage of case work.
func (s *Server) userLimiter() fiber.Handler {
	rateKey := s.rateKeys()
	return func(c *fiber.Ctx) error {
		p, ok := principalOf(c)
		if !ok {
			return c.Next()
		}
		n, left, err := s.deps.Store.HitRateLimit(c.UserContext(), rateKey("user", p.UserID.String()), RateWindow)
		if err != nil {
			s.log.Warn("rate limit: user counter unavailable; request let through", "request_id", requestID(c), "error", err)
			return c.Next()
		}
		if n > s.limits.UserPerMinute {
			return tooMany(c, left)
		}
		return c.Next()
	}
}

// rateKeys returns the function that names a counter: kind and the hex of
// the first 16 bytes of HMAC-SHA256(key, kind + NUL + value). No client
// address or user ID is stored; the key derives from the master key
// (Keyring.RateLimitKey), so every replica computes the same name and nobody
// can recover an address from a dump by trying all 2³² of them. A server
// built without a keyring (tests) uses an empty key.
func (s *Server) rateKeys() func(kind, value string) string {
	var key []byte
	if s.deps.Keys != nil {
		key = s.deps.Keys.RateLimitKey()
	}
	return func(kind, value string) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(kind))
		mac.Write([]byte{0})
		mac.Write([]byte(value))
		return kind + ":" + hex.EncodeToString(mac.Sum(nil)[:16])
	}
}
