package crypto

import (
	"bytes"
	"testing"
)

func TestCursorKeyIsDerivedAndSeparate(t *testing.T) {
	a := bytes.Repeat([]byte{1}, KeySize)
	r1, _ := NewKeyring(MasterKey{Key: a})
	r2, _ := NewKeyring(MasterKey{Key: a})
	r3, _ := NewKeyring(MasterKey{Key: bytes.Repeat([]byte{2}, KeySize)}, MasterKey{Key: a})
	k := r1.CursorKey()
	if len(k) != KeySize || !bytes.Equal(k, r2.CursorKey()) {
		t.Fatalf("cursor key not stable for one master key")
	}
	for name, other := range map[string][]byte{"index": r1.IndexKey(), "CSRF": r1.CSRFKey(), "rate-limit": r1.RateLimitKey(), "master": a} {
		if bytes.Equal(k, other) {
			t.Errorf("cursor key equals the %s key", name)
		}
	}
	if bytes.Equal(k, r3.CursorKey()) {
		t.Errorf("cursor key does not follow the current master key")
	}
}
