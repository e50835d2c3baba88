package auth

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrWeakPassword is returned for passwords that fail the policy; the
// wrapped message says which rule.
var ErrWeakPassword = errors.New("password refused")

// commonPasswords are frequent choices of the length the policy allows, as
// found at the top of public breach corpora; compared after folding case.
// The list is short on purpose: it stops the obvious, the length does the rest.
var commonPasswords = map[string]bool{
	"123456789012": true, "1234567890123": true, "12345678901234": true, "123456789123": true,
	"password1234": true, "password12345": true, "password123456": true, "passwordpassword": true,
	"qwertyuiop12": true, "qwertyuiop123": true, "qwertyuiopasdf": true, "qwerty123456": true,
	"1q2w3e4r5t6y": true, "1qaz2wsx3edc": true, "zaq12wsxcde3": true, "q1w2e3r4t5y6": true,
	"abcdefghijkl": true, "abcd1234abcd": true, "iloveyou1234": true, "letmein12345": true,
	"welcome12345": true, "administrator": true, "admin1234567": true, "changeme1234": true,
	"football1234": true, "baseball1234": true, "trustno1trustno1": true, "sunshine1234": true,
	"princess1234": true, "monkey123456": true, "dragon123456": true, "starwars1234": true,
	"asdfghjkl123": true, "asdfasdfasdf": true, "11111111111111": true, "000000000000": true,
	"correcthorse": true, "p@ssw0rd1234": true, "passw0rd1234": true, "superman1234": true,
}

// PolicyError is a password the policy refuses: Rule says which rule, for
// callers that explain it in the user's language (length, common, repetitive,
// context); Error gives the reason in English. It is an ErrWeakPassword.
type PolicyError struct {
	Rule   string
	Reason string
}

func (e *PolicyError) Error() string { return ErrWeakPassword.Error() + ": " + e.Reason }

// Is makes every PolicyError an ErrWeakPassword.
func (e *PolicyError) Is(target error) bool { return target == ErrWeakPassword }

// CheckPasswordPolicy enforces NIST SP 800-63B: 12 to 256 characters (long
// passphrases beat composition rules), not a commonly used password, not a
// run of one character or a keyboard or digit sequence, and not containing
// the words of its context (the user's e-mail name, name, the service).
// A refusal is a *PolicyError.
func CheckPasswordPolicy(pw string, context ...string) error {
	n := utf8.RuneCountInString(pw)
	if n < 12 || n > 256 {
		return &PolicyError{Rule: "length", Reason: "it must be 12 to 256 characters"}
	}
	folded := strings.ToLower(pw)
	if commonPasswords[folded] || commonPasswords[strings.TrimRightFunc(folded, unicode.IsDigit)] {
		return &PolicyError{Rule: "common", Reason: "it is a commonly used password"}
	}
	if distinct(folded) < 5 {
		return &PolicyError{Rule: "repetitive", Reason: "it repeats too few different characters"}
	}
	for _, c := range contextWords(context) {
		if strings.Contains(folded, c) {
			return &PolicyError{Rule: "context", Reason: "it contains the user's name, e-mail or the service's name"}
		}
	}
	return nil
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}

// contextWords splits the context (e-mail, name) into lower-case words of
// four letters or more, with the service's own names.
func contextWords(context []string) []string {
	words := []string{"national referral"}
	for _, c := range context {
		local, _, _ := strings.Cut(strings.ToLower(c), "@")
		for _, w := range strings.FieldsFunc(local, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if utf8.RuneCountInString(w) >= 4 {
				words = append(words, w)
			}
		}
	}
	return words
}
