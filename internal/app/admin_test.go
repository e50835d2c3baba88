package app_test

import (
	"net/http"
	"testing"

	"github.com/nrm-tm/nrm/internal/testenv"
)

func TestAdministratorsManageTheDirectory(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	admin := anon.Login(t, "admin@nrm.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")

	var p problem
	if st := shelter.Do(t, "GET", "/api/v1/agencies", nil, &p); st != http.StatusForbidden {
		t.Errorf("provider listing agencies: %d, want 403", st)
	}
	bad := map[string]any{"name": "Mary shelter", "type": "ngo", "region": "atlantis", "services": []string{"shelter"}, "beds": 8}
	if st := admin.Do(t, "POST", "/api/v1/agencies", bad, &p); st != http.StatusUnprocessableEntity {
		t.Errorf("unknown region: %d, want 422", st)
	}
	good := map[string]any{"name": "Mary shelter", "type": "ngo", "region": "mary", "services": []string{"shelter"}, "languages": []string{"tk"}, "beds": 8}
	var a struct {
		ID   string `json:"id"`
		Beds int    `json:"beds"`
	}
	mustStatus(t, "create agency", admin.Do(t, "POST", "/api/v1/agencies", good, &a), http.StatusCreated)
	if st := admin.Do(t, "POST", "/api/v1/agencies", good, &p); st != http.StatusUnprocessableEntity || p.Errors[0].Rule != "unique" {
		t.Errorf("duplicate name: %d %+v", st, p.Errors)
	}
	mustStatus(t, "patch beds", admin.Do(t, "PATCH", "/api/v1/agencies/"+a.ID, map[string]int{"beds": 10}, &a), http.StatusOK)
	if a.Beds != 10 {
		t.Errorf("beds after patch = %d", a.Beds)
	}
	user := map[string]string{"email": "caseworker@mary-shelter.example", "name": "Caseworker", "role": "provider", "agency_id": a.ID, "password": "short"}
	if st := admin.Do(t, "POST", "/api/v1/users", user, &p); st != http.StatusUnprocessableEntity {
		t.Errorf("short password: %d, want 422", st)
	}
	for _, weak := range []string{"Password1234", "the caseworker of mary shelter"} {
		user["password"] = weak
		if st := admin.Do(t, "POST", "/api/v1/users", user, &p); st != http.StatusUnprocessableEntity || len(p.Errors) == 0 || p.Errors[0].Rule != "policy" {
			t.Errorf("password %q: %d %+v, want 422 policy", weak, st, p.Errors)
		}
	}
	user["password"] = "a long enough passphrase"
	mustStatus(t, "create user", admin.Do(t, "POST", "/api/v1/users", user, nil), http.StatusCreated)
	c := &testenv.Client{Base: anon.Base, HTTP: anon.HTTP}
	var login struct{ Token string }
	mustStatus(t, "new user logs in", c.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": user["email"], "password": user["password"]}, &login), http.StatusOK)
	// Deactivation ends the user's sessions at once.
	var created struct {
		ID string `json:"id"`
	}
	var users struct {
		Users []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"users"`
	}
	mustStatus(t, "users", admin.Do(t, "GET", "/api/v1/users", nil, &users), http.StatusOK)
	for _, u := range users.Users {
		if u.Email == user["email"] {
			created.ID = u.ID
		}
	}
	session := &testenv.Client{Base: anon.Base, HTTP: anon.HTTP, Token: login.Token}
	mustStatus(t, "session works", session.Do(t, "GET", "/api/v1/me", nil, nil), http.StatusOK)
	mustStatus(t, "deactivate", admin.Do(t, "POST", "/api/v1/users/"+created.ID+"/deactivate", nil, nil), http.StatusNoContent)
	if st := session.Do(t, "GET", "/api/v1/me", nil, &p); st != http.StatusUnauthorized {
		t.Errorf("a deactivated user's session: %d, want 401", st)
	}
	if st := c.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": user["email"], "password": user["password"]}, &p); st != http.StatusUnauthorized {
		t.Errorf("a deactivated user signs in: %d, want 401", st)
	}
	var audits int
	testenv.Must(t, sys.Store.DB().Get(&audits, `SELECT count(*) FROM audit_log WHERE action IN ('agency.create','agency.update','user.create','user.deactivate')`))
	if audits != 4 {
		t.Errorf("%d audit rows for administrative commands, want 4", audits)
	}
}

// TestNULAndInvalidUTF8AreRefused: such input once reached PostgreSQL text
// columns and answered 500; it is refused at the edge with 400.
func TestNULAndInvalidUTF8AreRefused(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	anon := testenv.NewClient(sys)
	admin := anon.Login(t, "admin@nrm.example")
	officer := anon.Login(t, "officer@lebap-police.example")
	shelter := anon.Login(t, "shelter@lebap-shelter.example")
	var p problem
	cases := []struct {
		who    *testenv.Client
		method string
		path   string
		body   any
	}{
		{admin, "POST", "/api/v1/agencies", []byte(`{"name":"M\u0000","type":"ngo","region":"mary"}`)},
		{admin, "POST", "/api/v1/users", []byte(`{"email":"a@b.example","name":"A\u0000B","role":"twg","agency_id":"` + "00000000-0000-0000-0000-000000000000" + `","password":"a long enough passphrase"}`)},
		{officer, "GET", "/api/v1/cases?stage=%00", nil},
		{officer, "GET", "/api/v1/cases?stage=%ff", nil},
		{shelter, "GET", "/api/v1/referrals?status=%c3", nil},
		{officer, "POST", "/api/v1/notifications/a%00b/read", nil},
		{admin, "POST", "/api/v1/admin/dead-letters/a%ffb/retry", nil},
	}
	for _, c := range cases {
		if st := c.who.Do(t, c.method, c.path, c.body, &p); st != http.StatusBadRequest {
			t.Errorf("%s %s: %d, want 400", c.method, c.path, st)
		}
	}
}
