package app_test

import (
	"net/http"
	"testing"

	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// Finding 4 of the security probe: webhooks may not target internal
// services. testenv.Start runs the system as `nrm dev` does, which lets
// loopback receivers through and nothing else internal; NRM_WEBHOOK_ALLOW
// lets an operator's own receivers through. (Outside dev mode loopback is
// refused too: internal/notify's TestAddChannelRefusesInternalTargetsOutsideDev.)
func TestWebhookTargetsUnderDevAndTheAllowList(t *testing.T) {
	t.Setenv("NRM_WEBHOOK_ALLOW", "10.20.0.0/16, hooks.internal.example:8443")
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	admin := testenv.NewClient(sys).Login(t, "admin@nrm.example")
	var agency string
	testenv.Must(t, sys.Store.DB().Get(&agency, `SELECT id FROM agencies WHERE name = $1`, demo.Hotline))
	chans := "/api/v1/agencies/" + agency + "/channels"

	for _, c := range []struct {
		target string
		status int
		rule   string
	}{
		{"http://127.0.0.1:9/hook", http.StatusCreated, ""},
		{"http://[::1]:9/hook", http.StatusCreated, ""},
		{"https://169.254.169.254/latest/meta-data/", http.StatusUnprocessableEntity, "address"},
		{"https://[::ffff:169.254.169.254]/", http.StatusUnprocessableEntity, "address"},
		{"https://10.0.0.1/hook", http.StatusUnprocessableEntity, "address"},
		{"https://192.168.1.1/hook", http.StatusUnprocessableEntity, "address"},
		{"https://[fd00::1]/hook", http.StatusUnprocessableEntity, "address"},
		{"https://0.0.0.0:5432/", http.StatusUnprocessableEntity, "address"},
		{"http://2130706433:5432/", http.StatusUnprocessableEntity, "url"},
		{"http://user:pw@127.0.0.1:9/", http.StatusUnprocessableEntity, "url"},
		{"http://10.20.0.7:8080/hook", http.StatusCreated, ""},
		{"https://hooks.internal.example:8443/nrm", http.StatusCreated, ""},
	} {
		var p problem
		if st := admin.Do(t, "POST", chans, map[string]string{"kind": "webhook", "target": c.target}, &p); st != c.status {
			t.Errorf("add %s: %d %+v, want %d", c.target, st, p, c.status)
			continue
		}
		if c.rule != "" && (len(p.Errors) != 1 || p.Errors[0].Field != "target" || p.Errors[0].Rule != c.rule) {
			t.Errorf("add %s: errors %+v, want target breaking %s", c.target, p.Errors, c.rule)
		}
	}
	var n int
	testenv.Must(t, sys.Store.DB().Get(&n, `SELECT count(*) FROM agency_channels WHERE agency_id = $1`, agency))
	if n != 4 {
		t.Errorf("%d channels stored, want the 4 accepted", n)
	}
}
