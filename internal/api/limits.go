package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// RateWindow is the length of the fixed windows the limits count in.
const RateWindow = time.Minute

// Limits bound how fast one client may call the API. The counters are in
// PostgreSQL (store.HitRateLimit, one statement per request), so a limit
// holds across all API replicas; so do the sign-in throttle's counts
// (SignInRule).
//
// Windows are fixed minutes of the database's clock: a client may get up to
// twice a limit through in a burst that straddles two windows, the price of
// one small row per key and minute instead of a log of request times.
type Limits struct {
	LoginPerMinute int // per client address
	UserPerMinute  int // per signed-in user, every route
	// SignIn throttles repeated failed sign-ins (zero: DefaultSignInRule).
	SignIn SignInRule
}

func (l Limits) withDefaults() Limits {
	if l.LoginPerMinute <= 0 {
		l.LoginPerMinute = 10
	}
	if l.UserPerMinute <= 0 {
		l.UserPerMinute = 600
	}
	if l.SignIn == (SignInRule{}) {
		l.SignIn = DefaultSignInRule
	}
	return l
}

// SignInRule throttles password guessing without handing anyone a way to
// lock an account.
//
// A source (client address; an IPv6 client's /64) that has failed
// SourceFree times for an account must wait First before its next attempt
// for that account is even checked, and each further failure doubles the
// wait up to SourceMax. Other sources are not held by it: the real user
// signing in from elsewhere is unaffected by a stranger's guessing.
//
// Guessing spread over many sources is slowed by the account's count of
// failures from all sources: from its AccountFree-th on, each failing source
// waits at least First, doubling per account failure, up to AccountMax. It
// applies to a source only after that source itself failed, so a source
// with no failures for the account (the real user's, typically) always gets
// its attempt at once, and a source that mistyped waits at most AccountMax;
// a distributed attacker gets one attempt per fresh address, then waits.
//
// A success clears the source's count for the account, not the account's;
// counts are forgotten Memory after their last failure. Accounts are named by
// the e-mail as typed, lower-cased, whether or not it has an account: the
// answers (401, 429 with Retry-After) are the same for both.
//
// Refused attempts are not failures (nothing was checked), so a source
// hammering while it waits does not lengthen its wait. The wait is read
// before the password is checked and the failure counted after: concurrent
// attempts from one source can each be checked before the first failure
// lands, a burst that the per-address LoginPerMinute bounds.
type SignInRule struct {
	SourceFree  int
	SourceMax   time.Duration
	AccountFree int
	AccountMax  time.Duration
	First       time.Duration
	Memory      time.Duration
}

// DefaultSignInRule: five free failures per source and account, then 1 s,
// 2 s, 4 s … up to 15 minutes (reached at the 15th failure); twenty per
// account from all sources, then at least 1 s, 2 s … up to 5 minutes for
// every failing source; a day's memory.
var DefaultSignInRule = SignInRule{SourceFree: 5, SourceMax: 15 * time.Minute, AccountFree: 20, AccountMax: 5 * time.Minute,
	First: time.Second, Memory: 24 * time.Hour}

// delays lists the wait after the 1st, 2nd … failure: none before the
// free-th, First after it, doubling after each further one until limit,
// the last entry (which the store uses for every later failure).
func (r SignInRule) delays(free int, limit time.Duration) []time.Duration {
	out := make([]time.Duration, max(free-1, 0), free+32)
	for d := r.First; ; d *= 2 {
		if d >= limit || len(out) >= free+32 {
			return append(out, limit)
		}
		out = append(out, d)
	}
}

func (r SignInRule) schedule() store.SignInSchedule {
	return store.SignInSchedule{Source: r.delays(r.SourceFree, r.SourceMax), Account: r.delays(r.AccountFree, r.AccountMax), Memory: r.Memory}
}

// clientSource is the address a client's requests are counted under: an
// IPv6 client's /64, since one host usually holds the whole prefix and
// could otherwise give every guess a fresh address.
func (s *Server) clientSource(c *fiber.Ctx) string {
	a := s.clientIP(c)
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return a.String()
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
	return func(c *fiber.Ctx) error {
		if err := s.checkLoginRate(c); err != nil {
			return err
		}
		return c.Next()
	}
}

// checkLoginRate counts a sign-in attempt of the client (loginLimiter; the
// sign-in page calls it too).
func (s *Server) checkLoginRate(c *fiber.Ctx) error {
	n, left, err := s.deps.Store.HitRateLimit(c.UserContext(), s.rateKeys()("login", s.clientSource(c)), RateWindow)
	if err != nil {
		s.log.Warn("rate limit: sign-in counter unavailable; sign-in refused", "request_id", requestID(c), "error", err)
		c.Set(fiber.HeaderRetryAfter, "5")
		return newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "sign-in is unavailable for a moment; try again shortly")
	}
	if n > s.limits.LoginPerMinute {
		return tooMany(c, left)
	}
	return nil
}

// signInAttempt names the throttle's counters of one sign-in attempt.
type signInAttempt struct{ source, account string }

// throttleSignIn answers 429 with Retry-After while the client's source must
// still wait after failing for this account (SignInRule), before anything
// else is looked at: the answer cannot depend on whether the account exists.
// Like loginLimiter it fails closed, 503, when the wait cannot be read.
func (s *Server) throttleSignIn(c *fiber.Ctx, email string) (signInAttempt, error) {
	rateKey := s.rateKeys()
	account := strings.ToLower(strings.TrimSpace(email))
	a := signInAttempt{source: rateKey("signin-source", account+"\x00"+s.clientSource(c)), account: rateKey("signin-account", account)}
	wait, err := s.deps.Store.SignInWait(c.UserContext(), a.source)
	if err != nil {
		s.log.Warn("sign-in throttle unavailable; sign-in refused", "request_id", requestID(c), "error", err)
		c.Set(fiber.HeaderRetryAfter, "5")
		return a, newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "sign-in is unavailable for a moment; try again shortly")
	}
	if wait > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(ceilSeconds(wait)))
		return a, newProblem(http.StatusTooManyRequests, ProblemRateLimited, "too many failed sign-ins; try again after the time in Retry-After")
	}
	return a, nil
}

// signInSettled counts the attempt's outcome: a wrong password (or unknown
// or inactive account) is a failure, a session clears the source's count.
// Anything else (no hashing slot, a database error) checked nothing and is
// not counted, so an overloaded server does not throttle its users. A count
// that cannot be written is logged; the answer stays the sign-in's.
func (s *Server) signInSettled(c *fiber.Ctx, a signInAttempt, loginErr error) {
	var err error
	switch {
	case loginErr == nil:
		err = s.deps.Store.SignInSucceeded(c.UserContext(), a.source)
	case errors.Is(loginErr, auth.ErrBadCredentials):
		_, err = s.deps.Store.SignInFailed(c.UserContext(), a.source, a.account, s.limits.SignIn.schedule())
	}
	if err != nil {
		s.log.Warn("sign-in throttle: outcome not counted", "request_id", requestID(c), "error", err)
	}
}

func ceilSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
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

// clientIP is the client's address: the connection's peer, unless the peer
// is a trusted reverse proxy (Deps.TrustedProxies). Then it is the
// right-most address of X-Forwarded-For that is not a trusted proxy itself:
// proxies append what they saw, and whatever stands left of that was
// written by the client and may be anything.
func (s *Server) clientIP(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(c.GetReqHeaders()[fiber.HeaderXForwardedFor], ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a hop we cannot read: count under the proxy
		}
		if a = a.Unmap(); !s.trusted(a) {
			return a
		}
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.deps.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
