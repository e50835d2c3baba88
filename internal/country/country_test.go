package country

import (
	"slices"
	"testing"
)

// The list is ISO 3166-1's 249 assigned codes: sorted, unique, two upper-case
// letters each, and every one a region the CLDR names in English, Russian
// and Turkmen.
func TestCodesAreTheStandardsList(t *testing.T) {
	if len(codes) != 249 {
		t.Fatalf("%d codes, want the 249 of ISO 3166-1", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Fatal("codes are not sorted: Valid searches them")
	}
	for i, c := range codes {
		if i > 0 && codes[i-1] == c {
			t.Errorf("%s twice", c)
		}
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			t.Errorf("%q is not two upper-case letters", c)
		}
		for _, lang := range []string{"en", "ru", "tk"} {
			if Name(c, lang) == c {
				t.Errorf("%s has no %s name", c, lang)
			}
		}
	}
}

func TestValid(t *testing.T) {
	for _, c := range []string{"TM", "TR", "RU", "AE", "KZ", "UZ", "AF", "IR", "CN", "SS", "BQ", "AX"} {
		if !Valid(c) {
			t.Errorf("%s refused", c)
		}
	}
	// Lower case, reserved, user-assigned, withdrawn and made-up codes.
	for _, c := range []string{"", "tm", "Tm", "T", "TMM", "EU", "UN", "XK", "ZZ", "AA", "SU", "YU", "CS", "AN", "UK", "QO", "T1"} {
		if Valid(c) {
			t.Errorf("%q accepted", c)
		}
	}
	if got := Check([]string{"TR", "XX", "RU", "tr"}); !slices.Equal(got, []string{"XX", "tr"}) {
		t.Errorf("Check: %v", got)
	}
}

func TestName(t *testing.T) {
	for _, c := range []struct{ code, lang, want string }{
		{"TR", "en", "Turkey"}, {"TR", "ru", "Турция"}, {"TR", "tk", "Türkiýe"},
		{"TM", "tk", "Türkmenistan"}, {"AE", "en", "United Arab Emirates"}, {"RU", "ru", "Россия"},
		{"RU", "de", "Russia"}, // a language the UI does not speak: English
		{"XK", "en", "XK"},     // no country: the code
	} {
		if got := Name(c.code, c.lang); got != c.want {
			t.Errorf("Name(%s, %s) = %q, want %q", c.code, c.lang, got, c.want)
		}
	}
}
