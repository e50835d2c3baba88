package identity

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/crypto"
)

// FileCipher encrypts and decrypts the attachments of one case under the
// case's data key: their content in chunks (crypto.SealChunk) and their
// description and file name like identity fields. It holds the unwrapped
// key for the length of one upload or download only.
type FileCipher struct {
	caseID string
	key    []byte
}

// Columns of the attachments' sealed text.
const (
	AttachmentDescription = "attachments.description"
	AttachmentFileName    = "attachments.file_name"
)

// FileCipher unwraps a case's data key for its attachments; ErrGone when
// the identity (and with it every attachment) was destroyed or never kept.
func (v *Vault) FileCipher(ctx context.Context, caseID uuid.UUID) (*FileCipher, error) {
	key, err := v.dataKey(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return &FileCipher{caseID: caseID.String(), key: key}, nil
}

// SealChunk encrypts chunk index of an attachment; final marks the last.
func (f *FileCipher) SealChunk(attachmentID uuid.UUID, index uint32, final bool, plain []byte) ([]byte, error) {
	return crypto.SealChunk(f.key, f.caseID, attachmentID.String(), index, final, plain)
}

// OpenChunk decrypts chunk index of an attachment.
func (f *FileCipher) OpenChunk(attachmentID uuid.UUID, index uint32, final bool, sealed []byte) ([]byte, error) {
	plain, err := crypto.OpenChunk(f.key, f.caseID, attachmentID.String(), index, final, sealed)
	if err != nil {
		return nil, fmt.Errorf("attachment %s: %w", attachmentID, err)
	}
	return plain, nil
}

// SealText encrypts an attachment's description or file name (column),
// bound to the attachment: moved to another one it no longer opens.
func (f *FileCipher) SealText(attachmentID uuid.UUID, column, text string) ([]byte, error) {
	return crypto.Seal(f.key, f.caseID, column+"/"+attachmentID.String(), []byte(text))
}

// OpenText decrypts what SealText sealed.
func (f *FileCipher) OpenText(attachmentID uuid.UUID, column string, sealed []byte) (string, error) {
	plain, err := crypto.Open(f.key, f.caseID, column+"/"+attachmentID.String(), sealed)
	if err != nil {
		return "", fmt.Errorf("%s of attachment %s: %w", column, attachmentID, err)
	}
	return string(plain), nil
}
