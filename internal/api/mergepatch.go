package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// mimeMergePatch is the media type of a JSON merge patch (RFC 7396), the
// body of the correction routes (PATCH /api/v1/cases/{id}, …/person).
const mimeMergePatch = "application/merge-patch+json"

// decodeMergePatch reads a JSON merge patch strictly into dst, as decode
// reads a JSON body (unknown fields, wrong types, keys given twice: 422;
// malformed: 400), and answers which members the patch set to null, by
// their path ("family_name", "encounter.place"): a merge patch tells "leave
// it" (absent) from "remove it" (null), which a decoded struct cannot.
func decodeMergePatch(c *fiber.Ctx, dst any) (map[string]bool, error) {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != mimeMergePatch {
		return nil, newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the body as application/merge-patch+json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, newProblem(http.StatusUnsupportedMediaType, ProblemUnsupported, "send the body as application/merge-patch+json in UTF-8 (charset=utf-8 or none)")
	}
	if err := decodeBody(c.Body(), dst); err != nil {
		return nil, err
	}
	return nullMembers(c.Body(), ""), nil
}

// nullMembers lists the members of the object body that are null, and
// those of the objects it holds, by path under prefix. body was decoded
// already: anything else in it is no object and holds none.
func nullMembers(body []byte, prefix string) map[string]bool {
	out := map[string]bool{}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return out
	}
	for k, raw := range members {
		v := bytes.TrimSpace(raw)
		switch {
		case string(v) == "null":
			out[prefix+k] = true
		case len(v) > 0 && v[0] == '{':
			for sub := range nullMembers(v, prefix+k+".") {
				out[sub] = true
			}
		}
	}
	return out
}
