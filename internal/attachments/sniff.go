package attachments

import (
	"bytes"
	"slices"
)

// The types a file may be, told by its first bytes (its "magic"), never by
// its name or the Content-Type a client declares: scanned documents and
// photographs. Anything else — an executable renamed .pdf, an HTML page, a
// script — is refused before any of it is stored.

// SniffLen is how many leading bytes Sniff needs.
const SniffLen = 32

// Type is an accepted type of file.
type Type struct {
	ContentType string
	Ext         string
}

var (
	typePDF  = Type{"application/pdf", "pdf"}
	typeJPEG = Type{"image/jpeg", "jpg"}
	typePNG  = Type{"image/png", "png"}
	typeTIFF = Type{"image/tiff", "tif"}
	typeHEIC = Type{"image/heic", "heic"}
)

// Types lists the accepted types, for the documentation and the forms.
var Types = []Type{typePDF, typeJPEG, typePNG, typeTIFF, typeHEIC}

// heicBrands are the ISO base media brands of HEIF images (ISO/IEC 23008-12)
// as phones and scanners write them.
var heicBrands = []string{"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"}

// Sniff tells the type of a file from its first bytes (at least SniffLen
// of them when the file is that long); ok is false for every other type.
func Sniff(head []byte) (Type, bool) {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return typePDF, true
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return typeJPEG, true
	case bytes.HasPrefix(head, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}):
		return typePNG, true
	case bytes.HasPrefix(head, []byte{'I', 'I', 0x2A, 0x00}), bytes.HasPrefix(head, []byte{'M', 'M', 0x00, 0x2A}):
		return typeTIFF, true
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && slices.Contains(heicBrands, string(head[8:12])):
		return typeHEIC, true
	}
	return Type{}, false
}
