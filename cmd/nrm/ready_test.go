package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/testenv"
)

// lockedBuffer is a bytes.Buffer the command writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	testenv.Must(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestDevSignInAtFirstReady starts `nrm dev` on an empty database and signs
// in as a demo user the moment /readyz first answers 200: the demo users,
// their password, the migrations and the worker are all there by then.
// Before that moment /readyz answers 503 (or nothing at all); then Ctrl-C
// stops the process cleanly.
func TestDevSignInAtFirstReady(t *testing.T) {
	const password = "readiness-demo-password-42"
	t.Setenv("NRM_DEMO_PASSWORD", password)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runDev(ctx, []string{"--database-url", testenv.Database(t), "--addr", addr,
			"--temporal-addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"),
			"--sop", filepath.Join(testenv.RepoRoot(), "sop"), "--log-level", "warn"}, &stdout, &stderr)
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + addr
	var checks struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	unready := 0
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200; stderr: %s", stderr.String())
		}
		select {
		case code := <-done:
			t.Fatalf("nrm dev exited with %d before it was ready; stderr: %s", code, stderr.String())
		default:
		}
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		status := resp.StatusCode
		if status != http.StatusOK {
			json.NewDecoder(resp.Body).Decode(&checks)
			resp.Body.Close()
			if status != http.StatusServiceUnavailable || checks.Status != "unavailable" {
				t.Fatalf("/readyz before ready: %d %+v, want 503 unavailable", status, checks)
			}
			unready++
			time.Sleep(2 * time.Millisecond)
			continue
		}
		testenv.Must(t, json.NewDecoder(resp.Body).Decode(&checks))
		resp.Body.Close()
		break
	}
	// At once, without a pause: the demo login works.
	body := `{"email":"officer@lebap-police.example","password":"` + password + `"}`
	resp, err := client.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	testenv.Must(t, err)
	var login struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || login.Token == "" {
		t.Fatalf("sign-in at the first 200 of /readyz: status %d", resp.StatusCode)
	}
	for _, name := range []string{"process", "postgres", "temporal", "worker"} {
		if checks.Checks[name] != "ok" {
			t.Errorf("ready, but check %s = %q (%+v)", name, checks.Checks[name], checks.Checks)
		}
	}
	t.Logf("/readyz answered 503 %d times before 200", unready)
	if !strings.Contains(stdout.String(), "Demo logins:") {
		t.Errorf("banner missing: %q", stdout.String())
	}

	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("nrm dev stopped with exit %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("nrm dev did not stop within 2 minutes of Ctrl-C")
	}
	if _, err := client.Get(base + "/healthz"); err == nil {
		t.Error("the API still answers after nrm dev stopped")
	}
}

// TestVersion: `-ldflags "-X main.version=..."` (the Dockerfile's
// NRM_VERSION) sets what `nrm version` prints; unset it is "dev".
func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, strings.NewReader(""), &out, &errb); code != 0 || out.String() != "nrm "+version+"\n" {
		t.Errorf("nrm version: exit %d, %q %q", code, out.String(), errb.String())
	}
	if version != "dev" {
		t.Errorf("version %q without -ldflags, want dev", version)
	}
}
