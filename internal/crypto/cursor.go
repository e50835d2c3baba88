package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// infoCursorKey is the HKDF info of the key that signs list cursors.
const infoCursorKey = "nrm-cursor-v1"

// CursorKey signs the opaque cursors of paged lists (GET /api/v1/cases,
// GET /api/v1/referrals): HKDF-SHA256 of the current master key, info
// "nrm-cursor-v1". Every replica with the same master key derives the same
// key, so a page's cursor is good on any replica; after a rotation the
// cursors given out before it are refused (the client starts again from the
// first page).
func (r *Keyring) CursorKey() []byte {
	k, err := hkdf.Key(sha256.New, r.raw[r.current], nil, infoCursorKey, KeySize)
	if err != nil { // only for impossible lengths
		panic("crypto: hkdf: " + err.Error())
	}
	return k
}
