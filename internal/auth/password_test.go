package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordPolicy(t *testing.T) {
	ctx := []string{"aygul.berdiyeva@lebap-police.example", "Aýgül Berdiýewa"}
	for _, pw := range []string{
		"correct horse battery staple",
		"Ýaşyl baýdak 2026 asmanda",
		"7-tree-lamp-river-q",
		strings.Repeat("ab3de", 51) + "x", // 256 characters
	} {
		if err := CheckPasswordPolicy(pw, ctx...); err != nil {
			t.Errorf("%q refused: %v", pw, err)
		}
	}
	for pw, why := range map[string]string{
		"short1!":                         "12 to 256",
		strings.Repeat("ab3de", 52):       "12 to 256",
		"Password1234":                    "commonly used",
		"QWERTYUIOP123":                   "commonly used",
		"administrator2026":               "commonly used",
		"aaaaaaaaaaaaaaaa":                "different characters",
		"abababababababab":                "different characters",
		"my name is aygul berdiyeva":      "user's name",
		"AYGUL-loves-the-sea-2026":        "user's name",
		"national referral mechanism 123": "service's name",
	} {
		err := CheckPasswordPolicy(pw, ctx...)
		if !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want a refusal because %s", pw, err, why)
		}
	}
}
