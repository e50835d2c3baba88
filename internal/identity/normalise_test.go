package identity

import (
	"bytes"
	"strings"
	"testing"
	"unicode"

	"github.com/nrm-tm/nrm/internal/crypto"
)

// The transliteration table covers both Cyrillic alphabets and the Turkmen
// Latin one, upper case included (through lower-casing), and maps every
// letter to plain Latin.
func TestCanonicalLettersTable(t *testing.T) {
	alphabets := map[string]string{
		"Russian":          "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
		"Turkmen Cyrillic": "абвгдеёжҗзийклмнңоөпрстуүфхцчшщъыьэәюя",
		"Turkmen Latin":    "abçdeäfghijžklmnňoöprsştuüwyýz",
	}
	for name, letters := range alphabets {
		for _, r := range letters {
			for _, c := range []rune{r, unicode.ToUpper(r)} {
				got := transliterate(string(c))
				for _, g := range got {
					if g < 'a' || g > 'z' {
						t.Errorf("%s %q is %q: not plain Latin", name, c, got)
						break
					}
				}
				if got == "" && r != 'ъ' && r != 'ь' {
					t.Errorf("%s %q has no spelling", name, c)
				}
			}
		}
	}
	for r, latin := range canonicalLetters {
		if strings.Trim(latin, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Errorf("%q maps to %q: not plain Latin", r, latin)
		}
		if unicode.ToLower(r) != r {
			t.Errorf("%q: the table holds lower-case letters only", r)
		}
	}
}

// Spellings of one name in Latin, Turkmen Latin, Russian and Turkmen
// Cyrillic give one canonical form; other names do not.
func TestCanonicalName(t *testing.T) {
	for want, spellings := range map[string][]string{
		"ayna":           {"Айна", "Aýna", "Ayna", "AÝNA", "айна", "Ay\u0301na", " aýna "},
		"ayna berdieva":  {"Aýna Berdiýewa", "Айна Бердиева", "BERDIEVA Ayna", "Berdiyeva, Aýna", "Бердиева  Айна"},
		"jemal":          {"Jemal", "Җемал", "Джемал", "Dzhemal"},
		"ovez":           {"Öwez", "Өвез", "Овез", "Ovez"},
		"gurbanguly":     {"Gurbanguly", "Гурбангулы"},
		"hydyr":          {"Hydyr", "Хыдыр", "Khydyr"},
		"shatlyk":        {"Şatlyk", "Шатлык", "Shatlyk"},
		"chary":          {"Çary", "Чары", "Chary"},
		"mahri":          {"Mähri", "Мәхри", "Махри"},
		"yazgul":         {"Ýazgül", "Язгүл", "Yazgul"},
		"elena":          {"Ýelena", "Елена", "Yelena"},
		"gulnara":        {"Gul'nara", "Гульнара", "Gulnara"},
		"ak bibi":        {"Ak-Bibi", "Ак Биби"},
		"mahmud mamedov": {"Mamedov Mahmud", "Мамедов Махмуд"},
		"maria":          {"Мария", "Mariýa", "Maria"},
		"evgenia":        {"Евгения", "Ýewgeniýa", "Evgenia", "Yevgeniya"},
		"":               {"", "  ", "-", "?", "ъ"},
		"dmitri":         {"Дмитрий", "Dmitriy"},
	} {
		for _, s := range spellings {
			if got := CanonicalName(s); got != want {
				t.Errorf("CanonicalName(%q) = %q, want %q", s, got, want)
			}
		}
	}
	for _, pair := range [][2]string{{"Aýna", "Ana"}, {"Aýna", "Aýbölek"}, {"Berdiýewa", "Berdiýew"}, {"Aýna Berdiýewa", "Aýna"}} {
		if CanonicalName(pair[0]) == CanonicalName(pair[1]) {
			t.Errorf("%q and %q have one canonical form %q", pair[0], pair[1], CanonicalName(pair[0]))
		}
	}
}

func TestCanonicalDocument(t *testing.T) {
	for _, s := range []string{"I-AŞ 123456", "i-aş123456", "IAŞ 123 456", "I-АШ 123456", "iash-123456", " I AS H 12 34 56 ", "I-AS 123456", "I/AS/123456"} {
		if got := CanonicalDocument(s); got != "ias123456" {
			t.Errorf("CanonicalDocument(%q) = %q", s, got)
		}
	}
	if CanonicalDocument("I-AŞ 123457") == CanonicalDocument("I-AŞ 123456") {
		t.Errorf("different documents share a form")
	}
	if got := CanonicalDocument(" -/ "); got != "" {
		t.Errorf("punctuation alone is %q, want empty", got)
	}
}

func TestCanonicalPhone(t *testing.T) {
	for _, s := range []string{"+99365000000", "+993 65 00-00-00", "0099365000000", "8 (65) 000000", "865000000", "65 00 00 00", "+993.65.000.000"} {
		if got := CanonicalPhone(s); got != "65000000" {
			t.Errorf("CanonicalPhone(%q) = %q", s, got)
		}
	}
	for _, s := range []string{"", "12345", "I-AŞ 123456", "+993 65 OOO OOO", "call 65000000"} {
		if got := CanonicalPhone(s); got != "" {
			t.Errorf("CanonicalPhone(%q) = %q, want none", s, got)
		}
	}
	if got := CanonicalPhone("123456"); got != "123456" {
		t.Errorf("a short number: %q", got)
	}
}

// A search digest equals the person's own index of that kind, under every
// key of the ring; a case number or a word shorter than the minimum is not
// looked up as a document number or name.
func TestSearchQueryMatchesIndexes(t *testing.T) {
	current, _ := crypto.NewKeyring(crypto.MasterKey{Key: bytes.Repeat([]byte{7}, crypto.KeySize)})
	rotating, _ := crypto.NewKeyring(crypto.MasterKey{Key: bytes.Repeat([]byte{8}, crypto.KeySize)}, crypto.MasterKey{Key: bytes.Repeat([]byte{7}, crypto.KeySize)})
	p := Person{GivenName: "Aýna", FamilyName: "Berdiýewa", Phone: "+99365000000", DocumentNumber: "I-AŞ 123456"}
	stored := map[string]string{}
	for _, ix := range (&Vault{Keys: current}).indexes(p) {
		stored[ix.Digest] = ix.Kind
	}
	for typed, kind := range map[string]string{
		"i aş 123456":      IndexDocumentKey,
		"I-AS-123456":      IndexDocumentKey,
		"8 (65) 00-00-00":  IndexPhone,
		"Бердиева Айна":    IndexFullName,
		"AYNA BERDIYEVA":   IndexFullName,
		"  Aýna Berdiýewa": IndexFullName,
	} {
		for name, ring := range map[string]*crypto.Keyring{"current": current, "during a rotation": rotating} {
			q, err := (&Vault{Keys: ring}).SearchQuery(typed)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range q.Digests {
				if stored[d] == kind {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %q finds no %s index (kinds %v)", name, typed, kind, q.Kinds)
			}
		}
	}
	for typed, want := range map[string]string{"Aýna": "document_key full_name", "+993 65 000000": "document_key phone", "I-AŞ 123456": "document_key full_name",
		"A": "", "x1": "full_name"} {
		q, _ := (&Vault{Keys: current}).SearchQuery(typed)
		if got := strings.Join(q.Kinds, " "); got != want {
			t.Errorf("SearchQuery(%q) kinds %q, want %q", typed, got, want)
		}
	}
}
