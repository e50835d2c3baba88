package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/testenv"
)

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Rule   string `json:"rule"`
	Errors []struct {
		Field   string `json:"field"`
		Rule    string `json:"rule"`
		Message string `json:"message"`
	} `json:"errors"`
}

// problemIn sends a request with an Accept-Language and reads the problem
// and its Content-Language.
func problemIn(t *testing.T, c *testenv.Client, lang, method, path string, body any) (problemBody, string) {
	t.Helper()
	h := http.Header{}
	if lang != "" {
		h.Set("Accept-Language", lang)
	}
	resp := c.Raw(t, method, path, body, h)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	testenv.Must(t, err)
	var p problemBody
	if err := json.Unmarshal(data, &p); err != nil || p.Type == "" {
		t.Fatalf("%s %s: %d %s, want a problem", method, path, resp.StatusCode, data)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("%s %s: Vary %q lacks Accept-Language", method, path, resp.Header.Get("Vary"))
	}
	return p, resp.Header.Get("Content-Language")
}

// Problems speak the caller's language (Accept-Language: ru, tk; English
// otherwise) in detail and validation messages, say it in Content-Language,
// and keep type, title, status, rule and the fields' codes.
func TestAPIProblemsInTheCallersLanguage(t *testing.T) {
	t.Parallel()
	cfg := testenv.Config(t, testenv.Database(t), t.TempDir())
	sys := testenv.Start(t, cfg)
	officer := testenv.NewClient(sys).Login(t, "officer@lebap-police.example")
	decider := testenv.NewClient(sys).Login(t, "decider@authority.example")

	// 422: a screening without a person's name, an unknown indicator.
	bad := testenv.Screening()
	delete(bad["person"].(map[string]any), "given_name")
	bad["indicators"] = []string{"false_job_offer", "no_such_indicator"}
	en, enLang := problemIn(t, officer, "", "POST", "/api/v1/cases", bad)
	ru, ruLang := problemIn(t, officer, "ru-RU,ru;q=0.9,en;q=0.8", "POST", "/api/v1/cases", bad)
	if en.Status != http.StatusUnprocessableEntity || enLang != "en" || en.Detail != "the request has invalid fields" {
		t.Errorf("English by default: %d %q, Content-Language %q", en.Status, en.Detail, enLang)
	}
	if ruLang != "ru" || ru.Detail != "в запросе есть недопустимые поля" {
		t.Errorf("Russian: detail %q, Content-Language %q", ru.Detail, ruLang)
	}
	if ru.Type != en.Type || ru.Title != en.Title || ru.Status != en.Status || len(ru.Errors) != len(en.Errors) || len(en.Errors) == 0 {
		t.Fatalf("the codes changed with the language: %+v / %+v", en, ru)
	}
	var required bool
	for i := range en.Errors {
		if ru.Errors[i].Field != en.Errors[i].Field || ru.Errors[i].Rule != en.Errors[i].Rule {
			t.Errorf("error %d: %s/%s in Russian, %s/%s in English", i, ru.Errors[i].Field, ru.Errors[i].Rule, en.Errors[i].Field, en.Errors[i].Rule)
		}
		if ru.Errors[i].Message == en.Errors[i].Message {
			t.Errorf("error %d (%s) is not in Russian: %q", i, en.Errors[i].Rule, ru.Errors[i].Message)
		}
		if en.Errors[i].Field == "person.given_name" {
			required = ru.Errors[i].Message == "обязательное поле"
		}
		if en.Errors[i].Rule == "sop_indicator" && !strings.HasPrefix(ru.Errors[i].Message, `"no_such_indicator" не является признаком по SOP `) {
			t.Errorf("the indicator's message in Russian: %q", ru.Errors[i].Message)
		}
	}
	if !required {
		t.Errorf("person.given_name's message is not the Russian \"required\": %+v", ru.Errors)
	}

	// 404 in Turkmen; a language we do not have is English.
	missing := "/api/v1/cases/" + uuid.NewString()
	if tk, lang := problemIn(t, decider, "tk", "GET", missing, nil); tk.Detail != "beýle çeşme ýok" || lang != "tk" || tk.Type != "urn:nrm:problem:not-found" {
		t.Errorf("404 in Turkmen: %q, Content-Language %q", tk.Detail, lang)
	}
	if de, lang := problemIn(t, decider, "de-DE,de;q=0.9", "GET", missing, nil); de.Detail != "no such resource" || lang != "en" {
		t.Errorf("404 for German: %q, Content-Language %q, want English", de.Detail, lang)
	}
	// 401 without a session.
	if ru, _ := problemIn(t, testenv.NewClient(sys), "ru", "GET", "/api/v1/cases", nil); !strings.HasPrefix(ru.Detail, "сначала войдите") ||
		ru.Type != "urn:nrm:problem:unauthenticated" {
		t.Errorf("401 in Russian: %q", ru.Detail)
	}

	// 409: the SOP refuses a command; the rule code stays, the detail is translated.
	var opened caseBody
	mustStatus(t, "open", officer.Do(t, "POST", "/api/v1/cases", testenv.Screening(), &opened), http.StatusCreated)
	decide := "/api/v1/cases/" + opened.ID + "/decisions"
	mustStatus(t, "decide", decider.Do(t, "POST", decide, map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "indicators"}, nil), http.StatusCreated)
	again := map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "indicators"}
	en, _ = problemIn(t, decider, "en", "POST", decide, again)
	tk, tkLang := problemIn(t, decider, "tk", "POST", decide, again)
	ru, _ = problemIn(t, decider, "ru", "POST", decide, again)
	if en.Status != http.StatusConflict || en.Type != "urn:nrm:problem:sop-rule" || en.Rule == "" {
		t.Fatalf("a second preliminary decision: %+v, want a 409 sop-rule", en)
	}
	if tk.Rule != en.Rule || ru.Rule != en.Rule || tk.Type != en.Type || tkLang != "tk" {
		t.Errorf("the rule changed with the language: %q %q %q", en.Rule, tk.Rule, ru.Rule)
	}
	translations := map[string][2]string{
		// After a positive preliminary decision the case is in recovery.
		"a preliminary decision is taken in the identification stage, not recovery": {
			"deslapky karar recovery tapgyrynda däl-de, kesgitleme tapgyrynda kabul edilýär",
			"предварительное решение принимается на этапе идентификации, а не recovery"},
	}
	if want, ok := translations[en.Detail]; !ok || tk.Detail != want[0] || ru.Detail != want[1] {
		t.Errorf("409 %s %q: Turkmen %q, Russian %q", en.Rule, en.Detail, tk.Detail, ru.Detail)
	}
	if slices.Contains([]string{tk.Detail, ru.Detail}, en.Detail) {
		t.Errorf("the refusal stayed in English")
	}
}
