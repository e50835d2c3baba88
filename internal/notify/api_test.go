package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/notify"
	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// apiClient calls the API in-process as one user.
type apiClient struct {
	t     *testing.T
	app   *api.Server
	token string
}

func (c apiClient) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.app.App().Test(req, -1)
	testenv.Must(c.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func (w *world) signIn(t *testing.T, srv *api.Server, a *store.Agency, role string) apiClient {
	t.Helper()
	u := w.addUser(t, a, role)
	token, hash, err := auth.NewToken()
	testenv.Must(t, err)
	now := time.Now()
	testenv.Must(t, w.st.CreateSession(context.Background(), hash, u.ID, now, now.Add(time.Hour)))
	return apiClient{t: t, app: srv, token: token}
}

type inbox struct {
	Notifications []struct {
		ID            string     `json:"id"`
		CaseNumber    string     `json:"case_number"`
		RecipientRole string     `json:"recipient_role"`
		ReadAt        *time.Time `json:"read_at"`
		Link          string     `json:"link"`
	} `json:"notifications"`
	Next *string `json:"next"`
}

func (b inbox) ids() []string {
	var out []string
	for _, n := range b.Notifications {
		out = append(out, n.ID)
	}
	return out
}

// TestNotificationRoutes drives the notification routes through the API's
// one authorisation gate. It runs once the routes are in routes.go.
func TestNotificationRoutes(t *testing.T) {
	w := newWorld(t)
	// No network: hooks.example.org resolves to a public address here only.
	hooks := &notify.WebhookPolicy{Resolver: newFakeDNS(map[string]string{"hooks.example.org": "93.184.215.14"})}
	srv := api.New(api.Deps{Store: w.st, Sessions: &auth.Sessions{Store: w.st, Idle: time.Hour, Max: time.Hour},
		Log: slog.New(slog.DiscardHandler), Keys: w.keys, Webhooks: hooks})
	served := map[string]bool{}
	for _, r := range srv.Routes() {
		served[r.Method+" "+r.Path] = true
	}
	for _, r := range []string{"GET /api/v1/notifications", "POST /api/v1/notifications/:id/read", "GET /api/v1/admin/dead-letters",
		"POST /api/v1/admin/dead-letters/:id/retry", "GET /api/v1/agencies/:id/channels", "POST /api/v1/agencies/:id/channels"} {
		if !served[r] {
			t.Fatalf("route %s is not served", r)
		}
	}
	ids := w.add(t, "breach", "opening_agency", "supervisor", "competent_authority")
	opening, supervisor, authority := ids[0], ids[1], ids[2]
	frontA := w.signIn(t, srv, w.agency, "frontline")
	superA := w.signIn(t, srv, w.agency, "supervisor")
	frontB := w.signIn(t, srv, w.other, "frontline")
	ca := w.signIn(t, srv, w.authority, "competent_authority")
	admin := w.signIn(t, srv, w.addAgency(t, "administration"), "admin")

	var box inbox
	if s := frontA.do("GET", "/api/v1/notifications", nil, &box); s != 200 || len(box.ids()) != 1 || box.ids()[0] != opening {
		t.Errorf("frontline A: %d %v, want [%s]", s, box.ids(), opening)
	}
	if len(box.Notifications) == 1 && (box.Notifications[0].CaseNumber != w.cs.Number || box.Notifications[0].Link != "/cases/"+w.cs.ID.String()) {
		t.Errorf("notification = %+v", box.Notifications[0])
	}
	box = inbox{}
	if s := superA.do("GET", "/api/v1/notifications", nil, &box); s != 200 || len(box.ids()) != 2 {
		t.Errorf("supervisor A: %d %v, want the supervisor's and the opening agency's", s, box.ids())
	}
	box = inbox{}
	if s := ca.do("GET", "/api/v1/notifications", nil, &box); s != 200 || len(box.ids()) != 1 || box.ids()[0] != authority {
		t.Errorf("competent authority: %d %v", s, box.ids())
	}
	box = inbox{}
	if s := frontB.do("GET", "/api/v1/notifications", nil, &box); s != 200 || len(box.ids()) != 0 {
		t.Errorf("frontline of another agency: %d %v, want none", s, box.ids())
	}

	read := func(id string) string { return "/api/v1/notifications/" + url.PathEscape(id) + "/read" }
	if s := frontB.do("POST", read(opening), nil, nil); s != 404 {
		t.Errorf("another agency marks A's notification read: %d, want 404", s)
	}
	if s := frontA.do("POST", read(supervisor), nil, nil); s != 404 {
		t.Errorf("frontline marks the supervisor's notification read: %d, want 404", s)
	}
	if s := frontA.do("POST", read("nope"), nil, nil); s != 404 {
		t.Errorf("unknown notification: %d, want 404", s)
	}
	var marked struct {
		ID     string     `json:"id"`
		ReadAt *time.Time `json:"read_at"`
	}
	if s := frontA.do("POST", read(opening), nil, &marked); s != 200 || marked.ID != opening || marked.ReadAt == nil {
		t.Errorf("mark read: %d %+v", s, marked)
	}
	box = inbox{}
	if s := superA.do("GET", "/api/v1/notifications?unread=true", nil, &box); s != 200 || len(box.ids()) != 1 || box.ids()[0] != supervisor {
		t.Errorf("supervisor's unread: %d %v", s, box.ids())
	}
	box = inbox{}
	if s := superA.do("GET", "/api/v1/notifications?limit=1", nil, &box); s != 200 || len(box.ids()) != 1 || box.Next == nil {
		t.Fatalf("first page: %d %v next %v", s, box.ids(), box.Next)
	}
	first := box.ids()[0]
	box2 := inbox{}
	if s := superA.do("GET", "/api/v1/notifications?limit=1&before="+*box.Next, nil, &box2); s != 200 || len(box2.ids()) != 1 ||
		box2.ids()[0] == first || box2.Next != nil {
		t.Errorf("second page: %d %v next %v", s, box2.ids(), box2.Next)
	}
	for _, q := range []string{"?unread=maybe", "?limit=0", "?limit=x", "?limit=201", "?before=!!"} {
		if s := frontA.do("GET", "/api/v1/notifications"+q, nil, nil); s != 422 {
			t.Errorf("GET /api/v1/notifications%s: %d, want 422", q, s)
		}
	}

	// Channels and dead letters: administrators only.
	chans := "/api/v1/agencies/" + w.agency.ID.String() + "/channels"
	if s := superA.do("GET", chans, nil, nil); s != 403 {
		t.Errorf("supervisor lists channels: %d, want 403", s)
	}
	var created struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Secret string `json:"secret"`
	}
	if s := admin.do("POST", chans, map[string]string{"kind": "webhook", "target": "https://hooks.example.org/nrm"}, &created); s != 201 ||
		len(created.Secret) != 64 || created.Kind != "webhook" {
		t.Errorf("add webhook: %d %+v", s, created)
	}
	if s := admin.do("POST", chans, map[string]string{"kind": "webhook", "target": "https://hooks.example.org/nrm"}, nil); s != 409 {
		t.Errorf("the same webhook again: %d, want 409", s)
	}
	if s := admin.do("POST", chans, map[string]string{"kind": "webhook", "target": "http://hooks.example.org/nrm"}, nil); s != 422 {
		t.Errorf("plain http webhook: %d, want 422", s)
	}
	if s := admin.do("POST", chans, map[string]string{"kind": "email", "target": "duty@police.example.org", "secret": "x"}, nil); s != 422 {
		t.Errorf("unknown field: %d, want 422", s)
	}
	if s := admin.do("POST", "/api/v1/agencies/"+w.cs.ID.String()+"/channels", map[string]string{"kind": "email", "target": "duty@police.example.org"}, nil); s != 404 {
		t.Errorf("unknown agency: %d, want 404", s)
	}
	var listed struct {
		Channels []map[string]any `json:"channels"`
	}
	if s := admin.do("GET", chans, nil, &listed); s != 200 || len(listed.Channels) != 1 {
		t.Fatalf("list channels: %d %v", s, listed)
	}
	if _, ok := listed.Channels[0]["secret"]; ok {
		t.Error("the channel list shows the secret")
	}

	if s := frontA.do("GET", "/api/v1/admin/dead-letters", nil, nil); s != 403 {
		t.Errorf("frontline lists dead letters: %d, want 403", s)
	}
	retry := func(id string) string { return "/api/v1/admin/dead-letters/" + url.PathEscape(id) + "/retry" }
	if s := admin.do("POST", retry(opening), nil, nil); s != 409 {
		t.Errorf("retry of a pending notification: %d, want 409", s)
	}
	if s := admin.do("POST", retry("nope"), nil, nil); s != 404 {
		t.Errorf("retry of an unknown notification: %d, want 404", s)
	}
	dead := w.add(t, "breach", "child_protection")[0] // no such agency: dead at once
	testenv.Must(t, deliverAll(w))
	var letters struct {
		DeadLetters []struct {
			ID         string `json:"id"`
			CaseNumber string `json:"case_number"`
			Error      string `json:"error"`
		} `json:"dead_letters"`
	}
	if s := admin.do("GET", "/api/v1/admin/dead-letters", nil, &letters); s != 200 || len(letters.DeadLetters) != 1 ||
		letters.DeadLetters[0].ID != dead || letters.DeadLetters[0].Error == "" {
		t.Errorf("dead letters: %d %+v", s, letters)
	}
	var requeued struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if s := admin.do("POST", retry(dead), nil, &requeued); s != http.StatusAccepted || requeued.Status != "pending" {
		t.Errorf("retry: %d %+v", s, requeued)
	}
}

// deliverAll runs one dispatcher pass; webhooks fail at once (their host
// names do not resolve) rather than reach out to the network.
func deliverAll(w *world) error {
	d := &notify.Dispatcher{Store: w.st, Keys: w.keys, Log: slog.New(slog.DiscardHandler),
		Webhooks: &notify.WebhookPolicy{Resolver: newFakeDNS(nil)}}
	_, err := d.DeliverOnce(context.Background())
	return err
}
