package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// A search finds a case by its person's document number, phone or full name
// without decrypting anything: what the user typed is reduced to the same
// canonical forms as the person's values were (normalise.go), its blind
// indexes are computed under every master key of the ring, and the store
// looks the digests up in person_index.

// searchKey is one canonical value of a person to index under a kind.
type searchKey struct{ kind, value string }

// searchKeys are the search kinds of a person's identity.
func searchKeys(p Person) []searchKey {
	var out []searchKey
	if doc := CanonicalDocument(p.DocumentNumber); doc != "" {
		out = append(out, searchKey{IndexDocumentKey, doc})
	}
	if phone := CanonicalPhone(p.Phone); phone != "" {
		out = append(out, searchKey{IndexPhone, phone})
	}
	if name := CanonicalName(p.GivenName + " " + p.FamilyName); name != "" {
		out = append(out, searchKey{IndexFullName, name})
	}
	return out
}

// Minimum lengths of a typed value before it is looked up as a document
// number or a name: shorter ones would match by chance.
const (
	minSearchDocument = 4
	minSearchName     = 2
)

// Query is what a typed search looks up in the blind indexes: the kinds it
// was read as (for the audit log: never the value) and their digests under
// every master key of the ring. A Query without kinds looks nothing up.
type Query struct {
	Kinds   []string
	Digests []string
}

// SearchQuery reads what a user typed as every kind it could be — a
// document number (also under the duplicate check's own document form, for
// cases not yet reindexed), a phone number, a full name in any order of its
// words — and computes the digests to look up.
func (v *Vault) SearchQuery(typed string) (Query, error) {
	var keys []searchKey
	if doc := CanonicalDocument(typed); len(doc) >= minSearchDocument {
		keys = append(keys, searchKey{IndexDocumentKey, doc})
		if raw := strings.ReplaceAll(strings.TrimSpace(typed), " ", ""); raw != "" {
			keys = append(keys, searchKey{IndexDocument, raw})
		}
	}
	if phone := CanonicalPhone(typed); phone != "" {
		keys = append(keys, searchKey{IndexPhone, phone})
	}
	if name := CanonicalName(typed); len(strings.ReplaceAll(name, " ", "")) >= minSearchName && strings.ContainsFunc(name, isLetter) {
		keys = append(keys, searchKey{IndexFullName, name})
	}
	var q Query
	for _, k := range keys {
		kind := k.kind
		if kind == IndexDocument {
			kind = IndexDocumentKey // one kind in the audit row for a document number
		}
		if len(q.Kinds) == 0 || q.Kinds[len(q.Kinds)-1] != kind {
			q.Kinds = append(q.Kinds, kind)
		}
	}
	for _, id := range v.Keys.KeyIDs() {
		key, err := v.Keys.IndexKeyFor(id)
		if err != nil {
			return Query{}, err
		}
		for _, k := range keys {
			q.Digests = append(q.Digests, digestOf(key, k))
		}
	}
	return q, nil
}

// digestOf is the blind index of a search key.
func digestOf(key []byte, k searchKey) string { return crypto.BlindIndex(key, k.kind, k.value) }

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r > 0x7f }

// Reindex recomputes the blind indexes of every live case indexed by an
// earlier IndexVersion (case_keys.index_version), so that cases opened
// before a new kind existed are found by it too: the backfill the
// reconciler runs. It opens each identity with the case's own key, writes
// the indexes and the version in one transaction, and is safe to run
// again, or on several workers at once (the result is the same). A case
// whose identity cannot be opened (its master key is not in the ring) is
// left for a later run and counted in failed. It returns how many cases it
// reindexed.
func (v *Vault) Reindex(ctx context.Context) (done, failed int, err error) {
	for version := 0; version < IndexVersion; version++ {
		after := uuid.Nil
		for {
			batch, err := v.Store.KeysToReindex(ctx, version, after, 200)
			if err != nil {
				return done, failed, err
			}
			if len(batch) == 0 {
				break
			}
			for _, k := range batch {
				after = k.CaseID
				if err := ctx.Err(); err != nil {
					return done, failed, err
				}
				var indexes []store.PersonIndex // none when the identity is gone (shredded meanwhile)
				p, err := v.Open(ctx, k.CaseID)
				switch {
				case err == nil:
					indexes = v.indexes(*p)
				case !errors.Is(err, ErrGone):
					failed++
					continue
				}
				if err := v.Store.ReplaceIndexesVersion(ctx, k.CaseID, indexes, IndexVersion); err != nil {
					return done, failed, fmt.Errorf("reindex case %s: %w", k.CaseID, err)
				}
				done++
			}
		}
	}
	return done, failed, nil
}
