package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
)

const (
	// aadSecret prefixes the AAD of sealed secrets. It differs from
	// aadDataKey, so a sealed secret cannot pass for a wrapped data key, nor
	// the reverse.
	aadSecret = "nrm-secret"
	// infoRateLimitKey is the HKDF info of the rate-limit pseudonym key.
	infoRateLimitKey = "nrm-rate-limit-v1"
	// maxSecret bounds what SealSecret accepts: it is for keys and tokens,
	// not for data (identity data goes under a case's data key).
	maxSecret = 1024
)

// SealSecret encrypts a small secret that the server itself must use in
// clear later — a webhook's HMAC key, which the receiver holds too, so it
// cannot be stored hashed — directly under the current master key, as data
// keys are wrapped. The ciphertext is bound to purpose (the table and column)
// and id (the row): AAD "nrm-secret\x00"+purpose+"\x00"+id, so copied to
// another row or column it no longer opens. Rewrap-style rotation is
// ResealSecret.
func (r *Keyring) SealSecret(purpose, id string, plain []byte) (WrappedKey, error) {
	aad, err := secretAAD(purpose, id)
	if err != nil {
		return WrappedKey{}, err
	}
	if len(plain) == 0 || len(plain) > maxSecret {
		return WrappedKey{}, fmt.Errorf("seal %s: a secret must be 1 to %d bytes, got %d", purpose, maxSecret, len(plain))
	}
	return r.sealUnder(plain, aad), nil
}

// OpenSecret decrypts a secret sealed by SealSecret for the same purpose and
// id: ErrUnknownKeyID when its master key is not in the ring, ErrDecrypt when
// it does not authenticate (tampered, or moved to another row).
func (r *Keyring) OpenSecret(purpose, id string, w WrappedKey) ([]byte, error) {
	aad, err := secretAAD(purpose, id)
	if err != nil {
		return nil, err
	}
	plain, err := r.open(w, aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", purpose, err)
	}
	return plain, nil
}

// ResealSecret re-encrypts a sealed secret under the current master key; one
// already sealed under it is checked and returned as a copy.
func (r *Keyring) ResealSecret(purpose, id string, w WrappedKey) (WrappedKey, error) {
	plain, err := r.OpenSecret(purpose, id, w)
	if err != nil {
		return WrappedKey{}, err
	}
	defer clear(plain)
	if w.KeyID == r.current {
		return WrappedKey{KeyID: w.KeyID, Ciphertext: append([]byte(nil), w.Ciphertext...)}, nil
	}
	aad, _ := secretAAD(purpose, id) // checked by OpenSecret
	return r.sealUnder(plain, aad), nil
}

// RateLimitKey is the key under which the API pseudonymises what it counts
// requests by (client addresses, user IDs) before they reach the database:
// HKDF-SHA256 of the current master key, info "nrm-rate-limit-v1". Every
// replica with the same master key derives the same key, so they share
// counters; after a rotation the counters simply start afresh.
func (r *Keyring) RateLimitKey() []byte {
	k, err := hkdf.Key(sha256.New, r.raw[r.current], nil, infoRateLimitKey, KeySize)
	if err != nil { // only for impossible lengths
		panic("crypto: hkdf: " + err.Error())
	}
	return k
}

// secretAAD refuses NUL in purpose and id, which would make the AAD ambiguous.
func secretAAD(purpose, id string) ([]byte, error) {
	if purpose == "" || id == "" {
		return nil, errors.New("sealing a secret needs a purpose and an ID")
	}
	if strings.IndexByte(purpose, 0) >= 0 || strings.IndexByte(id, 0) >= 0 {
		return nil, errors.New("purpose and ID of a secret must not contain NUL")
	}
	return []byte(aadSecret + "\x00" + purpose + "\x00" + id), nil
}
