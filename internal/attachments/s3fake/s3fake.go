// Package s3fake is an S3-compatible object store for tests: an HTTP
// server on loopback that speaks the three requests attachments.S3 uses —
// PUT, GET and DELETE of an object in path style (/<bucket>/<key>) — checks
// each request's AWS Signature Version 4 against the credentials it was
// given, and keeps the objects in memory, so that a test can look at what
// NRM stored (always ciphertext) and count what is left.
package s3fake

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/attachments"
)

// Server is a running fake object store.
type Server struct {
	URL    string
	Bucket string
	Creds  attachments.Credentials

	mu      sync.Mutex
	objects map[string][]byte
	// Refused counts requests whose signature did not verify.
	refused int
}

// Start serves a fake store with one bucket until the test ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	s := &Server{Bucket: bucket, objects: map[string][]byte{},
		Creds: attachments.Credentials{AccessKeyID: "AKIDNRMTEST", SecretAccessKey: "nrm-test-secret-key-0123456789"}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Spec is the NRM_ATTACHMENTS value that stores in this server.
func (s *Server) Spec() string {
	return "s3://" + s.Bucket + "/nrm?endpoint=" + s.URL + "&region=us-east-1"
}

// Objects returns a copy of the stored objects by key.
func (s *Server) Objects() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.objects)
}

// Refused answers how many requests were refused for a bad signature.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if !s.verify(r, body) {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
		return
	}
	key, ok := strings.CutPrefix(r.URL.Path, "/"+s.Bucket+"/")
	if !ok || key == "" {
		http.Error(w, "<Error><Code>NoSuchBucket</Code></Error>", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		s.objects[key] = body
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		data, ok := s.objects[key]
		if !ok {
			http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
			return
		}
		w.Write(data)
	case http.MethodDelete:
		delete(s.objects, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

// verify signs the request again with the store's credentials at the time
// it names and compares the Authorization headers; the payload's hash must
// match the body received.
func (s *Server) verify(r *http.Request, body []byte) bool {
	got := r.Header.Get("Authorization")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if got == "" || err != nil {
		return false
	}
	check, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	for _, h := range []string{"Content-Type", "Range"} {
		if v := r.Header.Get(h); v != "" {
			check.Header.Set(h, v)
		}
	}
	for name, v := range r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			check.Header[name] = v
		}
	}
	attachments.SignV4(check, body, s.Creds, "us-east-1", at)
	return check.Header.Get("Authorization") == got &&
		check.Header.Get("X-Amz-Content-Sha256") == r.Header.Get("X-Amz-Content-Sha256")
}
