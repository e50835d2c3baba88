package crypto_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/crypto"
)

func newKey(t *testing.T, fill byte) crypto.MasterKey {
	t.Helper()
	key := bytes.Repeat([]byte{fill}, crypto.KeySize)
	return crypto.MasterKey{ID: crypto.KeyID(key), Key: key}
}

func ring(t *testing.T, current crypto.MasterKey, older ...crypto.MasterKey) *crypto.Keyring {
	t.Helper()
	r, err := crypto.NewKeyring(current, older...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return r
}

func TestKeyIDIsStableAndShort(t *testing.T) {
	k := newKey(t, 1)
	if id := crypto.KeyID(k.Key); id != crypto.KeyID(bytes.Clone(k.Key)) || len(id) != 16 {
		t.Fatalf("KeyID = %q", id)
	}
	if crypto.KeyID(k.Key) == crypto.KeyID(newKey(t, 2).Key) {
		t.Fatal("different keys share an ID")
	}
}

func TestNewKeyringChecksKeys(t *testing.T) {
	if _, err := crypto.NewKeyring(crypto.MasterKey{Key: make([]byte, 16)}); err == nil {
		t.Error("a 16-byte master key was accepted")
	}
	k := newKey(t, 1)
	k.ID = "0000000000000000"
	if _, err := crypto.NewKeyring(k); err == nil {
		t.Error("a mismatched key ID was accepted")
	}
	r, err := crypto.NewKeyring(crypto.MasterKey{Key: newKey(t, 1).Key}, newKey(t, 2), newKey(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if r.CurrentKeyID() != newKey(t, 1).ID || len(r.KeyIDs()) != 2 || r.KeyIDs()[0] != r.CurrentKeyID() {
		t.Errorf("current %s, IDs %v", r.CurrentKeyID(), r.KeyIDs())
	}
}

func TestDataKeyRoundTrip(t *testing.T) {
	r := ring(t, newKey(t, 1))
	plain, wrapped, err := r.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != crypto.KeySize || wrapped.KeyID != r.CurrentKeyID() || bytes.Contains(wrapped.Ciphertext, plain) {
		t.Fatalf("plain %d bytes, wrapped %+v", len(plain), wrapped)
	}
	got, err := r.Unwrap(wrapped)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
	plain2, wrapped2, _ := r.NewDataKey()
	if bytes.Equal(plain, plain2) || bytes.Equal(wrapped.Ciphertext, wrapped2.Ciphertext) {
		t.Error("two data keys are equal")
	}
	for i := range wrapped.Ciphertext {
		bad := crypto.WrappedKey{KeyID: wrapped.KeyID, Ciphertext: bytes.Clone(wrapped.Ciphertext)}
		bad.Ciphertext[i] ^= 0x01
		if _, err := r.Unwrap(bad); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("flipped byte %d: err %v, want ErrDecrypt", i, err)
		}
	}
	if _, err := r.Unwrap(crypto.WrappedKey{KeyID: wrapped.KeyID, Ciphertext: wrapped.Ciphertext[:10]}); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("truncated: %v", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newMaster := newKey(t, 1), newKey(t, 2)
	oldRing := ring(t, oldKey)
	plain, wrapped, err := oldRing.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}

	// A ring without the old key cannot unwrap.
	onlyNew := ring(t, newMaster)
	if _, err := onlyNew.Unwrap(wrapped); !errors.Is(err, crypto.ErrUnknownKeyID) {
		t.Fatalf("unwrap without the key: %v, want ErrUnknownKeyID", err)
	}
	if _, err := onlyNew.Rewrap(wrapped); !errors.Is(err, crypto.ErrUnknownKeyID) {
		t.Fatalf("rewrap without the key: %v, want ErrUnknownKeyID", err)
	}

	// During the rotation the ring holds the old key as older.
	rotating := ring(t, newMaster, oldKey)
	if got, err := rotating.Unwrap(wrapped); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("unwrap with old key as older: %v", err)
	}
	moved, err := rotating.Rewrap(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if moved.KeyID != newMaster.ID || moved.KeyID == wrapped.KeyID {
		t.Fatalf("rewrapped under %s, want %s", moved.KeyID, newMaster.ID)
	}
	// Rewrapping again is a copy.
	again, err := rotating.Rewrap(moved)
	if err != nil || again.KeyID != moved.KeyID || !bytes.Equal(again.Ciphertext, moved.Ciphertext) {
		t.Fatalf("second rewrap: %+v, %v", again, err)
	}
	again.Ciphertext[0] ^= 0xff
	if moved.Ciphertext[0] == again.Ciphertext[0] {
		t.Error("Rewrap of a current key shares the ciphertext slice")
	}
	// After the rotation the old key can leave the ring.
	if got, err := onlyNew.Unwrap(moved); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("unwrap after rotation: %v", err)
	}
}

const caseID = "0b6f4c1e-5a55-4d0c-9f3e-9a3c2a7d1e01"

func TestFieldRoundTrip(t *testing.T) {
	r := ring(t, newKey(t, 1))
	dk, _, _ := r.NewDataKey()
	for _, p := range []string{"", "Aýna", strings.Repeat("narrative ", 1000)} {
		ct, err := crypto.Seal(dk, caseID, "given_name", []byte(p))
		if err != nil {
			t.Fatal(err)
		}
		if p != "" && bytes.Contains(ct, []byte(p)) {
			t.Error("ciphertext contains the plaintext")
		}
		got, err := crypto.Open(dk, caseID, "given_name", ct)
		if err != nil || string(got) != p || got == nil {
			t.Fatalf("Open(%q) = %q, %v", p, got, err)
		}
	}
	a, _ := crypto.Seal(dk, caseID, "phone", []byte("+99365000000"))
	b, _ := crypto.Seal(dk, caseID, "phone", []byte("+99365000000"))
	if bytes.Equal(a, b) {
		t.Error("equal plaintexts give equal ciphertexts (nonce reused)")
	}
}

func TestFieldTamperAndBinding(t *testing.T) {
	r := ring(t, newKey(t, 1))
	dk, _, _ := r.NewDataKey()
	other, _, _ := r.NewDataKey()
	ct, err := crypto.Seal(dk, caseID, "family_name", []byte("Berdiýewa"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x80
		if _, err := crypto.Open(dk, caseID, "family_name", bad); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("flipped byte %d: %v, want ErrDecrypt", i, err)
		}
	}
	checks := []struct {
		name, caseID, column string
		key                  []byte
	}{
		{"other case", "7d1e0b6f-4c1e-5a55-4d0c-9f3e9a3c2a00", "family_name", dk},
		{"other column", caseID, "given_name", dk},
		{"other data key", caseID, "family_name", other},
	}
	for _, c := range checks {
		if _, err := crypto.Open(c.key, c.caseID, c.column, ct); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", c.name, err)
		}
	}
	for _, short := range [][]byte{nil, {}, {1}, ct[:len(ct)-1], ct[:28]} {
		if _, err := crypto.Open(dk, caseID, "family_name", short); !errors.Is(err, crypto.ErrDecrypt) {
			t.Errorf("%d bytes: %v, want ErrDecrypt", len(short), err)
		}
	}
	if _, err := crypto.Seal(dk[:16], caseID, "x", nil); err == nil {
		t.Error("a 16-byte data key was accepted")
	}
	if _, err := crypto.Seal(dk, "a\x00b", "x", nil); err == nil {
		t.Error("a NUL in the case ID was accepted")
	}
	if _, err := crypto.Seal(dk, caseID, "", nil); err == nil {
		t.Error("an empty column was accepted")
	}
}

func TestParseMasterKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	b64 := base64.StdEncoding.EncodeToString(key)
	got, err := crypto.ParseMasterKey("  " + b64 + "\n")
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("ParseMasterKey = %x, %v", got, err)
	}
	short := base64.StdEncoding.EncodeToString(key[:31])
	long := base64.StdEncoding.EncodeToString(append(key, 1))
	for _, in := range []string{"", "   ", short, long, "not base64 at all!", b64[:len(b64)-1], base64.RawStdEncoding.EncodeToString(key[:30])} {
		_, err := crypto.ParseMasterKey(in)
		if err == nil {
			t.Errorf("ParseMasterKey(%q) accepted", in)
			continue
		}
		if s := strings.TrimSpace(in); s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q echoes the key", err)
		}
	}
}

func TestLoadMasterKey(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	b64 := base64.StdEncoding.EncodeToString(key)
	dir := t.TempDir()
	file := filepath.Join(dir, "master.key")
	if err := os.WriteFile(file, []byte(b64+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	fromEnv, err := crypto.LoadMasterKey(b64, "")
	if err != nil || !bytes.Equal(fromEnv.Key, key) || fromEnv.ID != crypto.KeyID(key) {
		t.Fatalf("env: %+v, %v", fromEnv.ID, err)
	}
	fromFile, err := crypto.LoadMasterKey("", file)
	if err != nil || !bytes.Equal(fromFile.Key, key) || fromFile.ID != fromEnv.ID {
		t.Fatalf("file: %v", err)
	}
	if _, err := crypto.LoadMasterKey(b64, file); err == nil || errors.Is(err, crypto.ErrNoMasterKey) || strings.Contains(err.Error(), b64) {
		t.Errorf("both set: %v", err)
	}
	if _, err := crypto.LoadMasterKey("", ""); !errors.Is(err, crypto.ErrNoMasterKey) {
		t.Errorf("neither set: %v, want ErrNoMasterKey", err)
	}
	if _, err := crypto.LoadMasterKey("", filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}

	// Bad lengths: from the environment and from a file; the key never shows.
	bad := base64.StdEncoding.EncodeToString(key[:24])
	badFile := filepath.Join(dir, "bad.key")
	os.WriteFile(badFile, []byte(bad+"\n"), 0o600)
	for name, load := range map[string]func() error{
		"env":  func() error { _, err := crypto.LoadMasterKey(bad, ""); return err },
		"file": func() error { _, err := crypto.LoadMasterKey("", badFile); return err },
	} {
		err := load()
		if err == nil {
			t.Errorf("%s: a 24-byte key was accepted", name)
			continue
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), bad[:8]) {
			t.Errorf("%s: error %q contains key material", name, err)
		}
		if !strings.Contains(err.Error(), "32 bytes") {
			t.Errorf("%s: error %q does not say what is expected", name, err)
		}
	}
}

func TestGenerateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	first, err := crypto.GenerateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if len(first.Key) != crypto.KeySize || first.ID != crypto.KeyID(first.Key) {
		t.Fatalf("generated key %d bytes, ID %q", len(first.Key), first.ID)
	}
	again, err := crypto.GenerateMasterKeyFile(path)
	if err != nil || !bytes.Equal(again.Key, first.Key) {
		t.Fatalf("second call did not reuse the file: %v", err)
	}
	loaded, err := crypto.LoadMasterKey("", path)
	if err != nil || loaded.ID != first.ID {
		t.Fatalf("LoadMasterKey of the generated file: %v", err)
	}
	other, err := crypto.GenerateMasterKeyFile(filepath.Join(t.TempDir(), "other.key"))
	if err != nil || other.ID == first.ID {
		t.Errorf("two generated keys are equal (%v)", err)
	}
}

func TestBlindIndex(t *testing.T) {
	r := ring(t, newKey(t, 1))
	k := r.IndexKey()
	if len(k) != crypto.KeySize || bytes.Equal(k, newKey(t, 1).Key) {
		t.Fatal("index key is not a derived 32-byte key")
	}
	a := crypto.BlindIndex(k, " Aýna  Berdiýewa ", "2001-05-14")
	b := crypto.BlindIndex(k, "aýna berdiýewa", "2001-05-14")
	c := crypto.BlindIndex(k, "AÝNA\tBERDIÝEWA", " 2001-05-14")
	if a != b || a != c {
		t.Errorf("normalisation: %s %s %s", a, b, c)
	}
	if len(a) != 64 {
		t.Errorf("index %q is not hex SHA-256", a)
	}
	if a == crypto.BlindIndex(k, "aýna berdiýewa", "2001-05-15") {
		t.Error("different birth date, same index")
	}
	if crypto.BlindIndex(k, "ab", "c") == crypto.BlindIndex(k, "a", "bc") {
		t.Error("parts are not separated")
	}
	other := ring(t, newKey(t, 2)).IndexKey()
	if a == crypto.BlindIndex(other, "aýna berdiýewa", "2001-05-14") {
		t.Error("different key, same index")
	}
	// The index key is stable for a master key and reachable by ID during rotation.
	rotating := ring(t, newKey(t, 2), newKey(t, 1))
	oldIdx, err := rotating.IndexKeyFor(newKey(t, 1).ID)
	if err != nil || !bytes.Equal(oldIdx, k) {
		t.Errorf("IndexKeyFor(old) = %x, %v", oldIdx, err)
	}
	if !bytes.Equal(rotating.IndexKey(), other) || rotating.IndexKeyID() != newKey(t, 2).ID {
		t.Error("IndexKey does not follow the current master key")
	}
	if _, err := ring(t, newKey(t, 3)).IndexKeyFor(newKey(t, 1).ID); !errors.Is(err, crypto.ErrUnknownKeyID) {
		t.Errorf("IndexKeyFor(unknown) = %v", err)
	}
}
