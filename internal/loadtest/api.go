package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// apiClient speaks to the API as a signed-in officer.
type apiClient struct {
	http  *http.Client
	base  string
	token string
}

// newHTTPClient keeps an idle connection for every concurrent operation:
// the default transport keeps two per host, and reconnecting at high
// concurrency would measure connection set-up rather than the API.
func newHTTPClient(maxConcurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(100, 2*maxConcurrency)
	t.MaxIdleConnsPerHost = max(2, 2*maxConcurrency)
	return &http.Client{Timeout: 30 * time.Second, Transport: t}
}

// statusError is an answer other than the one expected.
type statusError struct {
	status  int
	problem string // the problem type, if the body is a problem
}

func (e *statusError) Error() string {
	if e.problem != "" {
		return fmt.Sprintf("status %d (%s)", e.status, e.problem)
	}
	return fmt.Sprintf("status %d", e.status)
}

// reason names a failure for the counts: the status of an answer, or a
// short transport or engine error (never a request body, so never a
// person's data).
func reason(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		return se.Error()
	}
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "Client.Timeout", "deadline exceeded", "context canceled", "EOF"} {
		if strings.Contains(s, k) {
			return "no answer: " + k
		}
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// signIn signs in with a password (POST /api/v1/auth/login) and keeps the
// bearer token.
func signIn(ctx context.Context, hc *http.Client, base, email, password string) (*apiClient, error) {
	c := &apiClient{http: hc, base: strings.TrimRight(base, "/")}
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &out)
	var se *statusError
	switch {
	case errors.As(err, &se) && se.status == http.StatusUnauthorized:
		return nil, fmt.Errorf("sign in as %s at %s: wrong e-mail or password (401)", email, c.base)
	case err != nil:
		return nil, fmt.Errorf("sign in as %s at %s: %w", email, c.base, err)
	case out.Token == "":
		return nil, fmt.Errorf("sign in as %s at %s: the answer holds no token", email, c.base)
	}
	c.token = out.Token
	return c, nil
}

// openCase opens a case (201) with an Idempotency-Key, as real clients do
// so that they may retry; it answers the case's ID.
func (c *apiClient) openCase(ctx context.Context, body map[string]any) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/cases", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("opened without a case ID")
	}
	return out.ID, nil
}

// readCase reads a case (200).
func (c *apiClient) readCase(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodGet, "/api/v1/cases/"+id, nil, http.StatusOK, nil)
}

// do sends body as JSON and decodes an answer of status want into out.
func (c *apiClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	req, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return &statusError{status: resp.StatusCode, problem: problemType(resp, data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

func (c *apiClient) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		if method == http.MethodPost {
			req.Header.Set("Idempotency-Key", uuid.NewString())
		}
	}
	return req, nil
}

// problemType is the type of an application/problem+json answer.
func problemType(resp *http.Response, body []byte) string {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		return ""
	}
	var p struct {
		Type string `json:"type"`
	}
	json.Unmarshal(body, &p)
	return p.Type
}
