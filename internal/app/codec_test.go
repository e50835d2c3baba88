package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestCodecEndpoints: /codec/encode and /codec/decode speak Temporal's codec
// protocol for good bodies and answer bad ones with 400 problem+json (415
// when not JSON), never a 5xx, never quoting the body.
func TestCodecEndpoints(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	admin := testenv.NewClient(sys).Login(t, "admin@nrm.example")
	b64 := base64.StdEncoding.EncodeToString

	type payload struct {
		Metadata map[string]string `json:"metadata"`
		Data     string            `json:"data"`
	}
	type payloads struct {
		Payloads []payload `json:"payloads"`
	}
	post := func(op string, body []byte, ct string) (int, string, []byte) {
		t.Helper()
		resp := admin.Raw(t, "POST", "/codec/"+op, body, http.Header{"Content-Type": {ct}})
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		testenv.Must(t, err)
		return resp.StatusCode, resp.Header.Get("Content-Type"), data
	}

	// A round trip: encode seals, decode opens.
	plain := payloads{Payloads: []payload{
		{Metadata: map[string]string{"encoding": b64([]byte("json/plain"))}, Data: b64([]byte(`"CANARYCODEC round trip"`))},
		{Metadata: map[string]string{"encoding": b64([]byte("binary/null"))}},
	}}
	in, _ := json.Marshal(plain)
	st, ct, data := post("encode", in, "application/json")
	var sealed payloads
	if st != http.StatusOK || !strings.HasPrefix(ct, "application/json") || json.Unmarshal(data, &sealed) != nil || len(sealed.Payloads) != 2 {
		t.Fatalf("encode: %d %s %s", st, ct, data)
	}
	if bytes.Contains(data, []byte("CANARYCODEC")) || sealed.Payloads[0].Metadata["encoding"] != b64([]byte("binary/encrypted")) {
		t.Errorf("encode did not encrypt: %s", data)
	}
	st, _, data = post("decode", mustJSON(t, sealed), "application/json")
	var opened payloads
	if st != http.StatusOK || json.Unmarshal(data, &opened) != nil || len(opened.Payloads) != 2 ||
		opened.Payloads[0].Data != plain.Payloads[0].Data || opened.Payloads[0].Metadata["encoding"] != plain.Payloads[0].Metadata["encoding"] {
		t.Fatalf("decode: %d %s, want the original payloads", st, data)
	}
	// Unencrypted payloads pass decode unchanged; no payloads is no payloads.
	if st, _, data := post("decode", in, "application/json"); st != http.StatusOK || !bytes.Contains(data, []byte(plain.Payloads[0].Data)) {
		t.Errorf("decode of plain payloads: %d %s", st, data)
	}
	for _, op := range []string{"encode", "decode"} {
		for _, body := range []string{`{}`, `{"payloads":[]}`} {
			if st, _, data := post(op, []byte(body), "application/json"); st != http.StatusOK {
				t.Errorf("%s %s: %d %s, want 200", op, body, st, data)
			}
		}
	}

	// A sealed payload whose ciphertext was changed, whose key is unknown,
	// or which is too short to hold a nonce: decode refuses it.
	tampered := mustJSON(t, sealed)
	ct0, _ := base64.StdEncoding.DecodeString(sealed.Payloads[0].Data)
	ct0[len(ct0)-1] ^= 1
	var tamperedP payloads
	testenv.Must(t, json.Unmarshal(tampered, &tamperedP))
	tamperedP.Payloads[0].Data = b64(ct0)
	encrypted := b64([]byte("binary/encrypted"))
	keyID := b64([]byte(sys.Keys.CurrentKeyID()))
	undecryptable := map[string][]byte{
		"tampered ciphertext": mustJSON(t, tamperedP),
		"unknown key": mustJSON(t, payloads{Payloads: []payload{{Metadata: map[string]string{"encoding": encrypted,
			"encryption-key-id": b64([]byte("0123456789abcdef"))}, Data: sealed.Payloads[0].Data}}}),
		"no key ID": mustJSON(t, payloads{Payloads: []payload{{Metadata: map[string]string{"encoding": encrypted}, Data: sealed.Payloads[0].Data}}}),
		"short ciphertext": mustJSON(t, payloads{Payloads: []payload{{Metadata: map[string]string{"encoding": encrypted,
			"encryption-key-id": keyID}, Data: b64([]byte("CANARYCODEC"))}}}),
		"random ciphertext": mustJSON(t, payloads{Payloads: []payload{{Metadata: map[string]string{"encoding": encrypted,
			"encryption-key-id": keyID}, Data: b64(bytes.Repeat([]byte("CANARYCODEC"), 10))}}}),
	}

	malformed := map[string][]byte{
		"not JSON":               []byte(`CANARYCODEC not json`),
		"empty body":             nil,
		"truncated":              []byte(`{"payloads":[{"data":"Q0FOQVJZQ09ERUM=`),
		"an array":               []byte(`["CANARYCODEC"]`),
		"a string":               []byte(`"CANARYCODEC"`),
		"payloads not an array":  []byte(`{"payloads":{"data":"CANARYCODEC"}}`),
		"payload not an object":  []byte(`{"payloads":["CANARYCODEC"]}`),
		"unknown field":          []byte(`{"payloads":[],"CANARYCODEC":1}`),
		"unknown payload field":  []byte(`{"payloads":[{"CANARYCODEC":"x"}]}`),
		"data not base64":        []byte(`{"payloads":[{"data":"CANARYCODEC!!"}]}`),
		"metadata not base64":    []byte(`{"payloads":[{"metadata":{"encoding":"CANARY CODEC?"}}]}`),
		"metadata not an object": []byte(`{"payloads":[{"metadata":"CANARYCODEC"}]}`),
		"data a number":          []byte(`{"payloads":[{"data":12345}]}`),
		"two values":             []byte(`{"payloads":[]}{"CANARYCODEC":1}`),
		"NUL escape":             []byte(`{"payloads":[{"metadata":{"\u0000CANARYCODEC":"eA=="}}]}`),
	}
	check := func(op, name string, body []byte, ct string, want int) {
		t.Helper()
		st, gotCT, data := post(op, body, ct)
		var p problem
		if st != want || !strings.HasPrefix(gotCT, "application/problem+json") || json.Unmarshal(data, &p) != nil || p.Status != want {
			t.Errorf("%s, %s: %d %s %s; want %d problem+json", op, name, st, gotCT, data, want)
		}
		if bytes.Contains(data, []byte("CANARY")) || bytes.Contains(data, []byte("Q0FOQVJZ")) {
			t.Errorf("%s, %s: the problem quotes the body: %s", op, name, data)
		}
	}
	for name, body := range malformed {
		for _, op := range []string{"encode", "decode"} {
			if name == "NUL escape" {
				// A NUL in a metadata key is valid protobuf JSON: no refusal
				// required, only no 5xx.
				if st, _, _ := post(op, body, "application/json"); st >= 500 {
					t.Errorf("%s, %s: %d", op, name, st)
				}
				continue
			}
			check(op, name, body, "application/json", http.StatusBadRequest)
		}
	}
	for name, body := range undecryptable {
		check("decode", name, body, "application/json", http.StatusBadRequest)
	}
	check("decode", "text/plain", in, "text/plain", http.StatusUnsupportedMediaType)
	check("encode", "no content type", in, "", http.StatusUnsupportedMediaType)

	// Every use, good or bad, is audited.
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE action LIKE 'temporal.codec/%'`))
	if n == 0 {
		t.Errorf("no codec use audited")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	testenv.Must(t, err)
	return data
}
