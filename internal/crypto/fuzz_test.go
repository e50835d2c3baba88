package crypto_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nrm-tm/nrm/internal/crypto"
)

// fuzzKey is the data key of FuzzOpen and of its committed seed corpus
// (testdata/fuzz/FuzzOpen); seed "valid" opens under it for case fuzzCase,
// column "narrative".
var fuzzKey = bytes.Repeat([]byte{0x42}, crypto.KeySize)

const fuzzCase = "00000000-0000-4000-8000-000000000001"

func FuzzOpen(f *testing.F) {
	ct, err := crypto.Seal(fuzzKey, fuzzCase, "narrative", []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Fuzz(func(t *testing.T, ciphertext []byte) {
		plain, err := crypto.Open(fuzzKey, fuzzCase, "narrative", ciphertext)
		if err != nil {
			if !errors.Is(err, crypto.ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		// Whatever opens must seal back and open to the same plaintext.
		again, err := crypto.Seal(fuzzKey, fuzzCase, "narrative", plain)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := crypto.Open(fuzzKey, fuzzCase, "narrative", again); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("re-seal round trip: %v", err)
		}
	})
}
