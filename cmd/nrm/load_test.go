package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadFlags(t *testing.T) {
	// Defaults: nrm dev's addresses and demo officer; the password from
	// nrm dev's NRM_DEMO_PASSWORD.
	o, addr, ns, err := parseLoad(nil, io.Discard, envOf(map[string]string{"NRM_DEMO_PASSWORD": "demo-password-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if o.API != "http://127.0.0.1:8080" || addr != "127.0.0.1:7233" || ns != "nrm" || o.Email != "officer@lebap-police.example" ||
		o.Password != "demo-password-1" || o.N != 600 || len(o.Concurrency) != 3 || !o.SamePerson || o.ReadsPerSecond != 200 ||
		o.ReadsFor != 10*time.Second || o.TaskQueue != "nrm-load" {
		t.Errorf("defaults: %+v %s %s", o, addr, ns)
	}
	// The environment, then flags over it.
	env := envOf(map[string]string{"NRM_LOAD_PASSWORD": "load-password", "NRM_DEMO_PASSWORD": "other", "NRM_LOAD_API": "https://staging.example/",
		"TEMPORAL_ADDRESS": "temporal:7233", "NRM_LOAD_N": "30", "NRM_LOAD_SAME_PERSON": "false", "NRM_LOAD_CONCURRENCY": "4"})
	o, addr, _, err = parseLoad([]string{"-n", "60", "-reads-for", "0", "-temporal-namespace", "staging"}, io.Discard, env)
	if err != nil {
		t.Fatal(err)
	}
	if o.API != "https://staging.example" || addr != "temporal:7233" || o.Password != "load-password" || o.N != 60 || o.SamePerson ||
		len(o.Concurrency) != 1 || o.Concurrency[0] != 4 || o.ReadsFor != 0 {
		t.Errorf("environment and flags: %+v", o)
	}
	if o, _, _, _ = parseLoad([]string{"-same-person"}, io.Discard, env); !o.SamePerson {
		t.Error("-same-person did not override NRM_LOAD_SAME_PERSON=false")
	}
	if _, _, _, err := parseLoad([]string{"-h"}, io.Discard, env); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestLoadBadFlags(t *testing.T) {
	t.Setenv("NRM_LOAD_PASSWORD", "")
	t.Setenv("NRM_DEMO_PASSWORD", "")
	code, _, errb := runNRM(t, "", "load", "-n", "two", "-concurrency", "1,0", "-api", "localhost:8080", "-temporal-address", "temporal",
		"-reads-for", "soon", "extra")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", code, errb)
	}
	for _, want := range []string{"-n (NRM_LOAD_N)", "-concurrency", "http(s) base URL", "-temporal-address", "-reads-for", "unexpected arguments",
		"NRM_LOAD_PASSWORD"} {
		if !strings.Contains(errb, want) {
			t.Errorf("stderr does not name %q:\n%s", want, errb)
		}
	}
	code, _, errb = runNRM(t, "", "load", "-h")
	if code != 0 || !strings.Contains(errb, "WARNING: it opens real cases") || !strings.Contains(errb, "NRM_LOAD_READS_PER_SECOND") {
		t.Errorf("-h: exit %d, stderr %q", code, errb)
	}
}
