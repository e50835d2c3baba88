// Package country knows the countries of the world as ISO 3166-1 alpha-2
// codes: which codes are real, and each country's name in the languages of
// the mechanism. Cases record where a person was exploited and which
// countries they were moved through by these codes; the SOP may name the
// ones its screening form offers first.
package country

import (
	"slices"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// codes are the officially assigned ISO 3166-1 alpha-2 codes (249), sorted.
// Reserved and user-assigned codes (EU, UN, XK, ZZ, …) are not countries of
// the standard and are refused.
var codes = strings.Fields(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW`)

// Valid reports whether code is an assigned ISO 3166-1 alpha-2 code, in
// upper case as the standard writes it.
func Valid(code string) bool {
	_, ok := slices.BinarySearch(codes, code)
	return ok
}

// Codes returns every assigned code, sorted.
func Codes() []string { return slices.Clone(codes) }

// namers are the country names of each language the UI speaks (CLDR's,
// through golang.org/x/text).
var namers = map[string]display.Namer{}

func init() {
	for _, lang := range []string{"en", "ru", "tk"} {
		namers[lang] = display.Regions(language.MustParse(lang))
	}
}

// Name is the country's name in lang (en, ru or tk; English for any other),
// or the code itself when it is no country.
func Name(code, lang string) string {
	if !Valid(code) {
		return code
	}
	n, ok := namers[lang]
	if !ok {
		n = namers["en"]
	}
	region, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if name := n.Name(region); name != "" {
		return name
	}
	return code
}

// Check returns the codes of list that are no country, in order.
func Check(list []string) []string {
	var bad []string
	for _, c := range list {
		if !Valid(c) {
			bad = append(bad, c)
		}
	}
	return bad
}
