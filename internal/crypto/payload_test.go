package crypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

func ring(t *testing.T) (*Keyring, MasterKey) {
	k := make([]byte, KeySize)
	rand.Read(k)
	mk := MasterKey{ID: KeyID(k), Key: k}
	r, err := NewKeyring(mk)
	if err != nil {
		t.Fatal(err)
	}
	return r, mk
}

func TestPayloadCodecRoundTripAndRotation(t *testing.T) {
	oldRing, oldKey := ring(t)
	codec := NewPayloadCodec(oldRing)
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec)
	p, err := dc.ToPayload(map[string]string{"case_id": "marker-123"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte("marker-123")) || string(p.Metadata["encoding"]) != payloadEncoding {
		t.Fatalf("payload not encrypted: %q", p.Data)
	}
	var back map[string]string
	if err := dc.FromPayload(p, &back); err != nil || back["case_id"] != "marker-123" {
		t.Fatalf("round trip: %v %v", back, err)
	}
	// After rotation the new ring still reads old payloads while the old key is in it.
	newRing, newKey := ring(t)
	rotated, err := NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), NewPayloadCodec(rotated)).FromPayload(p, &back); err != nil {
		t.Errorf("rotated ring cannot read an old payload: %v", err)
	}
	if _, err := NewPayloadCodec(newRing).Decode([]*commonpb.Payload{p}); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("a ring without the key: %v, want ErrUnknownKeyID", err)
	}
	// Tampering is detected; plain payloads pass through.
	bad := &commonpb.Payload{Metadata: p.Metadata, Data: append([]byte(nil), p.Data...)}
	bad.Data[len(bad.Data)-1] ^= 1
	if _, err := codec.Decode([]*commonpb.Payload{bad}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("tampered payload: %v", err)
	}
	plain, _ := converter.GetDefaultDataConverter().ToPayload("x")
	if out, err := codec.Decode([]*commonpb.Payload{plain}); err != nil || out[0] != plain {
		t.Errorf("plain payload must pass through: %v", err)
	}
}
