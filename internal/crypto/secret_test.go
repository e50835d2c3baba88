package crypto_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nrm-tm/nrm/internal/crypto"
)

func TestSealSecretBindingAndRotation(t *testing.T) {
	const purpose, id = "agency_channels.secret", "5f0c3a52-8f7e-4c59-a0a6-3d3e0f8f8d11"
	oldKey, newMaster := newKey(t, 1), newKey(t, 2)
	old := ring(t, oldKey)
	secret := []byte("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	sealed, err := old.SealSecret(purpose, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if sealed.KeyID != old.CurrentKeyID() || bytes.Contains(sealed.Ciphertext, secret) {
		t.Fatalf("sealed %+v", sealed)
	}
	if got, err := old.OpenSecret(purpose, id, sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	// Bound to the row, the column, and to being a secret rather than a data key.
	for _, c := range []struct{ purpose, id string }{{purpose, "another-row"}, {"agency_channels.target", id}} {
		if _, err := old.OpenSecret(c.purpose, c.id, sealed); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("opened as %s/%s: %v, want ErrDecrypt", c.purpose, c.id, err)
		}
	}
	if _, err := old.Unwrap(sealed); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("a sealed secret unwraps as a data key: %v", err)
	}
	_, wrapped, _ := old.NewDataKey()
	if _, err := old.OpenSecret(purpose, id, wrapped); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("a wrapped data key opens as a secret: %v", err)
	}
	for i := range sealed.Ciphertext {
		bad := crypto.WrappedKey{KeyID: sealed.KeyID, Ciphertext: bytes.Clone(sealed.Ciphertext)}
		bad.Ciphertext[i] ^= 0x01
		if _, err := old.OpenSecret(purpose, id, bad); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		purpose, id string
		plain       []byte
	}{{"", id, secret}, {purpose, "", secret}, {purpose, "a\x00b", secret}, {purpose, id, nil}, {purpose, id, make([]byte, 1025)}} {
		if _, err := old.SealSecret(c.purpose, c.id, c.plain); err == nil {
			t.Errorf("SealSecret(%q, %q, %d bytes) accepted", c.purpose, c.id, len(c.plain))
		}
	}

	// Rotation: reseal under the new key, after which the old key may go.
	onlyNew := ring(t, newMaster)
	if _, err := onlyNew.OpenSecret(purpose, id, sealed); !errors.Is(err, crypto.ErrUnknownKeyID) {
		t.Fatalf("open without the key: %v, want ErrUnknownKeyID", err)
	}
	rotating := ring(t, newMaster, oldKey)
	moved, err := rotating.ResealSecret(purpose, id, sealed)
	if err != nil || moved.KeyID != newMaster.ID {
		t.Fatalf("ResealSecret = %+v, %v", moved, err)
	}
	if _, err := rotating.ResealSecret(purpose, "another-row", sealed); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("reseal under another ID: %v, want ErrDecrypt", err)
	}
	again, err := rotating.ResealSecret(purpose, id, moved)
	if err != nil || !bytes.Equal(again.Ciphertext, moved.Ciphertext) {
		t.Errorf("resealing a current secret: %+v, %v; want a copy", again, err)
	}
	if got, err := onlyNew.OpenSecret(purpose, id, moved); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open after rotation = %q, %v", got, err)
	}
}

func TestRateLimitKey(t *testing.T) {
	a, b := ring(t, newKey(t, 1)), ring(t, newKey(t, 1), newKey(t, 2))
	if k := a.RateLimitKey(); len(k) != crypto.KeySize || !bytes.Equal(k, b.RateLimitKey()) {
		t.Error("two rings with the same current key derive different rate-limit keys")
	}
	if bytes.Equal(a.RateLimitKey(), a.IndexKey()) || bytes.Equal(a.RateLimitKey(), ring(t, newKey(t, 2)).RateLimitKey()) {
		t.Error("the rate-limit key equals the index key or another master key's")
	}
}
