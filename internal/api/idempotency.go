package api

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/store"
)

const maxIdempotencyKey = 128

// IdempotencyLease is how long a request's claim of its key holds without
// an answer. Requests end well within it (cases.CommandTimeout bounds each
// wait for Temporal), so a claim older than this was left by a process that
// died mid-request: the next retry takes it over and runs the request again.
// Running it twice is harmless even were the first still running: the
// command's update ID and the case's key-derived ID make it the same
// command (no second case, no second decision).
const IdempotencyLease = 60 * time.Second

// idempotent makes a POST with an Idempotency-Key safe to retry: the same
// key with the same body answers the stored response; with another body 422;
// while the first request still runs 409. Keys belong to the signed-in user.
func (s *Server) idempotent(c *fiber.Ctx) error {
	key := c.Get("Idempotency-Key")
	p, signedIn := principalOf(c)
	if c.Method() != fiber.MethodPost || key == "" || !signedIn {
		return c.Next()
	}
	if !validIdempotencyKey(key) {
		return newProblem(http.StatusUnprocessableEntity, ProblemValidation, "Idempotency-Key must be 1 to 128 visible ASCII characters")
	}
	now := time.Now().UTC()
	req := store.IdempotentRequest{UserID: p.UserID, Key: key, Method: c.Method(), Path: c.Path(), BodyHash: fingerprint(c), CreatedAt: now,
		AbandonedBefore: now.Add(-IdempotencyLease)}
	claimed, prior, err := s.deps.Store.ClaimIdempotencyKey(c.UserContext(), req)
	if err != nil {
		return err
	}
	if !claimed {
		switch {
		case !bytes.Equal(prior.BodyHash, req.BodyHash):
			return newProblem(http.StatusUnprocessableEntity, ProblemIdempotency, "this Idempotency-Key was used with another request")
		case prior.Status == nil:
			return newProblem(http.StatusConflict, ProblemIdempotency, "a request with this Idempotency-Key is still running")
		}
		c.Set("Idempotent-Replayed", "true")
		if prior.ContentType != nil {
			c.Set(fiber.HeaderContentType, *prior.ContentType)
		}
		return c.Status(*prior.Status).Send(prior.Response)
	}
	err = c.Next()
	if err != nil {
		// Problems are answered by the error handler; keep 4xx, release 5xx.
		if pr, known := toProblem(err); known && pr.Status < 500 {
			body, _ := jsonProblem(pr, requestID(c))
			s.deps.Store.CompleteIdempotencyKey(c.UserContext(), p.UserID, key, pr.Status, "application/problem+json", body)
		} else {
			s.deps.Store.ReleaseIdempotencyKey(c.UserContext(), p.UserID, key)
		}
		return err
	}
	status := c.Response().StatusCode()
	if status >= 500 {
		return s.deps.Store.ReleaseIdempotencyKey(c.UserContext(), p.UserID, key)
	}
	return s.deps.Store.CompleteIdempotencyKey(c.UserContext(), p.UserID, key, status,
		string(c.Response().Header.ContentType()), c.Response().Body())
}

// validIdempotencyKey allows what clients generate (UUIDs, random tokens):
// visible ASCII only, so that nothing a client sends reaches PostgreSQL as
// text it cannot store (a probe's "k\xff\xfe" was a 500).
func validIdempotencyKey(key string) bool {
	if len(key) == 0 || len(key) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint identifies a request by its method, path and body.
func fingerprint(c *fiber.Ctx) []byte {
	sum := sha256.Sum256(append([]byte(c.Method()+" "+c.Path()+"\n"), c.Body()...))
	return sum[:]
}

// retryOf is what makes a command's retry the same command: the caller's
// Idempotency-Key and the request's fingerprint.
func retryOf(c *fiber.Ctx) cases.Retry {
	key := c.Get("Idempotency-Key")
	if key == "" {
		return cases.Retry{}
	}
	return cases.Retry{Key: key, Fingerprint: fingerprint(c)}
}
