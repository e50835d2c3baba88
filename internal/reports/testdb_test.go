package reports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nrm-tm/nrm/internal/store"
)

// The tests of this package cannot import internal/testenv (testenv starts
// the whole system, whose API imports this package): these two helpers do
// what its Database and RepoRoot do.

// repoRoot is the module's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// testDatabase creates an empty database on the test server (PostgreSQL at
// 127.0.0.1:5432, or NRM_TEST_DATABASE_URL) and drops it at cleanup.
func testDatabase(tb testing.TB) string {
	tb.Helper()
	dsn, err := newDatabase("nrm_test_")
	if err != nil {
		tb.Fatalf("create test database (is PostgreSQL running on 127.0.0.1:5432?): %v", err)
	}
	tb.Cleanup(func() { store.DropDatabase(context.Background(), dsn) })
	return dsn
}

func newDatabase(prefix string) (string, error) {
	server := os.Getenv("NRM_TEST_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	b := make([]byte, 6)
	rand.Read(b)
	u.Path = "/" + prefix + hex.EncodeToString(b)
	dsn := u.String()
	return dsn, store.EnsureDatabase(context.Background(), dsn)
}

// NewTestDatabase is newDatabase for the external tests of this package.
func NewTestDatabase(prefix string) (string, error) { return newDatabase(prefix) }

// RepoRoot is repoRoot for the external tests of this package.
func RepoRoot() string { return repoRoot() }
