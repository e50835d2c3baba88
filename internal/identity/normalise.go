package identity

import (
	"slices"
	"strings"
	"unicode"
)

// Search keys: a name, a document number or a phone number is reduced to one
// canonical form before its blind index is computed, so that the same value
// typed another way — other letter case, spacing or punctuation, in Cyrillic
// or in Latin letters, a phone number with or without its country code —
// gives the same index. Only the canonical form is ever hashed; nothing here
// is stored.
//
// The canonical form is plain Latin (a–z, 0–9). canonicalLetters is the one
// table of the transliteration: the letters of the Turkmen Latin alphabet,
// of Russian and of Turkmen Cyrillic, each mapped to the Latin spelling that
// the others use for the same sound, so that Айна, Aýna and Ayna are all
// "ayna". Where two alphabets spell a sound differently, the table picks one
// spelling (Turkmen w and Russian в are both "v"; ş and ш both "sh"), and
// nameFolds then even out the spellings that differ by more than a letter
// (Бердиева "berdieva", Berdiýewa "berdiyeva" → "berdieva").
var canonicalLetters = map[rune]string{
	// Turkmen Latin letters beyond a–z (and w, which Turkmen uses for в).
	'ä': "a", 'ç': "ch", 'ň': "n", 'ö': "o", 'ş': "sh", 'ü': "u", 'ý': "y", 'ž': "zh", 'w': "v",
	// Russian Cyrillic.
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "yo", 'ж': "zh", 'з': "z",
	'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r",
	'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "h", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch",
	'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya",
	// Turkmen Cyrillic letters beyond Russian's.
	'ә': "a", 'ө': "o", 'ү': "u", 'җ': "j", 'ң': "n",
	// Latin letters of neighbouring languages (Turkish, Uzbek, Azerbaijani)
	// and common accents, as clerks may type them.
	'ı': "i", 'ğ': "g", 'ə': "a", 'á': "a", 'à': "a", 'â': "a", 'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ó': "o", 'ò': "o", 'ô': "o", 'ú': "u", 'ù': "u", 'û': "u",
	'ñ': "n", 'ÿ': "y", 'і': "i", // the last is the Cyrillic і of Ukrainian and Kazakh keyboards
}

// nameFolds even out spellings of names that differ by more than one letter.
// Each pair is replaced throughout the transliterated word, in this order,
// and the whole list again until nothing changes: Russian дж and Turkmen j;
// the "kh" of English transliterations of х; Turkmen "iý" where Russian
// writes и before a vowel (Berdiýewa, Бердиева); a doubled y; a y before e
// (Ýelena, Елена).
var nameFolds = [][2]string{{"dzh", "j"}, {"kh", "h"}, {"iy", "i"}, {"yy", "y"}, {"ye", "e"}}

// foldName applies nameFolds to a transliterated word.
func foldName(w string) string {
	for {
		before := w
		for _, f := range nameFolds {
			w = strings.ReplaceAll(w, f[0], f[1])
		}
		if w == before {
			return w
		}
	}
}

// dropped are the characters left out of a value altogether: apostrophes,
// which transliterations write for ь and ъ (Gul'nara, Гульнара).
func dropped(r rune) bool {
	return r == '\'' || r == '’' || r == 'ʼ' || r == '`' || r == 'ʻ'
}

// transliterate lower-cases s and writes each letter of canonicalLetters in
// canonical Latin; combining marks are dropped (y + U+0301 is y, as ý is).
// Other letters and digits are kept as they are; every other character
// (spaces, punctuation, symbols) becomes a space.
func transliterate(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if latin, ok := canonicalLetters[r]; ok {
			b.WriteString(latin)
			continue
		}
		switch {
		case unicode.Is(unicode.Mn, r) || dropped(r):
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// CanonicalName is the search form of a full name: transliterated, each
// word folded (nameFolds), the words sorted, so that "Berdiýewa Aýna" and
// "Айна Бердиева" are both "ayna berdieva"; "" when no letter or digit is
// left.
func CanonicalName(s string) string {
	words := strings.Fields(transliterate(s))
	for i, w := range words {
		words[i] = foldName(w)
	}
	words = slices.DeleteFunc(words, func(w string) bool { return w == "" })
	slices.Sort(words)
	return strings.Join(words, " ")
}

// documentFolds write the digraphs of the table as one letter in document
// numbers, where a series is often typed without its diacritic (AŞ as AS):
// Ş, Ш and SH are all s; Ç, Ч and CH c; Ž, Ж and ZH z.
var documentFolds = strings.NewReplacer("sh", "s", "ch", "c", "zh", "z")

// CanonicalDocument is the search form of a document number: transliterated,
// with everything but letters and digits removed and documentFolds applied,
// so that "I-AŞ 123456", "iaş123456", "I-AS 123456" and "I-АШ 123 456" are
// all "ias123456".
func CanonicalDocument(s string) string {
	return documentFolds.Replace(strings.Join(strings.Fields(transliterate(s)), ""))
}

// phoneDigits is how many trailing digits identify a phone number: the
// national number of Turkmenistan (65 123456), whatever country code (+993,
// 00993) or trunk prefix (8) is typed before it.
const phoneDigits = 8

// CanonicalPhone is the search form of a phone number: its last phoneDigits
// digits, so that "+993 65 00-00-00", "0099365000000" and "8 (65) 000000"
// are all "65000000". "" unless s holds only digits and the characters
// phone numbers are written with (space + - ( ) . /) and has at least six
// digits.
func CanonicalPhone(s string) string {
	var digits []byte
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case strings.ContainsRune(" +-()./", r):
		default:
			return ""
		}
	}
	if len(digits) < 6 {
		return ""
	}
	return string(digits[max(0, len(digits)-phoneDigits):])
}
