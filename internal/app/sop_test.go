package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/sop"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// TestChangedSOPUnderUsedVersionIsRefused: once cases use a version, its file
// may not change; the process refuses to start and says what to do.
func TestChangedSOPUnderUsedVersionIsRefused(t *testing.T) {
	t.Parallel()
	db := testenv.Database(t)
	cfg := testenv.Config(t, db, t.TempDir())
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	testenv.Must(t, err)
	defer st.Close()
	_, err = st.Migrate(ctx)
	testenv.Must(t, err)
	set, err := sop.LoadPath(cfg.SOPPath)
	testenv.Must(t, err)
	active := set.All()[0]
	// The version was first used with other content.
	testenv.Must(t, st.PinSOP(ctx, active.ID, active.Version, strings.Repeat("0", 64)))

	_, err = app.Start(ctx, cfg, testenv.Logger(t), app.Parts{Migrate: true})
	if !errors.Is(err, store.ErrSOPChanged) {
		t.Fatalf("start with a changed SOP: %v, want ErrSOPChanged", err)
	}
	if !strings.Contains(err.Error(), active.File) || !strings.Contains(err.Error(), "new version") {
		t.Errorf("the error must name the file and the remedy: %v", err)
	}
}
