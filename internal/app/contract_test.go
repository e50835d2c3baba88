package app_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/api"
	"github.com/nrm-tm/nrm/internal/demo"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// The contract (docs/api.md#the-openapi-document): internal/api/openapi.yaml
// is what clients generate code from, so the server must answer what it
// documents.
// TestContractOpenAPI drives a realistic run over HTTP — every demo role
// signs in; cases go through every path of the SOP (the scenarios of
// TestSOPPathsOverHTTP, with the seconds-scale SOP); providers answer
// referrals; notifications, the directory, channels, dead letters, reports,
// exports, the codec, health and metrics are used; and the usual mistakes
// are made (no session, wrong role, cookie without CSRF token, malformed,
// oversized or non-JSON bodies, invalid fields, a reused Idempotency-Key,
// failed sign-ins until the throttle answers) — and checks every exchange
// against the document with kin-openapi:
//
//   - the request must match an operation of the document;
//   - the answer's status must be one the operation documents (no
//     `default` to fall back on), and its headers and body must match
//     (openapi3filter.ValidateResponse, formats asserted);
//   - the body may hold no property the schema does not name, and the
//     answer no header its response does not declare (besides the ones
//     every answer carries, listed in the document's info);
//   - a request the server accepted (2xx) must be valid by the document
//     (openapi3filter.ValidateRequest).
//
// At the end every operation of the document must have answered at least
// one 2xx: an operation nobody exercised fails the test.
func TestContractOpenAPI(t *testing.T) {
	t.Parallel()
	check := newContractCheck(t)

	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	cfg.SOPPath = testenv.FastSOP()
	sys := testenv.Start(t, cfg)
	ctx := context.Background()
	anon := &testenv.Client{Base: "http://" + sys.APIAddr, HTTP: &http.Client{Timeout: 30 * time.Second, Transport: check}}

	officer := anon.Login(t, "officer@lebap-police.example")
	supervisor := anon.Login(t, "supervisor@lebap-police.example")
	dashoguz := anon.Login(t, "officer@dashoguz-police.example")
	decider := anon.Login(t, "decider@authority.example")
	reviewer := anon.Login(t, "reviewer@authority.example")
	lebapShelter := anon.Login(t, "shelter@lebap-shelter.example")
	ashgabatShelter := anon.Login(t, "shelter@ashgabat-shelter.example")
	twg := anon.Login(t, "twg@twg.example")
	admin := anon.Login(t, "admin@nrm.example")
	jsonCT := http.Header{"Content-Type": {"application/json"}}

	t.Run("operations", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz", "/api/openapi.yaml", "/metrics"} {
			contractSend(t, anon, "GET", path, nil, nil)
		}
		bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
		mustStatus(t, "metrics", contractSend(t, anon, "GET", "/metrics", nil, bearer(testenv.MetricsToken)), http.StatusOK)
		h := bearer(testenv.MetricsToken)
		h.Set("Accept", "application/openmetrics-text; version=1.0.0")
		mustStatus(t, "openmetrics", contractSend(t, anon, "GET", "/metrics", nil, h), http.StatusOK)
		mustStatus(t, "metrics with a session", contractSend(t, anon, "GET", "/metrics", nil, bearer(admin.Token)), http.StatusUnauthorized)
		mustStatus(t, "bad query", contractSend(t, anon, "GET", "/healthz?x=%ff", nil, nil), http.StatusBadRequest)
	})

	t.Run("sessions", func(t *testing.T) {
		mustStatus(t, "me", officer.Do(t, "GET", "/api/v1/me", nil, nil), http.StatusOK)
		var inForce struct {
			Version string `json:"version"`
		}
		mustStatus(t, "the SOP in force", officer.Do(t, "GET", "/api/v1/sop", nil, &inForce), http.StatusOK)
		mustStatus(t, "an SOP version", officer.Do(t, "GET", "/api/v1/sop/"+inForce.Version, nil, nil), http.StatusOK)
		mustStatus(t, "an unknown SOP version", officer.Do(t, "GET", "/api/v1/sop/1999.1", nil, nil), http.StatusNotFound)
		mustStatus(t, "anonymous me", anon.Do(t, "GET", "/api/v1/me", nil, nil), http.StatusUnauthorized)
		login := func(body any, h http.Header) int { return contractSend(t, anon, "POST", "/api/v1/auth/login", body, h) }
		mustStatus(t, "malformed sign-in", login([]byte(`{"email":`), jsonCT), http.StatusBadRequest)
		mustStatus(t, "sign-in as text", login([]byte(`{}`), http.Header{"Content-Type": {"text/plain"}}), http.StatusUnsupportedMediaType)
		mustStatus(t, "empty sign-in", login(map[string]any{}, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "cross-site cookie sign-in", login(map[string]any{"email": "officer@lebap-police.example",
			"password": testenv.DemoPassword, "cookie": true}, http.Header{"Sec-Fetch-Site": {"cross-site"}}), http.StatusForbidden)
		// Wrong passwords for one account from one address until the throttle answers 429.
		throttled := false
		for range 8 {
			st := login(map[string]any{"email": "nobody-contract@nrm.example", "password": "wrong password!"}, nil)
			if st == http.StatusTooManyRequests {
				throttled = true
				break
			}
			mustStatus(t, "wrong password", st, http.StatusUnauthorized)
		}
		if !throttled {
			t.Errorf("no 429 after 8 failed sign-ins")
		}

		// The web UI's cookie session: the CSRF token guards unsafe requests.
		resp := anon.Raw(t, "POST", "/api/v1/auth/login", map[string]any{"email": "supervisor@lebap-police.example",
			"password": testenv.DemoPassword, "cookie": true}, nil)
		var session struct {
			CSRFToken string `json:"csrf_token"`
		}
		decodeJSON(t, resp, &session)
		resp.Body.Close()
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-nrm_session" {
				cookie = c.Name + "=" + c.Value
			}
		}
		if resp.StatusCode != http.StatusOK || cookie == "" || session.CSRFToken == "" {
			t.Fatalf("cookie sign-in: %d, cookie %q", resp.StatusCode, cookie)
		}
		web := http.Header{"Cookie": {cookie}}
		mustStatus(t, "me by cookie", contractSend(t, anon, "GET", "/api/v1/me", nil, web), http.StatusOK)
		mustStatus(t, "logout without CSRF token", contractSend(t, anon, "POST", "/api/v1/auth/logout", nil, web), http.StatusForbidden)
		web.Set("X-CSRF-Token", session.CSRFToken)
		mustStatus(t, "logout by cookie", contractSend(t, anon, "POST", "/api/v1/auth/logout", nil, web), http.StatusNoContent)
		mustStatus(t, "logout", anon.Login(t, "officer@lebap-police.example").Do(t, "POST", "/api/v1/auth/logout", nil, nil), http.StatusNoContent)
	})

	// Every path of the SOP, as TestSOPPathsOverHTTP runs them.
	a := actors{officer: officer, supervisor: supervisor, decider: decider, reviewer: reviewer,
		lebapShelter: lebapShelter, ashgabatShelter: ashgabatShelter}
	t.Run("sop paths", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				body := testenv.Screening()
				if sc.body != nil {
					body = sc.body()
				}
				var c caseBody
				mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", body, &c), http.StatusCreated)
				base := "/api/v1/cases/" + c.ID
				if sc.steps != nil {
					sc.steps(t, a, base)
				}
				waitStage(t, officer, base, sc.wantAt)
				mustStatus(t, "timeline", officer.Do(t, "GET", base+"/timeline", nil, nil), http.StatusOK)
				mustStatus(t, "case", decider.Do(t, "GET", base, nil, nil), http.StatusOK)
			})
		}
	})

	var opened caseBody
	var referral struct {
		ID string `json:"id"`
	}
	t.Run("cases", func(t *testing.T) {
		mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
		base := "/api/v1/cases/" + opened.ID
		// The same person again: the answer names the earlier case.
		var again struct {
			PossibleDuplicate *struct {
				Cases []struct{ ID string } `json:"cases"`
			} `json:"possible_duplicate"`
		}
		mustStatus(t, "open again", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &again), http.StatusCreated)
		if again.PossibleDuplicate == nil || len(again.PossibleDuplicate.Cases) == 0 {
			t.Errorf("opening the same person twice answers no possible_duplicate")
		}
		for _, path := range []string{"/api/v1/cases", "/api/v1/cases?stage=identification&limit=5", base, base + "/timeline"} {
			mustStatus(t, "read "+path, officer.Do(t, "GET", path, nil, nil), http.StatusOK)
		}
		mustStatus(t, "write a note", officer.Do(t, "POST", base+"/notes", map[string]any{"note": "Asked for an interpreter."}, nil), http.StatusCreated)
		mustStatus(t, "empty note", officer.Do(t, "POST", base+"/notes", map[string]any{"note": ""}, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "read the notes", decider.Do(t, "GET", base+"/notes", nil, nil), http.StatusOK)
		mustStatus(t, "second note", officer.Do(t, "POST", base+"/notes", map[string]any{"note": "Called back."}, nil), http.StatusCreated)
		var notes struct {
			Next *string `json:"next"`
		}
		mustStatus(t, "a page of notes", decider.Do(t, "GET", base+"/notes?limit=1", nil, &notes), http.StatusOK)
		if notes.Next == nil {
			t.Fatalf("two notes, a page of one: no next cursor")
		}
		mustStatus(t, "the next page of notes", decider.Do(t, "GET", base+"/notes?limit=1&after="+url.QueryEscape(*notes.Next), nil, nil), http.StatusOK)
		mustStatus(t, "a forged notes cursor", decider.Do(t, "GET", base+"/notes?after=forged", nil, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "case referrals", officer.Do(t, "GET", base+"/referrals", nil, nil), http.StatusOK)
		mustStatus(t, "provider without a referral reads notes", lebapShelter.Do(t, "GET", base+"/notes", nil, nil), http.StatusNotFound)
		mustStatus(t, "twg reads notes", twg.Do(t, "GET", base+"/notes", nil, nil), http.StatusForbidden)

		// Attachments: a file uploaded, listed, downloaded; a disguised one refused.
		pdf := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("contract file\n"), 500)...)
		upBody, upCT := multipartBody(t, uploadPart{name: "kind", data: []byte("medical_report")},
			uploadPart{name: "description", data: []byte("Clinic letter")},
			uploadPart{name: "file", fileName: "letter.pdf", contentType: "application/pdf", data: pdf})
		var file struct {
			ID string `json:"id"`
		}
		mustStatus(t, "upload", officer.Do(t, "POST", base+"/attachments", nil, nil), http.StatusUnsupportedMediaType)
		resp := officer.Raw(t, "POST", base+"/attachments", upBody, http.Header{"Content-Type": {upCT}})
		decodeJSON(t, resp, &file)
		mustStatus(t, "upload a file", resp.StatusCode, http.StatusCreated)
		exeBody, exeCT := multipartBody(t, uploadPart{name: "kind", data: []byte("other")},
			uploadPart{name: "file", fileName: "letter.pdf", contentType: "application/pdf", data: []byte("MZ\x90\x00 not a pdf")})
		mustStatus(t, "upload an executable", contractSend(t, officer, "POST", base+"/attachments", exeBody, http.Header{"Content-Type": {exeCT}}),
			http.StatusUnsupportedMediaType)
		badKind, badKindCT := multipartBody(t, uploadPart{name: "kind", data: []byte("selfie")},
			uploadPart{name: "file", fileName: "letter.pdf", data: pdf})
		mustStatus(t, "upload of an unknown kind", contractSend(t, officer, "POST", base+"/attachments", badKind, http.Header{"Content-Type": {badKindCT}}),
			http.StatusUnprocessableEntity)
		mustStatus(t, "list files", decider.Do(t, "GET", base+"/attachments", nil, nil), http.StatusOK)
		mustStatus(t, "download a file", contractSend(t, decider, "GET", base+"/attachments/"+file.ID, nil, nil), http.StatusOK)
		mustStatus(t, "download no file", contractSend(t, decider, "GET", base+"/attachments/"+uuid.NewString(), nil, nil), http.StatusNotFound)
		mustStatus(t, "provider lists files", lebapShelter.Do(t, "GET", base+"/attachments", nil, nil), http.StatusForbidden)
		mustStatus(t, "authority reads", decider.Do(t, "GET", "/api/v1/cases", nil, nil), http.StatusOK)
		mustStatus(t, "identity read", decider.Do(t, "GET", base, nil, nil), http.StatusOK)
		mustStatus(t, "foreign case", dashoguz.Do(t, "GET", base, nil, nil), http.StatusNotFound)
		mustStatus(t, "provider lists cases", lebapShelter.Do(t, "GET", "/api/v1/cases", nil, nil), http.StatusForbidden)
		mustStatus(t, "no such case", officer.Do(t, "GET", "/api/v1/cases/"+uuid.NewString()+"/timeline", nil, nil), http.StatusNotFound)
		mustStatus(t, "bad query", officer.Do(t, "GET", "/api/v1/cases?stage=%00", nil, nil), http.StatusBadRequest)
		mustStatus(t, "anonymous", anon.Do(t, "GET", base, nil, nil), http.StatusUnauthorized)

		// Body mistakes.
		mustStatus(t, "empty screening", officer.Do(t, "POST", "/api/v1/cases", map[string]any{}, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "malformed screening", contractSend(t, officer, "POST", "/api/v1/cases", []byte(`{"person":`), jsonCT), http.StatusBadRequest)
		mustStatus(t, "screening as text", contractSend(t, officer, "POST", "/api/v1/cases", []byte(`{}`), http.Header{"Content-Type": {"text/plain"}}),
			http.StatusUnsupportedMediaType)
		big := []byte(`{"narrative":"` + strings.Repeat("n", cfg.BodyLimit) + `"}`)
		// Expect: 100-continue keeps the client from writing the body the
		// server refuses on its declared length: otherwise the server's close
		// can reset the connection while the client still writes.
		oversized := http.Header{"Content-Type": {"application/json"}, "Expect": {"100-continue"}}
		mustStatus(t, "oversized screening", contractSend(t, officer, "POST", "/api/v1/cases", big, oversized), http.StatusRequestEntityTooLarge)
		mustStatus(t, "officer decides", officer.Do(t, "POST", base+"/decisions", decideBody("preliminary", "positive"), nil), http.StatusForbidden)

		// Consent again, idempotently: the replay answers the stored answer.
		consent := map[string]bool{"referral": true, "data_sharing": true}
		key := http.Header{"Idempotency-Key": {"contract-" + uuid.NewString()}}
		mustStatus(t, "consent", contractSend(t, officer, "POST", base+"/consent", consent, key), http.StatusOK)
		mustStatus(t, "consent replayed", contractSend(t, officer, "POST", base+"/consent", consent, key), http.StatusOK)
		mustStatus(t, "key reused", contractSend(t, officer, "POST", base+"/consent", map[string]bool{"referral": true, "data_sharing": false}, key),
			http.StatusUnprocessableEntity)
		mustStatus(t, "follow-up not due", officer.Do(t, "POST", base+"/follow-up", nil, nil), http.StatusConflict)

		// A referral: the provider reads it; the case owner withdraws it.
		mustStatus(t, "refer", officer.Do(t, "POST", base+"/referrals", map[string]any{"service": "shelter", "note": "tonight"}, &referral), http.StatusCreated)
		testenv.Eventually(t, 20*time.Second, "the referral in the Lebap shelter's inbox", func() bool {
			var in struct {
				Referrals []struct{ ID string } `json:"referrals"`
			}
			lebapShelter.Do(t, "GET", "/api/v1/referrals?status=pending&limit=10", nil, &in)
			return slices.ContainsFunc(in.Referrals, func(r struct{ ID string }) bool { return r.ID == referral.ID })
		})
		mustStatus(t, "provider view", lebapShelter.Do(t, "GET", "/api/v1/referrals/"+referral.ID, nil, nil), http.StatusOK)
		mustStatus(t, "provider reads its referral's notes", lebapShelter.Do(t, "GET", base+"/notes", nil, nil), http.StatusOK)
		mustStatus(t, "foreign provider", ashgabatShelter.Do(t, "GET", "/api/v1/referrals/"+referral.ID, nil, nil), http.StatusNotFound)
		mustStatus(t, "withdraw referral", officer.Do(t, "POST", base+"/referrals/"+referral.ID+"/withdraw", nil, nil), http.StatusOK)
		mustStatus(t, "accept withdrawn", lebapShelter.Do(t, "POST", "/api/v1/referrals/"+referral.ID+"/accept", nil, nil), http.StatusConflict)

		// Corrections: merge patches of the person and of the case, the history, the usual mistakes.
		mp := http.Header{"Content-Type": {"application/merge-patch+json"}}
		mustStatus(t, "correct the person", contractSend(t, officer, "PATCH", base+"/person",
			map[string]any{"reason": "misspelt", "family_name": "Berdiyeva", "phone": nil}, mp), http.StatusOK)
		mustStatus(t, "correct the case", contractSend(t, decider, "PATCH", base,
			map[string]any{"reason": "told more", "exploitation_countries": []string{"TR"}, "encounter": map[string]any{"place": "Farap"}}, mp), http.StatusOK)
		mustStatus(t, "a patch of an unknown field", contractSend(t, officer, "PATCH", base+"/person", map[string]any{"reason": "x", "nickname": "A"}, mp),
			http.StatusUnprocessableEntity)
		mustStatus(t, "a patch as JSON", contractSend(t, officer, "PATCH", base, map[string]any{"reason": "x"}, jsonCT), http.StatusUnsupportedMediaType)
		mustStatus(t, "a change of track", contractSend(t, officer, "PATCH", base+"/person", map[string]any{"reason": "x", "birth_date": "2016-01-01"}, mp),
			http.StatusConflict)
		mustStatus(t, "a foreign correction", contractSend(t, dashoguz, "PATCH", base, map[string]any{"reason": "x"}, mp), http.StatusNotFound)
		mustStatus(t, "the history", decider.Do(t, "GET", base+"/history", nil, nil), http.StatusOK)

		// Erasure on the authority's order.
		mustStatus(t, "erase", decider.Do(t, "POST", base+"/erasure", map[string]string{"reason": "court_order", "order": "No. 12/2026-A"}, nil), http.StatusOK)
		mustStatus(t, "erase again", decider.Do(t, "POST", base+"/erasure", map[string]string{"reason": "court_order", "order": "No. 12/2026-A"}, nil), http.StatusConflict)
		mustStatus(t, "download an erased file", contractSend(t, decider, "GET", base+"/attachments/"+file.ID, nil, nil), http.StatusGone)
	})

	t.Run("notifications", func(t *testing.T) {
		// The referral above told the Lebap shelter (new_referral); the second
		// screening told the competent authority (possible_duplicate).
		type page struct {
			Notifications []struct{ ID string } `json:"notifications"`
			Next          *string               `json:"next"`
		}
		var first page
		testenv.Eventually(t, 20*time.Second, "a notification for the Lebap shelter", func() bool {
			return lebapShelter.Do(t, "GET", "/api/v1/notifications?limit=1", nil, &first) == http.StatusOK && len(first.Notifications) > 0
		})
		if first.Next != nil {
			mustStatus(t, "next page", lebapShelter.Do(t, "GET", "/api/v1/notifications?limit=1&before="+url.QueryEscape(*first.Next), nil, nil), http.StatusOK)
		}
		for _, c := range []*testenv.Client{officer, supervisor, decider, twg, admin} {
			mustStatus(t, "notifications", c.Do(t, "GET", "/api/v1/notifications?unread=true", nil, nil), http.StatusOK)
		}
		mustStatus(t, "bad limit", lebapShelter.Do(t, "GET", "/api/v1/notifications?limit=0", nil, nil), http.StatusUnprocessableEntity)
		id := url.PathEscape(first.Notifications[0].ID)
		mustStatus(t, "read", lebapShelter.Do(t, "POST", "/api/v1/notifications/"+id+"/read", nil, nil), http.StatusOK)
		mustStatus(t, "read again", lebapShelter.Do(t, "POST", "/api/v1/notifications/"+id+"/read", nil, nil), http.StatusOK)
		mustStatus(t, "another agency's", officer.Do(t, "POST", "/api/v1/notifications/"+id+"/read", nil, nil), http.StatusNotFound)

		// A dead letter (its delivery given up), retried by an administrator.
		_, err := sys.Store.DB().ExecContext(ctx, `UPDATE notifications SET status = 'dead' WHERE id = $1`, first.Notifications[0].ID)
		testenv.Must(t, err)
		mustStatus(t, "dead letters", admin.Do(t, "GET", "/api/v1/admin/dead-letters?limit=10", nil, nil), http.StatusOK)
		mustStatus(t, "bad limit", admin.Do(t, "GET", "/api/v1/admin/dead-letters?limit=501", nil, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "retry", admin.Do(t, "POST", "/api/v1/admin/dead-letters/"+id+"/retry", nil, nil), http.StatusAccepted)
		mustStatus(t, "retry again", admin.Do(t, "POST", "/api/v1/admin/dead-letters/"+id+"/retry", nil, nil), http.StatusConflict)
		mustStatus(t, "retry unknown", admin.Do(t, "POST", "/api/v1/admin/dead-letters/"+uuid.NewString()+"/retry", nil, nil), http.StatusNotFound)
		mustStatus(t, "officer lists dead letters", officer.Do(t, "GET", "/api/v1/admin/dead-letters", nil, nil), http.StatusForbidden)
	})

	t.Run("directory", func(t *testing.T) {
		var agencies struct {
			Agencies []struct{ ID, Name string } `json:"agencies"`
		}
		mustStatus(t, "agencies", admin.Do(t, "GET", "/api/v1/agencies", nil, &agencies), http.StatusOK)
		var agency struct{ ID string }
		mustStatus(t, "create agency", admin.Do(t, "POST", "/api/v1/agencies", map[string]any{"name": "Mary shelter", "type": "ngo",
			"region": "mary", "regions": []string{"mary"}, "services": []string{"shelter"}, "languages": []string{"tk", "ru"}, "beds": 4}, &agency), http.StatusCreated)
		mustStatus(t, "same name", admin.Do(t, "POST", "/api/v1/agencies", map[string]any{"name": "Mary shelter", "type": "ngo", "region": "mary"}, nil),
			http.StatusUnprocessableEntity)
		mustStatus(t, "patch agency", admin.Do(t, "PATCH", "/api/v1/agencies/"+agency.ID, map[string]any{"beds": 6, "languages": []string{"tk"}}, nil), http.StatusOK)
		mustStatus(t, "patch nothing", admin.Do(t, "PATCH", "/api/v1/agencies/"+agency.ID, map[string]any{}, nil), http.StatusOK)
		mustStatus(t, "patch unknown", admin.Do(t, "PATCH", "/api/v1/agencies/"+uuid.NewString(), map[string]any{"beds": 1}, nil), http.StatusNotFound)

		mustStatus(t, "users", admin.Do(t, "GET", "/api/v1/users", nil, nil), http.StatusOK)
		var user struct{ ID string }
		mustStatus(t, "create user", admin.Do(t, "POST", "/api/v1/users", map[string]any{"email": "caseworker@mary-shelter.example",
			"name": "Mary caseworker", "role": "provider", "agency_id": agency.ID, "password": "a long enough password"}, &user), http.StatusCreated)
		mustStatus(t, "same e-mail", admin.Do(t, "POST", "/api/v1/users", map[string]any{"email": "caseworker@mary-shelter.example",
			"name": "Mary caseworker", "role": "provider", "agency_id": agency.ID, "password": "a long enough password"}, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "deactivate", admin.Do(t, "POST", "/api/v1/users/"+user.ID+"/deactivate", nil, nil), http.StatusNoContent)
		var me struct{ ID string }
		mustStatus(t, "me", admin.Do(t, "GET", "/api/v1/me", nil, &me), http.StatusOK)
		mustStatus(t, "deactivate myself", admin.Do(t, "POST", "/api/v1/users/"+me.ID+"/deactivate", nil, nil), http.StatusConflict)

		hotline, err := sys.Store.AgencyByName(ctx, demo.Hotline)
		testenv.Must(t, err)
		chans := "/api/v1/agencies/" + hotline.ID.String() + "/channels"
		mustStatus(t, "add webhook", admin.Do(t, "POST", chans, map[string]string{"kind": "webhook", "target": "http://127.0.0.1:9/hook"}, nil), http.StatusCreated)
		mustStatus(t, "add e-mail", admin.Do(t, "POST", chans, map[string]string{"kind": "email", "target": "duty@hotline.example"}, nil), http.StatusCreated)
		mustStatus(t, "add twice", admin.Do(t, "POST", chans, map[string]string{"kind": "email", "target": "duty@hotline.example"}, nil), http.StatusConflict)
		mustStatus(t, "bad target", admin.Do(t, "POST", chans, map[string]string{"kind": "webhook", "target": "https://10.0.0.1/hook"}, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "channels", admin.Do(t, "GET", chans, nil, nil), http.StatusOK)
		mustStatus(t, "channels of no agency", admin.Do(t, "GET", "/api/v1/agencies/"+uuid.NewString()+"/channels", nil, nil), http.StatusNotFound)
		mustStatus(t, "twg adds agency", twg.Do(t, "POST", "/api/v1/agencies", map[string]any{}, nil), http.StatusForbidden)
	})

	t.Run("codec", func(t *testing.T) {
		b64 := base64.StdEncoding.EncodeToString
		plain := map[string]any{"payloads": []map[string]any{{"metadata": map[string]string{"encoding": b64([]byte("json/plain"))},
			"data": b64([]byte(`"contract"`))}}}
		var sealed map[string]any
		mustStatus(t, "encode", admin.Do(t, "POST", "/codec/encode", plain, &sealed), http.StatusOK)
		mustStatus(t, "decode", admin.Do(t, "POST", "/codec/decode", sealed, nil), http.StatusOK)
		mustStatus(t, "not payloads", admin.Do(t, "POST", "/codec/decode", map[string]any{"payloads": "x"}, nil), http.StatusBadRequest)
		mustStatus(t, "not JSON", contractSend(t, admin, "POST", "/codec/encode", []byte("{}"), http.Header{"Content-Type": {"text/plain"}}), http.StatusUnsupportedMediaType)
		mustStatus(t, "officer decodes", officer.Do(t, "POST", "/codec/decode", sealed, nil), http.StatusForbidden)
	})

	t.Run("reports", func(t *testing.T) {
		version := sys.SOPs.All()[0].Version
		for _, path := range []string{"/api/v1/reports/compliance", "/api/v1/reports/statistics", "/api/v1/reports/simulate?sop_version=" + version,
			"/api/v1/exports/htcds"} {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			mustStatus(t, path, twg.Do(t, "GET", path, nil, nil), http.StatusOK)
			mustStatus(t, path+" as CSV", twg.Do(t, "GET", path+sep+"format=csv", nil, nil), http.StatusOK)
			mustStatus(t, path+" as XML", twg.Do(t, "GET", path+sep+"format=xml", nil, nil), http.StatusUnprocessableEntity)
			mustStatus(t, path+" by an officer", officer.Do(t, "GET", path, nil, nil), http.StatusForbidden)
		}
		from := time.Now().AddDate(0, -2, 0).Format("2006-01")
		mustStatus(t, "compliance filtered", twg.Do(t, "GET", "/api/v1/reports/compliance?from="+from+"&region=lebap&obligation=preliminary_decision",
			nil, nil), http.StatusOK)
		mustStatus(t, "compliance by version", twg.Do(t, "GET", "/api/v1/reports/compliance?sop_version="+version, nil, nil), http.StatusOK)
		mustStatus(t, "compliance by two dimensions", twg.Do(t, "GET", "/api/v1/reports/compliance?region=lebap&sop_version="+version, nil, nil),
			http.StatusUnprocessableEntity)
		// The licence's Link belongs to the export, not to an error answer.
		for q, want := range map[string]bool{"": true, "?format=csv": true, "?format=xml": false, "?from=never": false} {
			resp := twg.Raw(t, "GET", "/api/v1/exports/htcds"+q, nil, nil)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("Link") != ""; got != want {
				t.Errorf("export%s → %d with Link %q; want a Link: %v", q, resp.StatusCode, resp.Header.Get("Link"), want)
			}
		}
		mustStatus(t, "simulation without a version", twg.Do(t, "GET", "/api/v1/reports/simulate", nil, nil), http.StatusUnprocessableEntity)
		mustStatus(t, "bad period", twg.Do(t, "GET", "/api/v1/reports/statistics?from=last-year", nil, nil), http.StatusUnprocessableEntity)
	})

	t.Run("transfer and reopening", func(t *testing.T) {
		hotline, err := sys.Store.AgencyByName(ctx, demo.Hotline)
		testenv.Must(t, err)
		contractTransfer(t, officer, supervisor, decider, hotline.ID.String())
	})

	check.report(t)
}

// contractSend sends a request with extra headers (a body of []byte is sent
// as is, with the Content-Type the headers give) and returns the status.
func contractSend(t *testing.T, c *testenv.Client, method, path string, body any, h http.Header) int {
	t.Helper()
	resp := c.Raw(t, method, path, body, h)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// contractCheck is an http.RoundTripper that checks every exchange against
// the OpenAPI document and counts the statuses each operation answered.
type contractCheck struct {
	doc     *openapi3.T
	router  routers.Router
	base    http.RoundTripper
	formats []openapi3.SchemaValidationOption

	mu       sync.Mutex
	answered map[string]map[int]int // operationId → status → answers
	failures map[string]int         // what broke the contract → times
	order    []string
}

// contractCommonHeaders are the headers every answer may carry; the
// document's info says so once instead of under every response.
var contractCommonHeaders = []string{"Content-Type", "Content-Length", "Date", "Connection", "Transfer-Encoding",
	"X-Request-Id", "X-Client-Request-Id", "Cache-Control", "X-Content-Type-Options", "X-Frame-Options",
	"Referrer-Policy", "Content-Security-Policy", "Content-Language", "Vary"}

func newContractCheck(t *testing.T) *contractCheck {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route openapi.yaml: %v", err)
	}
	// The CSV answers start with comment lines, which kin-openapi's CSV
	// decoder (encoding/csv, one field count per file) refuses: the
	// document describes them as strings, so read them as text.
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	formats := []openapi3.SchemaValidationOption{
		openapi3.EnableFormatValidation(),
		openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
			"uuid": openapi3.NewCallbackValidator(func(s string) error {
				if !uuidRE.MatchString(s) {
					return fmt.Errorf("%q is not a lower-case UUID", s)
				}
				return nil
			}),
			"email": openapi3.NewCallbackValidator(func(s string) error {
				if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
					return fmt.Errorf("%q is not an e-mail address", s)
				}
				return nil
			}),
		}),
	}
	return &contractCheck{doc: doc, router: router, base: http.DefaultTransport.(*http.Transport).Clone(), formats: formats,
		answered: map[string]map[int]int{}, failures: map[string]int{}}
}

func (c *contractCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
	}
	out := req.Clone(req.Context())
	if req.Body != nil {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	c.check(req, reqBody, resp, respBody)
	return resp, nil
}

func (c *contractCheck) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > 1500 {
		msg = msg[:1500] + "…"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures[msg] == 0 {
		c.order = append(c.order, msg)
	}
	c.failures[msg]++
}

// check validates one exchange.
func (c *contractCheck) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.fail("%s %s → %d: no operation of openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		return
	}
	op := route.Operation
	name := fmt.Sprintf("%s (%s %s) → %d", op.OperationID, req.Method, route.Path, resp.StatusCode)
	c.mu.Lock()
	if c.answered[op.OperationID] == nil {
		c.answered[op.OperationID] = map[int]int{}
	}
	c.answered[op.OperationID][resp.StatusCode]++
	c.mu.Unlock()

	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
			SkipSettingDefaults: true, SchemaValidationOptions: c.formats}}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && resp.StatusCode < 400 {
		c.fail("%s: the server accepted a request openapi.yaml forbids: %v", name, err)
	}

	documented := op.Responses.Status(resp.StatusCode)
	if documented == nil || documented.Value == nil {
		c.fail("%s: status not documented (body %.300s)", name, respBody)
		return
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, SchemaValidationOptions: c.formats}}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.fail("%s: the answer does not match openapi.yaml: %v", name, err)
	}

	// Headers the response does not declare.
	for h := range resp.Header {
		if slices.ContainsFunc(contractCommonHeaders, func(k string) bool { return strings.EqualFold(k, h) }) {
			continue
		}
		if strings.EqualFold(h, "Idempotent-Replayed") && req.Header.Get("Idempotency-Key") != "" {
			continue // documented with the Idempotency-Key parameter
		}
		if _, ok := documentedHeader(documented.Value.Headers, h); !ok {
			c.fail("%s: header %s is answered but not documented", name, h)
		}
	}

	// Properties the schema does not name.
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if !strings.HasSuffix(mt, "json") || len(respBody) == 0 {
		return
	}
	media := documented.Value.Content.Get(mt)
	if media == nil || media.Schema == nil {
		return
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(respBody))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		c.fail("%s: the body is not JSON: %v", name, err)
		return
	}
	var extra []string
	undocumentedProperties(media.Schema.Value, v, "", &extra)
	sort.Strings(extra)
	for _, p := range slices.Compact(extra) {
		c.fail("%s: property %s is answered but not in the schema", name, p)
	}
}

func documentedHeader(hs openapi3.Headers, name string) (*openapi3.HeaderRef, bool) {
	for k, h := range hs {
		if strings.EqualFold(k, name) {
			return h, true
		}
	}
	return nil, false
}

// undocumentedProperties lists the object members of v that schema s does
// not name, recursively. A schema that names no property and allows no
// additional ones by its own is free-form, as is one with
// additionalProperties.
func undocumentedProperties(s *openapi3.Schema, v any, path string, out *[]string) {
	if s == nil {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		props := map[string][]*openapi3.Schema{}
		var additional []*openapi3.Schema
		open := false
		var walk func(s *openapi3.Schema)
		walk = func(s *openapi3.Schema) {
			for k, p := range s.Properties {
				if p != nil && p.Value != nil {
					props[k] = append(props[k], p.Value)
				}
			}
			if ap := s.AdditionalProperties; ap.Schema != nil && ap.Schema.Value != nil {
				additional = append(additional, ap.Schema.Value)
			} else if ap.Has != nil && *ap.Has {
				open = true
			}
			for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
				for _, b := range group {
					if b != nil && b.Value != nil {
						walk(b.Value)
					}
				}
			}
		}
		walk(s)
		if len(props) == 0 && len(additional) == 0 {
			open = true
		}
		for k, val := range x {
			schemas, ok := props[k]
			if !ok {
				schemas = additional
			}
			if len(schemas) == 0 {
				if !open {
					*out = append(*out, path+"."+k)
				}
				continue
			}
			for _, ps := range schemas {
				undocumentedProperties(ps, val, path+"."+k, out)
			}
		}
	case []any:
		var items []*openapi3.Schema
		var walk func(s *openapi3.Schema)
		walk = func(s *openapi3.Schema) {
			if s.Items != nil && s.Items.Value != nil {
				items = append(items, s.Items.Value)
			}
			for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
				for _, b := range group {
					if b != nil && b.Value != nil {
						walk(b.Value)
					}
				}
			}
		}
		walk(s)
		for _, e := range x {
			for _, it := range items {
				undocumentedProperties(it, e, path+"[]", out)
			}
		}
	}
}

// report fails the test for every broken rule, and for every operation of
// the document that never answered a 2xx.
func (c *contractCheck) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, msg := range c.order {
		if i == 60 {
			t.Errorf("contract: and %d more kinds of mismatch", len(c.order)-i)
			break
		}
		t.Errorf("contract: %s (%d×)", msg, c.failures[msg])
	}
	var summary []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			statuses := c.answered[op.OperationID]
			var seen []string
			ok := false
			for st, n := range statuses {
				seen = append(seen, fmt.Sprintf("%d×%d", st, n))
				ok = ok || (st >= 200 && st < 300)
			}
			sort.Strings(seen)
			summary = append(summary, fmt.Sprintf("%-26s %-6s %-55s %s", op.OperationID, method, path, strings.Join(seen, " ")))
			switch {
			case len(statuses) == 0:
				t.Errorf("contract: operation %s (%s %s) was never exercised", op.OperationID, method, path)
			case !ok:
				t.Errorf("contract: operation %s (%s %s) never answered a 2xx (answered %s)", op.OperationID, method, path, strings.Join(seen, " "))
			}
		}
	}
	sort.Strings(summary)
	t.Logf("operations and the statuses they answered:\n%s", strings.Join(summary, "\n"))
}
