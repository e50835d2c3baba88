package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Rule names the SOP rule that forbids a command now (409).
	Rule   string             `json:"rule,omitempty"`
	Errors []cases.FieldError `json:"errors,omitempty"`
	// RetryAfter, when set, is answered as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

const problemBase = "urn:nrm:problem:"

// Problem types: stable identifiers clients may branch on.
const (
	ProblemMalformed     = "malformed-request"
	ProblemValidation    = "validation"
	ProblemUnauthorized  = "unauthenticated"
	ProblemForbidden     = "forbidden"
	ProblemNotFound      = "not-found"
	ProblemMethod        = "method-not-allowed"
	ProblemTooLarge      = "too-large"
	ProblemUnsupported   = "unsupported-media-type"
	ProblemUnavailable   = "unavailable"
	ProblemInternal      = "internal"
	ProblemBadCredential = "bad-credentials"
	ProblemSOPRule       = "sop-rule"
	ProblemIdempotency   = "idempotency-key"
	ProblemRateLimited   = "rate-limited"
	ProblemCSRF          = "csrf"
	ProblemDirectoryRule = "directory-rule"
	// An attachment destroyed with the person's identity (410), and a file
	// whose content is of no accepted type (415).
	ProblemGone     = "gone"
	ProblemFileType = "unsupported-file-type"
)

// UnavailableRetryAfter is the Retry-After of a 503 answered while
// PostgreSQL or Temporal is unavailable.
const UnavailableRetryAfter = 3 * time.Second

// problemError carries a ready problem through Fiber's error path.
type problemError struct{ p Problem }

func (e *problemError) Error() string { return e.p.Title }

func newProblem(status int, typ, detail string) *problemError {
	return &problemError{Problem{Type: problemBase + typ, Title: http.StatusText(status), Status: status, Detail: detail}}
}

// toProblem is the one mapping from errors to HTTP problems. Anything it does
// not recognise is a 500 whose detail reveals nothing.
func toProblem(err error) (Problem, bool) {
	var pe *problemError
	var ve *cases.ValidationError
	var fe *fiber.Error
	var re *cases.RuleError
	var dfe *directory.FieldError
	switch {
	case errors.As(err, &re):
		p := newProblem(http.StatusConflict, ProblemSOPRule, re.Detail).p
		p.Rule = re.Rule
		return p, true
	case errors.As(err, &pe):
		return pe.p, true
	case errors.As(err, &dfe):
		p := newProblem(http.StatusUnprocessableEntity, ProblemValidation, "the request has invalid fields").p
		p.Errors = []cases.FieldError{{Field: dfe.Field, Rule: dfe.Rule, Message: dfe.Err.Error()}}
		return p, true
	case errors.Is(err, ErrCSRF):
		return newProblem(http.StatusForbidden, ProblemCSRF, "cross-site request refused, or the form lacks the session's CSRF token").p, true
	case errors.Is(err, directory.ErrSelf):
		p := newProblem(http.StatusConflict, ProblemDirectoryRule, err.Error()).p
		p.Rule = "self_deactivation"
		return p, true
	case errors.Is(err, directory.ErrLastAdmin):
		p := newProblem(http.StatusConflict, ProblemDirectoryRule, err.Error()).p
		p.Rule = "last_admin"
		return p, true
	case errors.As(err, &ve):
		p := newProblem(http.StatusUnprocessableEntity, ProblemValidation, "the request has invalid fields").p
		p.Errors = ve.Errors
		return p, true
	case errors.Is(err, cases.ErrAttachmentGone):
		return newProblem(http.StatusGone, ProblemGone, "the attachment was destroyed with the person's identity").p, true
	case errors.Is(err, cases.ErrFileTooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, ProblemTooLarge, "the file is larger than allowed").p, true
	case errors.Is(err, cases.ErrFileType):
		return newProblem(http.StatusUnsupportedMediaType, ProblemFileType, "the file is not a PDF, JPEG, PNG, TIFF or HEIC document (told by its content, not its name)").p, true
	case errors.Is(err, cases.ErrFileRead):
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the multipart body could not be read").p, true
	case errors.Is(err, cases.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return newProblem(http.StatusNotFound, ProblemNotFound, "no such resource").p, true
	case errors.Is(err, cases.ErrForbidden):
		return newProblem(http.StatusForbidden, ProblemForbidden, "your role may not do this").p, true
	case errors.Is(err, auth.ErrNoSession):
		return newProblem(http.StatusUnauthorized, ProblemUnauthorized, "sign in first: send Authorization: Bearer <token> or the session cookie").p, true
	case errors.Is(err, auth.ErrBadCredentials):
		return newProblem(http.StatusUnauthorized, ProblemBadCredential, "email or password is wrong").p, true
	case errors.Is(err, auth.ErrBusy):
		p := newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "the server is busy checking passwords; try again shortly").p
		p.RetryAfter = int(auth.BusyRetryAfter / time.Second)
		return p, true
	case errors.As(err, &fe):
		return fiberProblem(fe)
	case store.Unavailable(err), cases.Unavailable(err):
		// PostgreSQL or Temporal is away (restarting, cut off) or did not
		// answer within the request's time: nothing was acknowledged, and
		// the same request (with its Idempotency-Key) may be sent again.
		p := newProblem(http.StatusServiceUnavailable, ProblemUnavailable, "a service NRM depends on is unavailable; try again shortly").p
		p.RetryAfter = int(UnavailableRetryAfter / time.Second)
		return p, true
	}
	return newProblem(http.StatusInternalServerError, ProblemInternal, "an internal error occurred; quote the request ID to support").p, false
}

func fiberProblem(fe *fiber.Error) (Problem, bool) {
	switch fe.Code {
	case fiber.StatusRequestEntityTooLarge:
		return newProblem(fe.Code, ProblemTooLarge, "the request body is larger than allowed").p, true
	case fiber.StatusNotFound:
		return newProblem(fe.Code, ProblemNotFound, "no such resource").p, true
	case fiber.StatusMethodNotAllowed:
		return newProblem(fe.Code, ProblemMethod, "method not allowed on this resource").p, true
	case fiber.StatusBadRequest:
		return newProblem(fe.Code, ProblemMalformed, "the request could not be read").p, true
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return newProblem(fe.Code, ProblemMalformed, http.StatusText(fe.Code)).p, true
	}
	return newProblem(http.StatusInternalServerError, ProblemInternal, "an internal error occurred; quote the request ID to support").p, false
}

// errorHandler answers every error as problem+json and logs the unexpected
// ones. The detail and validation messages are in the language the request's
// Accept-Language asks for (i18n.go), said in Content-Language.
//
// The server also calls it for a request it refuses before any middleware
// runs (fasthttp's refusals: a body over the limit, 413; headers too large,
// 431; a request it cannot parse, 400; a read timeout, 408): such an answer
// gets its request ID and the security headers here, and its log line.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	if requestID(c) == "" {
		identify(c)
		setSecurityHeaders(c)
		defer func() {
			if s.log != nil {
				s.log.Info("http", "request_id", requestID(c), "method", c.Method(), "route", routeOf(c),
					"status", c.Response().StatusCode(), "refused", "before routing")
			}
		}()
	}
	p, known := toProblem(err)
	switch {
	case !known:
		s.log.Error("request failed", "request_id", requestID(c), "route", routeOf(c), "error", err)
	case p.Status == http.StatusServiceUnavailable && s.log != nil:
		s.log.Warn("request answered 503", "request_id", requestID(c), "route", routeOf(c), "error", err)
	}
	if p.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(p.RetryAfter))
	}
	lang := problemMessages.language(c.Get(fiber.HeaderAcceptLanguage))
	p = problemMessages.localize(p, lang)
	body, _ := jsonProblem(p, requestID(c))
	c.Set(fiber.HeaderContentType, "application/problem+json")
	c.Set(fiber.HeaderContentLanguage, lang)
	c.Vary(fiber.HeaderAcceptLanguage)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.Status).Send(body)
}

func jsonProblem(p Problem, requestID string) ([]byte, error) {
	p.RequestID = requestID
	return json.Marshal(p)
}
