package crypto

import (
	"bytes"
	"testing"
)

func TestCSRFKeyIsDerivedAndSeparate(t *testing.T) {
	a := bytes.Repeat([]byte{1}, KeySize)
	b := bytes.Repeat([]byte{2}, KeySize)
	r1, err := NewKeyring(MasterKey{Key: a})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := NewKeyring(MasterKey{Key: a})
	r3, _ := NewKeyring(MasterKey{Key: b}, MasterKey{Key: a})
	k := r1.CSRFKey()
	if len(k) != KeySize || !bytes.Equal(k, r2.CSRFKey()) {
		t.Fatalf("CSRF key not stable for one master key")
	}
	if bytes.Equal(k, r1.IndexKey()) || bytes.Equal(k, a) {
		t.Errorf("CSRF key equals the index key or the master key")
	}
	if bytes.Equal(k, r3.CSRFKey()) {
		t.Errorf("CSRF key does not follow the current master key")
	}
}
