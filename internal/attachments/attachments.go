// Package attachments keeps the encrypted chunks of the files attached to
// cases (docs/api.md#attachments): the backends they are stored in —
// PostgreSQL by default, or an S3-compatible object store — and what a file
// must be to be accepted (Sniff). The chunks arrive here already encrypted
// under their case's data key (internal/identity, crypto.SealChunk); no
// backend ever sees a file in clear, its name or its description.
//
// NRM_ATTACHMENTS chooses the backend of new attachments (Open):
//
//	postgres                                   the database (default): table attachment_chunks
//	s3://bucket[/prefix]?endpoint=URL&region=R an S3-compatible store, one object per chunk
//
// with the object store's credentials in NRM_S3_ACCESS_KEY_ID and
// NRM_S3_SECRET_ACCESS_KEY (environment only, never flags). Each attachment
// records the backend it was stored in, so that changing NRM_ATTACHMENTS
// leaves earlier files readable where they are (Backends).
package attachments

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// Backend names, as attachments.backend records them.
const (
	BackendPostgres = "postgres"
	BackendS3       = "s3"
)

// ErrNoChunk: the backend does not hold the chunk.
var ErrNoChunk = errors.New("attachment chunk not stored")

// Store keeps the encrypted chunks of attachments, chunk n of attachment
// id. Put replaces a chunk stored before under the same place; Delete
// removes the first chunks of an attachment (those that may exist: a
// missing one is no error).
type Store interface {
	Backend() string
	Put(ctx context.Context, id uuid.UUID, n int, data []byte) error
	Get(ctx context.Context, id uuid.UUID, n int) ([]byte, error)
	Delete(ctx context.Context, id uuid.UUID, chunks int) error
}

// Postgres keeps chunks in the database (attachment_chunks).
type Postgres struct{ Store *store.Store }

func (p *Postgres) Backend() string { return BackendPostgres }

func (p *Postgres) Put(ctx context.Context, id uuid.UUID, n int, data []byte) error {
	return p.Store.PutChunk(ctx, id, n, data)
}

func (p *Postgres) Get(ctx context.Context, id uuid.UUID, n int) ([]byte, error) {
	data, err := p.Store.GetChunk(ctx, id, n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %d of %s", ErrNoChunk, n, id)
	}
	return data, err
}

func (p *Postgres) Delete(ctx context.Context, id uuid.UUID, _ int) error {
	return p.Store.DeleteChunks(ctx, id)
}

// Backends are the stores attachments may be in: New, where new files go,
// and the others that earlier files may still be in.
type Backends struct {
	New Store
	all map[string]Store
}

// For answers the store of a backend name; an error when this process was
// not configured with it (an S3 attachment with NRM_ATTACHMENTS=postgres).
func (b *Backends) For(backend string) (Store, error) {
	if s, ok := b.all[backend]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("attachments are stored in %q, which NRM_ATTACHMENTS does not configure", backend)
}

// All lists the configured stores.
func (b *Backends) All() []Store {
	out := []Store{}
	for _, s := range b.all {
		out = append(out, s)
	}
	return out
}

// NewBackends makes the backends with newStore for new files; PostgreSQL is
// always among them.
func NewBackends(st *store.Store, newStore Store) *Backends {
	pg := &Postgres{Store: st}
	b := &Backends{New: newStore, all: map[string]Store{BackendPostgres: pg}}
	if newStore == nil {
		b.New = pg
	} else {
		b.all[newStore.Backend()] = newStore
	}
	return b
}

// Credentials of an object store (NRM_S3_ACCESS_KEY_ID, NRM_S3_SECRET_ACCESS_KEY).
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Open reads NRM_ATTACHMENTS (spec) and answers the backends. Errors never
// contain the credentials.
func Open(spec string, st *store.Store, creds Credentials) (*Backends, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "" || spec == BackendPostgres:
		return NewBackends(st, nil), nil
	case strings.HasPrefix(spec, "s3://"):
		s3, err := ParseS3(spec, creds)
		if err != nil {
			return nil, err
		}
		return NewBackends(st, s3), nil
	}
	return nil, fmt.Errorf("NRM_ATTACHMENTS must be postgres or s3://bucket?endpoint=…, got %q", redact(spec))
}

// redact keeps a URL's scheme, host and path: a spec never carries
// credentials, but one typed by mistake into it is not repeated in a log.
func redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		return "(unreadable)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
