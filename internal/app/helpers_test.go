package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func mustLoc(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	testenv.Must(t, err)
	return loc
}

func demoSeed(sys *app.System) (demo.Result, error) {
	return demo.Seed(context.Background(), sys.Store, testenv.DemoPassword)
}

func decodeJSON(t *testing.T, resp *http.Response, out any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

// sha256sum is the hash the idempotency layer keeps for a POST /api/v1/cases body.
func sha256sum(t *testing.T, body any) []byte {
	data, err := json.Marshal(body)
	testenv.Must(t, err)
	sum := sha256.Sum256(append([]byte("POST /api/v1/cases\n"), data...))
	return sum[:]
}
