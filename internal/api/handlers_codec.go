package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"go.temporal.io/sdk/converter"
)

// codec is Temporal's remote codec protocol (POST /codec/encode and
// /codec/decode), for administrators only: the Temporal UI or CLI shows
// decrypted payloads to an operator who sends an administrator's bearer
// token (`temporal workflow show --codec-endpoint http://host:8080/codec
// --codec-auth "Bearer <token>"`). Every use is audited.
func (s *Server) codec(c *fiber.Ctx) error {
	if s.deps.Codec == nil {
		return fiber.ErrNotFound
	}
	s.audit(c, "temporal.codec"+c.Path()[len("/codec"):], nil)
	h := converter.NewPayloadCodecHTTPHandler(s.deps.Codec)
	c.Request().URI().SetPath(c.Path()[len("/codec"):])
	return adaptor.HTTPHandler(h)(c)
}
