// Package crypto protects identity data (docs/architecture.md#identity-encryption) with envelope
// encryption: every case has its own random data key, which encrypts the
// identity fields (Seal, Open) and is stored only wrapped by an operator's
// master key (Keyring). Deleting a case's wrapped data key destroys its
// identity data. Master keys carry a non-secret ID so that a ring can hold the
// current key, which wraps, and older keys, which only unwrap while stored
// data keys are re-wrapped (Rewrap) during a rotation.
//
// Possible duplicates are found with a keyed blind index (BlindIndex), never
// by decrypting.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// KeySize is the size in bytes of master keys, data keys and index keys (AES-256).
const KeySize = 32

// Sentinel errors callers branch on.
var (
	// ErrNoMasterKey: neither NRM_MASTER_KEY nor NRM_MASTER_KEY_FILE is set.
	ErrNoMasterKey = errors.New("no master key: set NRM_MASTER_KEY (base64 of 32 random bytes) or NRM_MASTER_KEY_FILE")
	// ErrUnknownKeyID: a wrapped data key names a master key the ring does not hold.
	ErrUnknownKeyID = errors.New("master key not in the keyring")
	// ErrDecrypt: a ciphertext is malformed, tampered with, bound to another
	// case or column, or encrypted under another key.
	ErrDecrypt = errors.New("decryption failed")
)

const (
	// aadDataKey binds wrapped data keys to their purpose.
	aadDataKey = "nrm-data-key"
	// infoIndexKey is the HKDF info of the blind-index key.
	infoIndexKey = "nrm-blind-index-v1"
	// infoCSRFKey is the HKDF info of the web UI's CSRF key.
	infoCSRFKey = "nrm-csrf-v1"
	// infoOfflineKey is the HKDF info of the secret the officers' keys for
	// screenings taken offline derive from (web/offline.go).
	infoOfflineKey = "nrm-offline-screening-secret-v1"
	// maxKeyFile bounds how much of a key file is read.
	maxKeyFile = 4096
)

// MasterKey is an operator's key-encryption key. ID is KeyID(Key); NewKeyring
// fills it in when empty.
type MasterKey struct {
	ID  string
	Key []byte
}

// WrappedKey is a data key encrypted under the master key KeyID:
// Ciphertext = 12-byte nonce || AES-256-GCM(master, nonce, data key, AAD "nrm-data-key").
// A secret sealed by SealSecret has the same form with its own AAD.
type WrappedKey struct {
	KeyID      string
	Ciphertext []byte
}

// KeyID names a master key without revealing it: the first 8 bytes of its
// SHA-256, in hex (16 characters).
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// ParseMasterKey decodes a master key given as standard base64 of exactly 32
// bytes; surrounding whitespace is ignored. Errors never contain the input.
func ParseMasterKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return nil, errors.New("master key is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("master key is not valid standard base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), got %d bytes", KeySize, len(key))
	}
	return key, nil
}

// LoadMasterKey reads the master key from the value of NRM_MASTER_KEY
// (base64) or from the file named by NRM_MASTER_KEY_FILE (base64 and an
// optional newline). Setting both is an error; setting neither is
// ErrNoMasterKey.
func LoadMasterKey(envValue, filePath string) (MasterKey, error) {
	switch {
	case envValue != "" && filePath != "":
		return MasterKey{}, errors.New("set NRM_MASTER_KEY or NRM_MASTER_KEY_FILE, not both")
	case envValue != "":
		key, err := ParseMasterKey(envValue)
		if err != nil {
			return MasterKey{}, fmt.Errorf("NRM_MASTER_KEY: %w", err)
		}
		return MasterKey{ID: KeyID(key), Key: key}, nil
	case filePath != "":
		return readKeyFile(filePath)
	}
	return MasterKey{}, ErrNoMasterKey
}

func readKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return MasterKey{}, fmt.Errorf("master key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return MasterKey{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return MasterKey{}, fmt.Errorf("master key file %s: too large to be a key", path)
	}
	key, err := ParseMasterKey(string(b))
	if err != nil {
		return MasterKey{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	return MasterKey{ID: KeyID(key), Key: key}, nil
}

// GenerateMasterKeyFile creates path (mode 0600, parent directory 0700 when
// missing) holding a new random master key, unless the file exists, in which
// case it loads the key from it. `nrm dev` keeps its key in its data
// directory this way.
func GenerateMasterKeyFile(path string) (MasterKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return MasterKey{}, fmt.Errorf("master key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	}
	if err != nil {
		return MasterKey{}, fmt.Errorf("create master key file: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key) // never fails (crypto/rand, Go ≥ 1.24)
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return MasterKey{}, fmt.Errorf("write master key file %s: %w", path, err)
	}
	return MasterKey{ID: KeyID(key), Key: key}, nil
}

// Keyring holds master keys by ID: the current one wraps new data keys, the
// older ones only unwrap (during a rotation, until every stored data key is
// re-wrapped). A Keyring is immutable and safe for concurrent use.
type Keyring struct {
	current string
	keys    map[string]cipher.AEAD
	raw     map[string][]byte
}

// NewKeyring builds a ring from the current master key and any older ones.
// Empty IDs are computed; a given ID must match its key.
func NewKeyring(current MasterKey, older ...MasterKey) (*Keyring, error) {
	r := &Keyring{keys: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
	for i, mk := range append([]MasterKey{current}, older...) {
		if len(mk.Key) != KeySize {
			return nil, fmt.Errorf("master key %d: must be %d bytes, got %d", i, KeySize, len(mk.Key))
		}
		id := KeyID(mk.Key)
		if mk.ID != "" && mk.ID != id {
			return nil, fmt.Errorf("master key %d: ID %q does not match the key (its ID is %s)", i, mk.ID, id)
		}
		if i == 0 {
			r.current = id
		}
		if _, dup := r.keys[id]; dup {
			continue
		}
		aead, err := newGCM(mk.Key)
		if err != nil {
			return nil, err
		}
		r.keys[id] = aead
		r.raw[id] = append([]byte(nil), mk.Key...)
	}
	return r, nil
}

// CurrentKeyID is the ID of the master key that wraps new data keys.
func (r *Keyring) CurrentKeyID() string { return r.current }

// Has reports whether the ring holds the master key id.
func (r *Keyring) Has(id string) bool {
	_, ok := r.keys[id]
	return ok
}

// NewDataKey returns a new random 32-byte data key and its wrapping under
// the current master key.
func (r *Keyring) NewDataKey() (plain []byte, wrapped WrappedKey, err error) {
	plain = make([]byte, KeySize)
	rand.Read(plain)
	wrapped, err = r.wrap(plain)
	if err != nil {
		return nil, WrappedKey{}, err
	}
	return plain, wrapped, nil
}

func (r *Keyring) wrap(plain []byte) (WrappedKey, error) {
	return r.sealUnder(plain, []byte(aadDataKey)), nil
}

// sealUnder encrypts plain under the current master key with aad.
func (r *Keyring) sealUnder(plain, aad []byte) WrappedKey {
	aead := r.keys[r.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return WrappedKey{KeyID: r.current, Ciphertext: aead.Seal(nonce, nonce, plain, aad)}
}

// Unwrap decrypts a wrapped data key: ErrUnknownKeyID when its master key is
// not in the ring, ErrDecrypt when it does not authenticate.
func (r *Keyring) Unwrap(w WrappedKey) ([]byte, error) {
	plain, err := r.open(w, []byte(aadDataKey))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	if len(plain) != KeySize {
		return nil, fmt.Errorf("unwrap data key: %w", ErrDecrypt)
	}
	return plain, nil
}

// open decrypts what sealUnder encrypted with the same aad, under whichever
// master key of the ring w names.
func (r *Keyring) open(w WrappedKey, aad []byte) ([]byte, error) {
	aead, ok := r.keys[w.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w (key ID %q)", ErrUnknownKeyID, w.KeyID)
	}
	ns := aead.NonceSize()
	if len(w.Ciphertext) < ns+aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := aead.Open(nil, w.Ciphertext[:ns], w.Ciphertext[ns:], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// Rewrap re-encrypts a wrapped data key under the current master key; a key
// already wrapped under it is checked and returned as a copy.
func (r *Keyring) Rewrap(w WrappedKey) (WrappedKey, error) {
	if w.KeyID == r.current {
		if _, err := r.Unwrap(w); err != nil {
			return WrappedKey{}, err
		}
		return WrappedKey{KeyID: w.KeyID, Ciphertext: append([]byte(nil), w.Ciphertext...)}, nil
	}
	plain, err := r.Unwrap(w)
	if err != nil {
		return WrappedKey{}, err
	}
	defer clear(plain)
	return r.wrap(plain)
}

// IndexKey is the key of the blind index, derived from the current master
// key with HKDF-SHA256 (no salt, info "nrm-blind-index-v1").
//
// Because it derives from the master key, rotating the master key changes the
// index key: store IndexKeyID beside each blind index, search with the index
// computed under every key of the ring (IndexKeyFor) while a rotation runs, and
// let the rotation job recompute stale indexes (it can decrypt name and birth
// date, since the ring still holds the old key) before the old key leaves the
// ring. In return the operator manages one secret, and a compromised master key
// is rotated together with the index key derived from it.
func (r *Keyring) IndexKey() []byte {
	k, _ := r.IndexKeyFor(r.current)
	return k
}

// IndexKeyID is the ID of the master key IndexKey derives from (the current one).
func (r *Keyring) IndexKeyID() string { return r.current }

// IndexKeyFor derives the blind-index key from the master key id of the ring;
// ErrUnknownKeyID when the ring does not hold it.
func (r *Keyring) IndexKeyFor(id string) ([]byte, error) {
	raw, ok := r.raw[id]
	if !ok {
		return nil, fmt.Errorf("index key: %w (key ID %q)", ErrUnknownKeyID, id)
	}
	k, err := hkdf.Key(sha256.New, raw, nil, infoIndexKey, KeySize)
	if err != nil { // only for impossible lengths
		panic("crypto: hkdf: " + err.Error())
	}
	return k, nil
}

// CSRFKey keys the web UI's CSRF tokens (HMAC of the session token),
// derived from the current master key with HKDF-SHA256 (no salt, info
// "nrm-csrf-v1"), so that every replica and every restart agrees on it.
// Rotating the master key changes it: the web UI then fetches its session's
// new token from GET /api/v1/me.
func (r *Keyring) CSRFKey() []byte {
	k, err := hkdf.Key(sha256.New, r.raw[r.current], nil, infoCSRFKey, KeySize)
	if err != nil { // only for impossible lengths
		panic("crypto: hkdf: " + err.Error())
	}
	return k
}

// OfflineKey derives the secret the web UI derives each officer's key pair
// for screenings taken offline from; apart from every other key.
func (r *Keyring) OfflineKey() []byte {
	k, err := hkdf.Key(sha256.New, r.raw[r.current], nil, infoOfflineKey, KeySize)
	if err != nil { // only for impossible lengths
		panic("crypto: hkdf: " + err.Error())
	}
	return k
}

// KeyIDs lists the IDs of the ring, the current one first.
func (r *Keyring) KeyIDs() []string {
	var older []string
	for id := range r.keys {
		if id != r.current {
			older = append(older, id)
		}
	}
	sort.Strings(older)
	return append([]string{r.current}, older...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	return cipher.NewGCM(block)
}
