package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nrm-tm/nrm/internal/app"
	"github.com/nrm-tm/nrm/internal/identity"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
)

// runKeys implements `nrm keys rotate`: with the new master key as
// NRM_MASTER_KEY_FILE and the old one as NRM_PREVIOUS_KEY_FILE, it re-wraps
// every case's data key and every webhook secret under the new key and
// recomputes the blind indexes. serve and worker keep running with both keys
// configured meanwhile; once it reports done, drop NRM_PREVIOUS_KEY_FILE and
// restart them.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, "usage: nrm keys rotate --master-key-file NEW --previous-key-file OLD [flags]")
		return 2
	}
	cfg, _, log, code := setup("keys rotate", args[1:], stderr)
	if code >= 0 {
		return code
	}
	if cfg.PreviousKeyFile == "" {
		fmt.Fprintln(stderr, "nrm keys rotate: --previous-key-file (NRM_PREVIOUS_KEY_FILE) names the key to rotate away from")
		return 2
	}
	keys, err := app.LoadKeyring(cfg, false)
	if err != nil {
		return fail(log, "keys rotate", err)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "keys rotate", err)
	}
	defer st.Close()
	n, err := (&identity.Vault{Store: st, Keys: keys}).Rotate(ctx)
	if err != nil {
		return fail(log, "keys rotate", err)
	}
	// Webhook signing secrets are sealed under the master key too.
	secrets, err := notify.Secrets{Store: st, Keys: keys}.Rotate(ctx)
	if err != nil {
		return fail(log, "keys rotate", err)
	}
	fmt.Fprintf(stdout, "re-wrapped %d case keys and %d webhook secrets under master key %s; remove the previous key from the configuration now\n",
		n, secrets, keys.CurrentKeyID())
	return 0
}
