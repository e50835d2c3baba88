// Package identity keeps a person's identity encrypted: each field is sealed
// with AES-256-GCM under the case's own data key, bound to the case and the
// column, and the data key is wrapped by the operator's master key. Only this
// package sees identity in clear; destroying a case's key destroys it.
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// ErrGone means the identity was never kept (declined consent) or was destroyed.
var ErrGone = errors.New("identity not kept")

// Person is the identity in clear.
type Person struct {
	GivenName      string
	FamilyName     string
	BirthDate      *time.Time
	AgeEstimate    *int
	Languages      []string
	Phone          string
	DocumentNumber string
	Place          string
	Narrative      string
	OfficerConcern string
}

// Vault seals and opens identities and notes.
type Vault struct {
	Store *store.Store
	Keys  *crypto.Keyring
}

// Sealed is a new case's identity ready to store.
type Sealed = store.NewIdentity

// Seal encrypts a new case's person under a fresh data key and computes the
// blind indexes used to find the same person screened twice.
func (v *Vault) Seal(caseID uuid.UUID, p Person, at time.Time) (Sealed, error) {
	key, wrapped, err := v.Keys.NewDataKey()
	if err != nil {
		return Sealed{}, fmt.Errorf("data key: %w", err)
	}
	sp, err := sealPerson(key, caseID.String(), p)
	if err != nil {
		return Sealed{}, err
	}
	keyID := wrapped.KeyID
	return Sealed{
		Person:  sp,
		Key:     store.CaseKey{CaseID: caseID, KeyID: &keyID, Wrapped: wrapped.Ciphertext, CreatedAt: at, IndexVersion: IndexVersion},
		Indexes: v.indexes(p),
	}, nil
}

func sealPerson(key []byte, caseID string, p Person) (*store.SealedPerson, error) {
	birth := ""
	if p.BirthDate != nil {
		birth = p.BirthDate.Format(time.DateOnly)
	}
	age := ""
	if p.AgeEstimate != nil {
		age = strconv.Itoa(*p.AgeEstimate)
	}
	langs, err := json.Marshal(p.Languages)
	if err != nil {
		return nil, err
	}
	out := &store.SealedPerson{}
	fields := []struct {
		dst    *[]byte
		column string
		value  []byte
	}{
		{&out.GivenName, "given_name", []byte(p.GivenName)},
		{&out.FamilyName, "family_name", []byte(p.FamilyName)},
		{&out.BirthDate, "birth_date", []byte(birth)},
		{&out.AgeEstimate, "age_estimate", []byte(age)},
		{&out.Languages, "languages", langs},
		{&out.Phone, "phone", []byte(p.Phone)},
		{&out.DocumentNumber, "document_number", []byte(p.DocumentNumber)},
		{&out.Place, "place", []byte(p.Place)},
		{&out.Narrative, "narrative", []byte(p.Narrative)},
		{&out.OfficerConcern, "officer_concern", []byte(p.OfficerConcern)},
	}
	for _, f := range fields {
		ct, err := crypto.Seal(key, caseID, "persons."+f.column, f.value)
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", f.column, err)
		}
		*f.dst = ct
	}
	return out, nil
}

// dataKey unwraps a case's data key; ErrGone when it was destroyed.
func (v *Vault) dataKey(ctx context.Context, caseID uuid.UUID) ([]byte, error) {
	k, err := v.Store.CaseKey(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, err
	}
	if k.Wrapped == nil || k.KeyID == nil {
		return nil, ErrGone
	}
	key, err := v.Keys.Unwrap(crypto.WrappedKey{KeyID: *k.KeyID, Ciphertext: k.Wrapped})
	if err != nil {
		return nil, fmt.Errorf("unwrap key of case %s: %w", caseID, err)
	}
	return key, nil
}

// Open decrypts a case's person; ErrGone when the identity is not kept.
func (v *Vault) Open(ctx context.Context, caseID uuid.UUID) (*Person, error) {
	sp, err := v.Store.Person(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrGone
	}
	if err != nil {
		return nil, err
	}
	key, err := v.dataKey(ctx, caseID)
	if err != nil {
		return nil, err
	}
	id := caseID.String()
	open := func(column string, ct []byte) (string, error) {
		pt, err := crypto.Open(key, id, "persons."+column, ct)
		if err != nil {
			return "", fmt.Errorf("open %s of case %s: %w", column, caseID, err)
		}
		return string(pt), nil
	}
	p := &Person{}
	var birth, age, langs string
	for _, f := range []struct {
		dst    *string
		column string
		ct     []byte
	}{
		{&p.GivenName, "given_name", sp.GivenName}, {&p.FamilyName, "family_name", sp.FamilyName},
		{&birth, "birth_date", sp.BirthDate}, {&age, "age_estimate", sp.AgeEstimate}, {&langs, "languages", sp.Languages},
		{&p.Phone, "phone", sp.Phone}, {&p.DocumentNumber, "document_number", sp.DocumentNumber}, {&p.Place, "place", sp.Place},
		{&p.Narrative, "narrative", sp.Narrative}, {&p.OfficerConcern, "officer_concern", sp.OfficerConcern},
	} {
		if *f.dst, err = open(f.column, f.ct); err != nil {
			return nil, err
		}
	}
	if birth != "" {
		t, err := time.Parse(time.DateOnly, birth)
		if err != nil {
			return nil, fmt.Errorf("birth date of case %s: %w", caseID, err)
		}
		p.BirthDate = &t
	}
	if age != "" {
		n, err := strconv.Atoi(age)
		if err != nil {
			return nil, fmt.Errorf("age of case %s: %w", caseID, err)
		}
		p.AgeEstimate = &n
	}
	if err := json.Unmarshal([]byte(langs), &p.Languages); err != nil {
		return nil, fmt.Errorf("languages of case %s: %w", caseID, err)
	}
	return p, nil
}

// SealNote encrypts a note's text under its case's key.
func (v *Vault) SealNote(ctx context.Context, caseID uuid.UUID, body string) ([]byte, error) {
	key, err := v.dataKey(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return crypto.Seal(key, caseID.String(), "case_notes.body", []byte(body))
}

// OpenNote decrypts a note's text.
func (v *Vault) OpenNote(ctx context.Context, caseID uuid.UUID, sealed []byte) (string, error) {
	key, err := v.dataKey(ctx, caseID)
	if err != nil {
		return "", err
	}
	pt, err := crypto.Open(key, caseID.String(), "case_notes.body", sealed)
	if err != nil {
		return "", fmt.Errorf("open note of case %s: %w", caseID, err)
	}
	return string(pt), nil
}

// Shred destroys a case's identity: after it, nothing of it can be decrypted.
func (v *Vault) Shred(ctx context.Context, caseID uuid.UUID, at time.Time) error {
	return v.Store.DestroyCaseKey(ctx, caseID, at)
}

// Blind-index kinds. The first two find possible duplicates when a case
// opens; the search kinds (search.go) find a case by what a user types.
const (
	IndexNameBirth = "name_birth"
	IndexDocument  = "document"
	// IndexDocumentKey is the document number in CanonicalDocument form.
	IndexDocumentKey = "document_key"
	// IndexPhone is the phone number in CanonicalPhone form.
	IndexPhone = "phone"
	// IndexFullName is the given and family name in CanonicalName form,
	// without the birth date.
	IndexFullName = "full_name"
)

// IndexVersion numbers the set of kinds indexesUnder computes. A case whose
// indexes were computed by an earlier version (case_keys.index_version) is
// recomputed by Reindex. Version 1: name_birth and document; 2: the search
// kinds document_key, phone and full_name.
const IndexVersion = 2

// duplicateKinds are the kinds that make two cases possible duplicates.
var duplicateKinds = []string{IndexNameBirth, IndexDocument}

// indexes are keyed HMACs of the normalised name with the birth date, of
// the document number, and of the search forms of the document, phone and
// full name: equal values give equal digests, nothing else leaks.
func (v *Vault) indexes(p Person) []store.PersonIndex {
	return indexesUnder(v.Keys.IndexKey(), v.Keys.IndexKeyID(), p)
}

func indexesUnder(key []byte, keyID string, p Person) []store.PersonIndex {
	var out []store.PersonIndex
	if p.BirthDate != nil && strings.TrimSpace(p.GivenName) != "" {
		out = append(out, store.PersonIndex{Kind: IndexNameBirth, KeyID: keyID,
			Digest: crypto.BlindIndex(key, IndexNameBirth, p.GivenName, p.FamilyName, p.BirthDate.Format(time.DateOnly))})
	}
	if doc := strings.TrimSpace(p.DocumentNumber); doc != "" {
		out = append(out, store.PersonIndex{Kind: IndexDocument, KeyID: keyID,
			Digest: digestOf(key, searchKey{IndexDocument, strings.ReplaceAll(doc, " ", "")})})
	}
	for _, k := range searchKeys(p) {
		out = append(out, store.PersonIndex{Kind: k.kind, KeyID: keyID, Digest: digestOf(key, k)})
	}
	return out
}

// PossibleDuplicates returns earlier live cases of the same person, found
// through the blind indexes of duplicateKinds under every master key of the
// ring: the limit most recently opened.
func (v *Vault) PossibleDuplicates(ctx context.Context, p Person, except uuid.UUID, limit int) ([]uuid.UUID, error) {
	var digests []string
	for _, id := range v.Keys.KeyIDs() {
		key, err := v.Keys.IndexKeyFor(id)
		if err != nil {
			return nil, err
		}
		for _, ix := range indexesUnder(key, id, p) {
			if slices.Contains(duplicateKinds, ix.Kind) {
				digests = append(digests, ix.Digest)
			}
		}
	}
	if len(digests) == 0 {
		return nil, nil
	}
	return v.Store.CasesWithIndex(ctx, digests, except, limit)
}

// Rotate re-wraps every live case key under the ring's current master key and
// recomputes its blind indexes; it returns how many cases it moved. Safe to
// run while the system serves: each case moves in its own statement.
func (v *Vault) Rotate(ctx context.Context) (int, error) {
	current := v.Keys.CurrentKeyID()
	moved := 0
	for {
		batch, err := v.Store.KeysNotUnder(ctx, current, 200)
		if err != nil {
			return moved, err
		}
		if len(batch) == 0 {
			return moved, nil
		}
		for _, k := range batch {
			rewrapped, err := v.Keys.Rewrap(crypto.WrappedKey{KeyID: *k.KeyID, Ciphertext: k.Wrapped})
			if err != nil {
				return moved, fmt.Errorf("rewrap case %s: %w", k.CaseID, err)
			}
			if err := v.Store.RewrapKey(ctx, k.CaseID, *k.KeyID, rewrapped.KeyID, rewrapped.Ciphertext); err != nil {
				return moved, err
			}
			if p, err := v.Open(ctx, k.CaseID); err == nil {
				if err := v.Store.ReplaceIndexesVersion(ctx, k.CaseID, v.indexes(*p), IndexVersion); err != nil {
					return moved, err
				}
			} else if !errors.Is(err, ErrGone) {
				return moved, err
			}
			moved++
		}
	}
}
