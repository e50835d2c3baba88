package api

import (
	"fmt"
	"testing"
)

// A merge patch tells a member removed (null) from one left out; nested
// objects are followed one level down (the encounter), and whatever the
// bytes, reading them never fails or panics (decode refused what is no
// JSON object first).
func TestNullMembers(t *testing.T) {
	for body, want := range map[string]string{
		`{"reason":"x","family_name":null,"phone":"1"}`:                         "map[family_name:true]",
		`{"encounter":null}`:                                                    "map[encounter:true]",
		`{"encounter":{"place":null,"context":"outreach"},"exploitation":null}`: "map[encounter.place:true exploitation:true]",
		`{"encounter":{"place":"x"}}`:                                           "map[]",
		`{"a": null , "b" :	null}`:                                              "map[a:true b:true]",
		`[]`:                                                                    "map[]",
		`null`:                                                                  "map[]",
		`{"reason":`:                                                            "map[]",
		``:                                                                      "map[]",
		`{"e":{"f":{"g":null}}}`:                                                "map[e.f.g:true]",
	} {
		if got := fmt.Sprint(nullMembers([]byte(body), "")); got != want {
			t.Errorf("nullMembers(%s) = %s, want %s", body, got, want)
		}
	}
}
