package api

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Request bodies are read as streams (fasthttp's StreamRequestBody), so
// that an attachment's upload (POST …/cases/{id}/attachments, of the API
// and of the web UI) is encrypted and stored chunk by chunk as it arrives
// and never held whole in memory — nor spilled in clear to a temporary file,
// which fasthttp's own multipart parsing would do (DisablePreParseMultipartForm).
//
// Every other request keeps NRM_BODY_LIMIT exactly as before:
//
//   - a declared Content-Length over the limit is refused on the headers
//     alone, before a byte of the body is read (413): HeaderReceived marks
//     the request and tells fasthttp there is no body to read, and
//     withBoundedBody answers it and closes the connection, since the body
//     the client may still send is never read;
//   - a body of unknown length (chunked) is read up to the limit and
//     refused above it (413, the connection closed);
//   - a body within the limit is read whole before the route runs, so that
//     handlers see c.Body() as they always did.

// tooLargeHeader marks a request whose declared body is over the limit. A
// client's own header of this name is removed before anything reads it.
const tooLargeHeader = "X-Nrm-Body-Over-Limit"

// uploadReadTimeout is how long a streamed upload may take to arrive: 20 MB
// over a slow mobile link, not the 30 s of every other request.
const uploadReadTimeout = 10 * time.Minute

// streamedPath matches the routes that read their body as a stream: the
// attachment uploads of the API and of the web UI.
var streamedPath = regexp.MustCompile(`^(?:/api/v1)?/cases/[^/]+/attachments$`)

// streamsBody reports whether a request's body is left to its route to read.
func streamsBody(method, path string) bool {
	return method == fiber.MethodPost && streamedPath.MatchString(path)
}

// configureBodies sets the server up for streamed bodies (see above).
func (s *Server) configureBodies() {
	srv := s.app.Server()
	srv.StreamRequestBody = true
	srv.DisablePreParseMultipartForm = true
	limit := s.deps.BodyLimit
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		h.Del(tooLargeHeader)
		path, _, _ := strings.Cut(string(h.RequestURI()), "?")
		if streamsBody(string(h.Method()), path) {
			return fasthttp.RequestConfig{ReadTimeout: uploadReadTimeout}
		}
		if h.ContentLength() > limit {
			h.Set(tooLargeHeader, "1")
			h.SetContentLength(0)
			// The final answer (413) instead of "100 Continue": the client
			// then does not start sending a body that is never read.
			h.Del(fiber.HeaderExpect)
		}
		return fasthttp.RequestConfig{}
	}
}

var errTooLarge = fiber.NewError(http.StatusRequestEntityTooLarge, "body over the limit")

// withBoundedBody applies the body limit to every request but the streamed
// uploads, and reads a body within it before the route runs.
func (s *Server) withBoundedBody(c *fiber.Ctx) error {
	req := c.Request()
	if len(req.Header.Peek(tooLargeHeader)) > 0 {
		c.Response().SetConnectionClose()
		return errTooLarge
	}
	if streamsBody(c.Method(), c.Path()) {
		// The route reads as much of the body as it needs, and a refusal
		// (401, 404, 413 …) may leave the rest unread: the connection is
		// not reused for another request.
		c.Response().SetConnectionClose()
		return c.Next()
	}
	if !req.IsBodyStream() {
		return c.Next()
	}
	limit := int64(s.deps.BodyLimit)
	data, err := io.ReadAll(io.LimitReader(req.BodyStream(), limit+1))
	if err != nil && !errors.Is(err, io.EOF) {
		c.Response().SetConnectionClose()
		return newProblem(http.StatusBadRequest, ProblemMalformed, "the request body could not be read")
	}
	if int64(len(data)) > limit {
		c.Response().SetConnectionClose()
		return errTooLarge
	}
	req.SetBody(data)
	return c.Next()
}

// drainBody reads what is left of a streamed body, up to most bytes, so that
// a client still sending it receives the answer; beyond that, or when the
// body cannot be read, the connection is closed after the answer.
func drainBody(c *fiber.Ctx, r io.Reader, most int64) {
	if r == nil {
		return
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, most+1))
	if err != nil || n > most {
		c.Response().SetConnectionClose()
	}
}
