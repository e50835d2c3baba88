package crypto_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nrm-tm/nrm/internal/crypto"
)

// A chunk opens only at its place: the same case, attachment, index and
// final flag; altered, moved or under another key it is ErrDecrypt.
func TestChunkRoundTripAndBinding(t *testing.T) {
	key := bytes.Repeat([]byte{7}, crypto.KeySize)
	other := bytes.Repeat([]byte{8}, crypto.KeySize)
	plain := []byte("%PDF-1.7 marker-3f9c2 chunk")
	ct, err := crypto.SealChunk(key, "case-a", "att-1", 2, false, plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(plain)+crypto.ChunkOverhead || bytes.Contains(ct, []byte("marker-3f9c2")) {
		t.Fatalf("ciphertext of %d bytes for %d of plaintext, or holds the plaintext", len(ct), len(plain))
	}
	got, err := crypto.OpenChunk(key, "case-a", "att-1", 2, false, ct)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q, %v", got, err)
	}
	again, _ := crypto.SealChunk(key, "case-a", "att-1", 2, false, plain)
	if bytes.Equal(again, ct) {
		t.Error("two seals of one chunk are equal: the nonce is not random")
	}
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other key":        func() ([]byte, error) { return crypto.OpenChunk(other, "case-a", "att-1", 2, false, ct) },
		"other case":       func() ([]byte, error) { return crypto.OpenChunk(key, "case-b", "att-1", 2, false, ct) },
		"other attachment": func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-2", 2, false, ct) },
		"other index":      func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-1", 1, false, ct) },
		"said final":       func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-1", 2, true, ct) },
		"tampered":         func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-1", 2, false, tampered) },
		"truncated":        func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-1", 2, false, ct[:10]) },
		"empty":            func() ([]byte, error) { return crypto.OpenChunk(key, "case-a", "att-1", 2, false, nil) },
	} {
		if _, err := open(); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
	if _, err := crypto.SealChunk(key, "case\x00a", "att-1", 0, true, plain); err == nil {
		t.Error("a NUL in the case ID was accepted")
	}
	if _, err := crypto.SealChunk(key[:16], "case-a", "att-1", 0, true, plain); err == nil {
		t.Error("a short data key was accepted")
	}
}
