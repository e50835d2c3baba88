package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
	"github.com/nrm-tm/nrm/internal/store"
)

// secretPurpose binds a sealed webhook secret to its column; the channel's
// ID binds it to its row.
const secretPurpose = "agency_channels.secret"

// secretBatch is how many channels one statement of SealClear or Rotate reads.
const secretBatch = 200

// Secrets keeps webhooks' signing secrets sealed under the master key: a
// database dump or backup without the master key cannot forge a signed
// delivery. The secret itself is what the receiver verifies with (see
// webhook.go), so it must be stored recoverably, not hashed.
type Secrets struct {
	Store *store.Store
	Keys  *crypto.Keyring
}

// AddChannel adds a webhook or e-mail channel to an agency. A webhook gets a
// fresh secret (32 random bytes as 64 hex characters, used as is as the HMAC
// key), stored sealed and returned here once; e-mail has none. An unknown
// agency is store.ErrNotFound, the same kind and target twice
// store.ErrConflict.
func (s Secrets) AddChannel(ctx context.Context, agencyID uuid.UUID, kind, target string) (uuid.UUID, string, error) {
	ch := store.Channel{ID: uuid.New(), AgencyID: agencyID, Kind: kind, Target: target}
	secret := ""
	if kind == store.ChannelWebhook {
		if s.Keys == nil {
			return uuid.Nil, "", errors.New("add webhook channel: no master key to seal its secret")
		}
		b := make([]byte, 32)
		rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
		secret = hex.EncodeToString(b)
		sealed, err := s.Keys.SealSecret(secretPurpose, ch.ID.String(), []byte(secret))
		if err != nil {
			return uuid.Nil, "", fmt.Errorf("add webhook channel: %w", err)
		}
		ch.SecretKeyID, ch.SealedSecret = &sealed.KeyID, sealed.Ciphertext
	}
	if err := s.Store.AddChannel(ctx, ch); err != nil {
		return uuid.Nil, "", err
	}
	return ch.ID, secret, nil
}

// Open returns a webhook channel's secret in clear, to sign a delivery. A
// secret still stored in clear (from before migration 0011, or written by an
// API of the previous release during an upgrade) is sealed first, so that
// nothing the dispatcher uses stays in clear.
func (s Secrets) Open(ctx context.Context, ch *store.Channel) (string, error) {
	if s.Keys == nil {
		return "", fmt.Errorf("secret of channel %s: no master key to open it", ch.ID)
	}
	switch {
	case ch.SealedSecret != nil && ch.SecretKeyID != nil:
		plain, err := s.Keys.OpenSecret(secretPurpose, ch.ID.String(),
			crypto.WrappedKey{KeyID: *ch.SecretKeyID, Ciphertext: ch.SealedSecret})
		if err != nil {
			return "", fmt.Errorf("secret of channel %s: %w", ch.ID, err)
		}
		return string(plain), nil
	case ch.ClearSecret != nil:
		if _, err := s.seal(ctx, ch); err != nil {
			return "", err
		}
		return *ch.ClearSecret, nil
	}
	return "", fmt.Errorf("channel %s has no secret", ch.ID)
}

// SealClear seals every webhook secret still stored in clear and clears it;
// it returns how many it sealed. Idempotent, and safe while other
// dispatchers do the same: each secret is replaced only while it is still
// in clear.
func (s Secrets) SealClear(ctx context.Context) (int, error) {
	if s.Keys == nil {
		return 0, errors.New("seal webhook secrets: no master key")
	}
	sealed := 0
	for {
		batch, err := s.Store.ChannelsWithClearSecret(ctx, secretBatch)
		if err != nil {
			return sealed, err
		}
		if len(batch) == 0 {
			return sealed, nil
		}
		for i := range batch {
			ok, err := s.seal(ctx, &batch[i])
			if err != nil {
				return sealed, err
			}
			if ok {
				sealed++
			}
		}
	}
}

func (s Secrets) seal(ctx context.Context, ch *store.Channel) (bool, error) {
	w, err := s.Keys.SealSecret(secretPurpose, ch.ID.String(), []byte(*ch.ClearSecret))
	if err != nil {
		return false, fmt.Errorf("seal secret of channel %s: %w", ch.ID, err)
	}
	return s.Store.SealChannelSecret(ctx, ch.ID, *ch.ClearSecret, w.KeyID, w.Ciphertext)
}

// Rotate re-seals every webhook secret under the ring's current master key
// (sealing any still in clear first) and returns how many it sealed or
// re-sealed. `nrm keys rotate` runs it beside the case keys' rotation; each
// channel moves in its own statement, so it is safe while the system serves.
func (s Secrets) Rotate(ctx context.Context) (int, error) {
	if s.Keys == nil {
		return 0, errors.New("rotate webhook secrets: no master key")
	}
	moved, err := s.SealClear(ctx)
	if err != nil {
		return moved, err
	}
	current := s.Keys.CurrentKeyID()
	for {
		batch, err := s.Store.ChannelSecretsNotUnder(ctx, current, secretBatch)
		if err != nil {
			return moved, err
		}
		if len(batch) == 0 {
			return moved, nil
		}
		for _, ch := range batch {
			w, err := s.Keys.ResealSecret(secretPurpose, ch.ID.String(),
				crypto.WrappedKey{KeyID: *ch.SecretKeyID, Ciphertext: ch.SealedSecret})
			if err != nil {
				return moved, fmt.Errorf("reseal secret of channel %s: %w", ch.ID, err)
			}
			if err := s.Store.ResealChannelSecret(ctx, ch.ID, *ch.SecretKeyID, w.KeyID, w.Ciphertext); err != nil {
				return moved, err
			}
			moved++
		}
	}
}
