package api

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/store"
)

const maxIdempotencyKey = 128

// idempotent makes a POST with an Idempotency-Key safe to retry: the same
// key with the same body answers the stored response; with another body 422;
// while the first request still runs 409. Keys belong to the signed-in user.
func (s *Server) idempotent(c *fiber.Ctx) error {
	key := c.Get("Idempotency-Key")
	p, signedIn := principalOf(c)
	if c.Method() != fiber.MethodPost || key == "" || !signedIn {
		return c.Next()
	}
	if len(key) > maxIdempotencyKey {
		return newProblem(http.StatusUnprocessableEntity, ProblemValidation, "Idempotency-Key is longer than 128 characters")
	}
	sum := sha256.Sum256(append([]byte(c.Method()+" "+c.Path()+"\n"), c.Body()...))
	req := store.IdempotentRequest{UserID: p.UserID, Key: key, Method: c.Method(), Path: c.Path(), BodyHash: sum[:], CreatedAt: time.Now().UTC()}
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
