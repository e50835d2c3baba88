package attachments_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/attachments"
	"github.com/nrm-tm/nrm/internal/attachments/s3fake"
)

// The signature is AWS's own published example (Signature Version 4,
// "GET Object" with a Range header): the same request signed here gives
// the same Authorization header.
func TestSignV4MatchesAWSExample(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-9")
	creds := attachments.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	attachments.SignV4(req, nil, creds, "us-east-1", time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization:\n got %s\nwant %s", got, want)
	}
}

// The type is told by the content's first bytes, never by a name.
func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want string
	}{
		{"pdf", []byte("%PDF-1.7\n%âãÏÓ"), "application/pdf"},
		{"jpeg", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}, "image/jpeg"},
		{"png", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13}, "image/png"},
		{"tiff le", []byte{'I', 'I', 0x2A, 0, 8, 0, 0, 0}, "image/tiff"},
		{"tiff be", []byte{'M', 'M', 0, 0x2A, 0, 0, 0, 8}, "image/tiff"},
		{"heic", []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0}, "image/heic"},
		{"windows executable", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00%PDF-"), ""},
		{"linux executable", []byte("\x7fELF\x02\x01\x01"), ""},
		{"html", []byte("<!DOCTYPE html><script>"), ""},
		{"mp4, not heic", []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'}, ""},
		{"zip", []byte("PK\x03\x04"), ""},
		{"empty", nil, ""},
	} {
		typ, ok := attachments.Sniff(tc.head)
		if ok != (tc.want != "") || typ.ContentType != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, typ.ContentType, ok, tc.want)
		}
	}
}

func TestOpenReadsTheSetting(t *testing.T) {
	creds := attachments.Credentials{AccessKeyID: "id", SecretAccessKey: "secret"}
	for _, spec := range []string{"", "postgres"} {
		b, err := attachments.Open(spec, nil, creds)
		if err != nil || b.New.Backend() != attachments.BackendPostgres {
			t.Errorf("%q: %v", spec, err)
		}
	}
	b, err := attachments.Open("s3://files/nrm?endpoint=https://minio.internal:9000&region=eu-central-1", nil, creds)
	if err != nil || b.New.Backend() != attachments.BackendS3 {
		t.Fatalf("s3: %v", err)
	}
	if _, err := b.For(attachments.BackendPostgres); err != nil {
		t.Errorf("the PostgreSQL backend stays available for earlier files: %v", err)
	}
	for _, bad := range []string{"s3://", "s3://files?endpoint=ftp://x", "s3://files?acl=public", "disk:/tmp", "s3://u:p@files"} {
		if _, err := attachments.Open(bad, nil, creds); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: the error repeats a credential: %v", bad, err)
		}
	}
	if _, err := attachments.Open("s3://files", nil, attachments.Credentials{}); err == nil {
		t.Error("s3 without credentials accepted")
	}
	if b, _ := attachments.Open("postgres", nil, creds); b != nil {
		if _, err := b.For(attachments.BackendS3); err == nil {
			t.Error("an S3 attachment is readable without an S3 backend configured")
		}
	}
}

// The S3 backend against a fake object store that checks every signature:
// chunks go in one object each, come back as stored, and are deleted.
func TestS3Backend(t *testing.T) {
	fake := s3fake.Start(t, "files")
	b, err := attachments.Open(fake.Spec(), nil, fake.Creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx, id := context.Background(), uuid.New()
	chunks := [][]byte{bytes.Repeat([]byte{1}, 1<<20), []byte("last")}
	for n, c := range chunks {
		if err := b.New.Put(ctx, id, n, c); err != nil {
			t.Fatalf("put %d: %v", n, err)
		}
	}
	objects := fake.Objects()
	if len(objects) != 2 || !bytes.Equal(objects["nrm/attachments/"+id.String()+"/1"], []byte("last")) {
		t.Fatalf("objects %d: %v", len(objects), keys(objects))
	}
	for n, c := range chunks {
		got, err := b.New.Get(ctx, id, n)
		if err != nil || !bytes.Equal(got, c) {
			t.Errorf("get %d: %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := b.New.Get(ctx, id, 2); !errors.Is(err, attachments.ErrNoChunk) {
		t.Errorf("a missing chunk: %v, want ErrNoChunk", err)
	}
	if err := b.New.Delete(ctx, id, 3); err != nil { // one more than stored: no error
		t.Fatal(err)
	}
	if len(fake.Objects()) != 0 || fake.Refused() != 0 {
		t.Errorf("after delete: %d objects, %d refused", len(fake.Objects()), fake.Refused())
	}
	wrong, err := attachments.Open(fake.Spec(), nil, attachments.Credentials{AccessKeyID: fake.Creds.AccessKeyID, SecretAccessKey: "not-the-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.New.Put(ctx, id, 0, []byte("x")); err == nil || fake.Refused() != 1 {
		t.Errorf("a wrong secret: %v, %d refused", err, fake.Refused())
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
