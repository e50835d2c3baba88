package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// BlindIndex is the keyed index of a combination of values (normalised given
// and family name plus birth date, for instance): hex of HMAC-SHA256 under
// indexKey (Keyring.IndexKey). Equal people give equal indexes, so possible
// duplicates are found without decrypting; without the key the index reveals
// nothing and cannot be brute-forced offline.
//
// Each part is normalised: lower-cased (strings.ToLower), trimmed and with
// runs of white space collapsed to one space, so " Aýna  Berdiýewa " and
// "aýna berdiýewa" match. There is no Unicode normalisation (NFKC needs
// golang.org/x/text, not a direct dependency): a name typed with a combining
// accent ("y" + U+0301) does not match its precomposed form ("ý"). Parts are
// length-prefixed, so ("ab", "c") and ("a", "bc") differ. The order of parts
// matters.
func BlindIndex(indexKey []byte, parts ...string) string {
	mac := hmac.New(sha256.New, indexKey)
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		p = normalise(p)
		mac.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		mac.Write([]byte(p))
	}
	return hex.EncodeToString(mac.Sum(nil))
}

func normalise(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
