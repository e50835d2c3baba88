package attachments

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// S3 keeps chunks in an S3-compatible object store (AWS S3, MinIO, Ceph
// RGW, …), one object per chunk at <prefix>attachments/<id>/<n>, with plain
// HTTP requests signed by AWS Signature Version 4: PUT, GET and DELETE of
// an object, nothing else. Each chunk is at most a chunk's size (about
// 1 MiB), so a request never needs the streaming (aws-chunked) signature.
//
// With an endpoint the requests go to <endpoint>/<bucket>/<key> (path
// style, what MinIO and most on-premises stores serve); without one, to
// AWS at https://<bucket>.s3.<region>.amazonaws.com/<key>.
type S3 struct {
	// Endpoint is the store's base URL; empty for AWS.
	Endpoint *url.URL
	Bucket   string
	Prefix   string
	Region   string
	Creds    Credentials
	HTTP     *http.Client
	// Now is the signing clock; nil means time.Now.
	Now func() time.Time
}

// ParseS3 reads s3://bucket[/prefix]?endpoint=URL&region=R.
func ParseS3(spec string, creds Credentials) (*S3, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("NRM_ATTACHMENTS: %q is not s3://bucket[/prefix]?endpoint=…&region=…", redact(spec))
	}
	s := &S3{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), Region: "us-east-1", Creds: creds,
		HTTP: &http.Client{Timeout: 60 * time.Second}}
	if s.Prefix != "" {
		s.Prefix += "/"
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" {
			return nil, fmt.Errorf("NRM_ATTACHMENTS: unknown parameter %q (endpoint, region)", k)
		}
	}
	if r := q.Get("region"); r != "" {
		s.Region = r
	}
	if e := q.Get("endpoint"); e != "" {
		ep, err := url.Parse(e)
		if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" || ep.User != nil {
			return nil, errors.New("NRM_ATTACHMENTS: endpoint must be an http(s) URL without credentials")
		}
		s.Endpoint = ep
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return nil, errors.New("NRM_ATTACHMENTS=s3://… needs NRM_S3_ACCESS_KEY_ID and NRM_S3_SECRET_ACCESS_KEY")
	}
	return s, nil
}

func (s *S3) Backend() string { return BackendS3 }

func (s *S3) key(id uuid.UUID, n int) string {
	return fmt.Sprintf("%sattachments/%s/%d", s.Prefix, id, n)
}

// objectURL is where an object is served.
func (s *S3) objectURL(key string) *url.URL {
	if s.Endpoint != nil {
		u := *s.Endpoint
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + s.Bucket + "/" + key
		u.RawQuery = ""
		return &u
	}
	return &url.URL{Scheme: "https", Host: s.Bucket + ".s3." + s.Region + ".amazonaws.com", Path: "/" + key}
}

func (s *S3) Put(ctx context.Context, id uuid.UUID, n int, data []byte) error {
	resp, err := s.do(ctx, http.MethodPut, s.key(id, n), data)
	if err != nil {
		return fmt.Errorf("store chunk %d of attachment %s: %w", n, id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("store chunk %d of attachment %s: object store answered %d", n, id, resp.StatusCode)
	}
	return nil
}

func (s *S3) Get(ctx context.Context, id uuid.UUID, n int) ([]byte, error) {
	resp, err := s.do(ctx, http.MethodGet, s.key(id, n), nil)
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of attachment %s: %w", n, id, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("%w: %d of %s", ErrNoChunk, n, id)
	default:
		return nil, fmt.Errorf("read chunk %d of attachment %s: object store answered %d", n, id, resp.StatusCode)
	}
	// A chunk is small; a store answering more than a chunk could be is refused.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxObject+1))
	if err != nil {
		return nil, fmt.Errorf("read chunk %d of attachment %s: %w", n, id, err)
	}
	if len(data) > maxObject {
		return nil, fmt.Errorf("read chunk %d of attachment %s: object larger than a chunk", n, id)
	}
	return data, nil
}

// maxObject bounds what a chunk's object may be.
const maxObject = 16 << 20

func (s *S3) Delete(ctx context.Context, id uuid.UUID, chunks int) error {
	for n := range chunks {
		resp, err := s.do(ctx, http.MethodDelete, s.key(id, n), nil)
		if err != nil {
			return fmt.Errorf("delete chunk %d of attachment %s: %w", n, id, err)
		}
		resp.Body.Close()
		// 204 when deleted, and when it never existed; 404 from some stores.
		if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("delete chunk %d of attachment %s: object store answered %d", n, id, resp.StatusCode)
		}
	}
	return nil
}

func (s *S3) do(ctx context.Context, method, key string, body []byte) (*http.Response, error) {
	u := s.objectURL(key)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if method == http.MethodPut {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	SignV4(req, body, s.Creds, s.Region, now())
	client := s.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	return client.Do(req)
}

// SignV4 signs an S3 request with AWS Signature Version 4 (header form):
// it sets X-Amz-Date, X-Amz-Content-Sha256 and Authorization, signing the
// host, Content-Type, Range and every X-Amz-* header.
func SignV4(req *http.Request, payload []byte, creds Credentials, region string, now time.Time) {
	const service = "s3"
	now = now.UTC()
	amzDate, day := now.Format("20060102T150405Z"), now.Format("20060102")
	sum := sha256.Sum256(payload)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)

	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers := map[string]string{"host": host}
	for name, values := range req.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") || lower == "content-type" || lower == "range" {
			headers[lower] = strings.Join(values, ",")
		}
	}
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	sort.Strings(names)
	var canonicalHeaders strings.Builder
	for _, name := range names {
		canonicalHeaders.WriteString(name + ":" + strings.TrimSpace(headers[name]) + "\n")
	}
	signedHeaders := strings.Join(names, ";")
	canonical := strings.Join([]string{req.Method, canonicalURI(req.URL), canonicalQuery(req.URL),
		canonicalHeaders.String(), signedHeaders, payloadHash}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	creqSum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	key := hmacSHA256([]byte("AWS4"+creds.SecretAccessKey), day)
	for _, part := range []string{region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	signature := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+creds.AccessKeyID+"/"+scope+
		",SignedHeaders="+signedHeaders+",Signature="+signature)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI is the path with each segment URI-encoded once (S3 does not
// encode twice).
func canonicalURI(u *url.URL) string {
	p := u.Path
	if p == "" {
		return "/"
	}
	segments := strings.Split(p, "/")
	for i, seg := range segments {
		segments[i] = uriEncode(seg)
	}
	return strings.Join(segments, "/")
}

func canonicalQuery(u *url.URL) string {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, uriEncode(k)+"="+uriEncode(v))
		}
	}
	return strings.Join(parts, "&")
}

// uriEncode encodes all but the unreserved characters, as SigV4 asks.
func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
