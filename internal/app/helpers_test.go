package app_test

import (
	"context"
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
