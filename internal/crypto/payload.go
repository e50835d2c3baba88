package crypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Payload metadata of an encrypted Temporal payload.
const (
	payloadEncoding = "binary/encrypted"
	metaEncoding    = "encoding"
	metaKeyID       = "encryption-key-id"
	infoPayloadKey  = "nrm-temporal-payload-v1"
)

var payloadAAD = []byte("nrm-temporal-payload")

// PayloadCodec encrypts every Temporal payload (inputs, results, updates,
// signals, queries) with AES-256-GCM under a key derived from the master key.
// Nothing personal enters Temporal anyway; this is defence in depth.
// Payloads written without the codec pass through Decode unchanged.
type PayloadCodec struct {
	ring *Keyring
}

// NewPayloadCodec returns the codec of a keyring.
func NewPayloadCodec(r *Keyring) *PayloadCodec { return &PayloadCodec{ring: r} }

var _ converter.PayloadCodec = (*PayloadCodec)(nil)

func (c *PayloadCodec) key(id string) ([]byte, error) {
	raw, ok := c.ring.raw[id]
	if !ok {
		return nil, fmt.Errorf("payload key: %w (key ID %q)", ErrUnknownKeyID, id)
	}
	return hkdf.Key(sha256.New, raw, nil, infoPayloadKey, KeySize)
}

// Encode seals each payload under the current master key's payload key.
func (c *PayloadCodec) Encode(in []*commonpb.Payload) ([]*commonpb.Payload, error) {
	key, err := c.key(c.ring.current)
	if err != nil {
		return nil, err
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]*commonpb.Payload, len(in))
	for i, p := range in {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize())
		rand.Read(nonce)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metaEncoding: []byte(payloadEncoding), metaKeyID: []byte(c.ring.current)},
			Data:     aead.Seal(nonce, nonce, plain, payloadAAD),
		}
	}
	return out, nil
}

// Decode opens encrypted payloads and passes others through.
func (c *PayloadCodec) Decode(in []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(in))
	for i, p := range in {
		if string(p.GetMetadata()[metaEncoding]) != payloadEncoding {
			out[i] = p
			continue
		}
		key, err := c.key(string(p.GetMetadata()[metaKeyID]))
		if err != nil {
			return nil, err
		}
		aead, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, fmt.Errorf("payload codec: %w", ErrDecrypt)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], payloadAAD)
		if err != nil {
			return nil, fmt.Errorf("payload codec: %w", ErrDecrypt)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("payload codec: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}
