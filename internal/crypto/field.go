package crypto

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// fieldV1 is the version byte of field and attachment-chunk ciphertexts:
// 0x01 || 12-byte nonce || AES-256-GCM ciphertext and tag.
const fieldV1 byte = 0x01

// fieldOverhead is the size of a v1 ciphertext of an empty plaintext.
const fieldOverhead = 1 + 12 + 16

// Seal encrypts one identity field of a case under the case's data key. The
// ciphertext is bound to caseID and column (AAD "nrm-field\x00"+caseID+"\x00"+column):
// moved to another case or column it no longer opens. Empty plaintexts are
// encrypted too, so that an empty field is not told apart from a filled one.
func Seal(dataKey []byte, caseID, column string, plaintext []byte) ([]byte, error) {
	aad, err := fieldAAD(caseID, column)
	if err != nil {
		return nil, err
	}
	return sealV1(dataKey, aad, plaintext, column)
}

// Open decrypts a field sealed by Seal for the same case and column. Every
// failure to authenticate is ErrDecrypt; it never panics on malformed input.
func Open(dataKey []byte, caseID, column string, ciphertext []byte) ([]byte, error) {
	aad, err := fieldAAD(caseID, column)
	if err != nil {
		return nil, err
	}
	return openV1(dataKey, aad, ciphertext, column)
}

// sealV1 encrypts plaintext under dataKey bound to aad, in the v1 format
// fields and attachment chunks share; what names it in errors.
func sealV1(dataKey, aad, plaintext []byte, what string) ([]byte, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("seal %s: data key must be %d bytes, got %d", what, KeySize, len(dataKey))
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), fieldOverhead+len(plaintext))
	out[0] = fieldV1
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, aad), nil
}

// openV1 decrypts what sealV1 sealed with the same aad. Every failure to
// authenticate is ErrDecrypt; it never panics on malformed input.
func openV1(dataKey, aad, ciphertext []byte, what string) ([]byte, error) {
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("open %s: data key must be %d bytes, got %d", what, KeySize, len(dataKey))
	}
	if len(ciphertext) < fieldOverhead || ciphertext[0] != fieldV1 {
		return nil, fmt.Errorf("open %s: %w", what, ErrDecrypt)
	}
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	ns := aead.NonceSize()
	plain, err := aead.Open(nil, ciphertext[1:1+ns], ciphertext[1+ns:], aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, ErrDecrypt)
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// fieldAAD refuses NUL in caseID and column, which would make the AAD ambiguous.
func fieldAAD(caseID, column string) ([]byte, error) {
	if caseID == "" || column == "" {
		return nil, errors.New("field encryption needs a case ID and a column name")
	}
	if strings.IndexByte(caseID, 0) >= 0 || strings.IndexByte(column, 0) >= 0 {
		return nil, errors.New("case ID and column name must not contain NUL")
	}
	return []byte("nrm-field\x00" + caseID + "\x00" + column), nil
}
