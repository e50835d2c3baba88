package api

import (
	"mime"
	"net/http"

	"github.com/gofiber/fiber/v2"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// codec is Temporal's remote codec protocol (POST /codec/encode and
// /codec/decode), for administrators only: the Temporal UI or CLI shows
// decrypted payloads to an operator who sends an administrator's bearer
// token (`temporal workflow show --codec-endpoint http://host:8080/codec
// --codec-auth "Bearer <token>"`). Every use is audited.
//
// It speaks the protocol of converter.NewPayloadCodecHTTPHandler — the body
// is the protobuf JSON of temporal.api.common.v1.Payloads,
// {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]}, read
// as Temporal reads it, and the answer is written as Temporal writes it — but
// answers a body it cannot use as every route does: 415 when not JSON, 400
// problem+json when not Payloads or when a payload does not decrypt. The
// detail never quotes the body.
func (s *Server) codec(c *fiber.Ctx) error {
	if s.deps.Codec == nil {
		return fiber.ErrNotFound
	}
	op := c.Path()[len("/codec"):]
	s.audit(c, "temporal.codec"+op, nil)
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the body as application/json")
	}
	var in commonpb.Payloads
	if err := protojson.Unmarshal(c.Body(), &in); err != nil {
		return newProblem(http.StatusBadRequest, ProblemMalformed,
			`the body must be Temporal payloads: {"payloads":[{"metadata":{"<key>":"<base64>"},"data":"<base64>"}]}`)
	}
	var out []*commonpb.Payload
	if op == "/encode" {
		if out, err = s.deps.Codec.Encode(in.Payloads); err != nil {
			return newProblem(http.StatusBadRequest, ProblemMalformed, "a payload could not be encoded")
		}
	} else if out, err = s.deps.Codec.Decode(in.Payloads); err != nil {
		return newProblem(http.StatusBadRequest, ProblemMalformed,
			"a payload could not be decoded: it is malformed, tampered with or encrypted under a key this server does not hold")
	}
	return c.JSON(&commonpb.Payloads{Payloads: out})
}
