package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
)

// The cursor of a paged list (GET /api/v1/cases, GET /api/v1/referrals) is
// the position of the last row of a page — its time (opened_at, sent_at) and
// ID — signed by the server:
//
//	base64url( version 1 | list | time in µs since 1970, 8 bytes | ID, 16 bytes | MAC, 16 bytes )
//
// where MAC is the first 16 bytes of HMAC-SHA256 under the cursor key
// (crypto.Keyring.CursorKey, derived from the master key) of everything
// before it, and list names the list ('c' cases, 'r' referrals), so a cursor
// of one list is refused by the other. A cursor that does not verify is a
// 422 naming the parameter. The cursor only says where a page starts: the
// caller's scope and filters are applied to every page anew, so no cursor,
// forged or not, reaches a row outside them. Clients treat it as opaque.

// Lists a cursor belongs to.
const (
	cursorCases     byte = 'c'
	cursorReferrals byte = 'r'
	// A case's notes (GET /api/v1/cases/{id}/notes), oldest first: the
	// page after a cursor holds the later notes.
	cursorNotes byte = 'n'
)

const (
	cursorVersion = 1
	cursorMACSize = 16
	cursorSize    = 2 + 8 + 16 + cursorMACSize
)

var errCursor = errors.New("not a cursor of this list")

func (s *Server) cursorMAC(payload []byte) []byte {
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(payload)
	return mac.Sum(nil)[:cursorMACSize]
}

// encodeCursor is the signed cursor of a position in list.
func (s *Server) encodeCursor(list byte, c store.Cursor) string {
	b := make([]byte, 0, cursorSize)
	b = append(b, cursorVersion, list)
	b = binary.BigEndian.AppendUint64(b, uint64(c.At.UnixMicro()))
	b = append(b, c.ID[:]...)
	b = append(b, s.cursorMAC(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks and reads a cursor of list.
func (s *Server) decodeCursor(list byte, v string) (*store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != cursorSize || b[0] != cursorVersion || b[1] != list {
		return nil, errCursor
	}
	payload, mac := b[:cursorSize-cursorMACSize], b[cursorSize-cursorMACSize:]
	if !hmac.Equal(mac, s.cursorMAC(payload)) {
		return nil, errCursor
	}
	id, err := uuid.FromBytes(payload[10:26])
	if err != nil {
		return nil, errCursor
	}
	return &store.Cursor{At: time.UnixMicro(int64(binary.BigEndian.Uint64(payload[2:10]))).UTC(), ID: id}, nil
}
