package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Attachments are encrypted in chunks, so that a file is never held whole
// in memory (neither while it is uploaded nor while it is downloaded), each
// chunk with AES-256-GCM under the case's data key:
//
//	chunk = 0x01 || 12-byte random nonce || AES-256-GCM ciphertext and tag
//
// with associated data binding it to its place:
//
//	"nrm-attachment\x00" || case ID || "\x00" || attachment ID || "\x00" || index (4 bytes, big-endian) || final (1 byte)
//
// A chunk moved to another case, attachment or position no longer opens;
// final is 1 on the last chunk only, so a file cut short after a whole
// chunk (its last chunks dropped) fails to open rather than reading as a
// shorter file, and a chunk appended after the last one fails too.

// ChunkOverhead is what encryption adds to a chunk's size: chunks share
// the fields' v1 format (field.go).
const ChunkOverhead = fieldOverhead

// SealChunk encrypts chunk index of an attachment; final marks its last chunk.
func SealChunk(dataKey []byte, caseID, attachmentID string, index uint32, final bool, plaintext []byte) ([]byte, error) {
	aad, err := chunkAAD(caseID, attachmentID, index, final)
	if err != nil {
		return nil, err
	}
	return sealV1(dataKey, aad, plaintext, "chunk")
}

// OpenChunk decrypts a chunk sealed by SealChunk at the same place. Every
// failure to authenticate is ErrDecrypt; it never panics on malformed input.
func OpenChunk(dataKey []byte, caseID, attachmentID string, index uint32, final bool, ciphertext []byte) ([]byte, error) {
	aad, err := chunkAAD(caseID, attachmentID, index, final)
	if err != nil {
		return nil, err
	}
	return openV1(dataKey, aad, ciphertext, fmt.Sprintf("chunk %d", index))
}

func chunkAAD(caseID, attachmentID string, index uint32, final bool) ([]byte, error) {
	if caseID == "" || attachmentID == "" {
		return nil, errors.New("chunk encryption needs a case ID and an attachment ID")
	}
	if strings.IndexByte(caseID, 0) >= 0 || strings.IndexByte(attachmentID, 0) >= 0 {
		return nil, errors.New("case ID and attachment ID must not contain NUL")
	}
	aad := []byte("nrm-attachment\x00" + caseID + "\x00" + attachmentID + "\x00")
	aad = binary.BigEndian.AppendUint32(aad, index)
	if final {
		return append(aad, 1), nil
	}
	return append(aad, 0), nil
}
