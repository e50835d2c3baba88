package web

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Languages are the languages of the UI, as the agencies speak them:
// Turkmen, Russian and English. Every message exists in each (a test fails
// otherwise); plural forms follow CLDR through go-i18n.
var Languages = []string{"tk", "ru", "en"}

//go:embed locales/*.yaml
var localeFiles embed.FS

// catalogue holds the UI's messages in every language.
type catalogue struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	tags    []language.Tag
}

func loadCatalogue() (*catalogue, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	files, err := localeFileNames()
	if err != nil {
		return nil, err
	}
	for _, l := range Languages {
		for _, name := range files[l] {
			data, err := fs.ReadFile(localeFiles, name)
			if err != nil {
				return nil, fmt.Errorf("messages %s: %w", l, err)
			}
			if _, err := b.ParseMessageFileBytes(data, path.Base(name)); err != nil {
				return nil, fmt.Errorf("messages %s: %w", name, err)
			}
		}
	}
	c := &catalogue{bundle: b}
	for _, l := range Languages {
		c.tags = append(c.tags, language.MustParse(l))
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// localeFileNames groups the catalogue files by language. A language's
// messages may be split by area: locales/tk.yaml, locales/screening.tk.yaml
// and so on; the language is the name's last part before .yaml.
func localeFileNames() (map[string][]string, error) {
	names, err := fs.Glob(localeFiles, "locales/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	out := map[string][]string{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".yaml")
		lang := base[strings.LastIndex(base, ".")+1:]
		if !slices.Contains(Languages, lang) {
			return nil, fmt.Errorf("messages: %s is in no language of %v", name, Languages)
		}
		out[lang] = append(out[lang], name)
	}
	return out, nil
}

// match picks the UI language for an Accept-Language header; "" when none
// of the header's languages is one of ours.
func (c *catalogue) match(acceptLanguage string) string {
	if strings.TrimSpace(acceptLanguage) == "" {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, i, conf := c.matcher.Match(tags...)
	// A weak match (German to English, say) is no choice of the user's:
	// the default serves them better.
	if conf == language.No || conf == language.Low {
		return ""
	}
	return Languages[i]
}

// translator renders messages in one language.
type translator struct {
	lang string
	loc  *i18n.Localizer
}

func (c *catalogue) translator(lang string) *translator {
	return &translator{lang: lang, loc: i18n.NewLocalizer(c.bundle, lang)}
}

// has tells whether the catalogue has a message.
func (t *translator) has(id string) bool {
	_, err := t.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}

// T renders a message; data are its template values and, under "Count",
// the number that picks the plural form. A missing message is a bug the
// catalogue test catches; here it shows its ID rather than failing a page.
func (t *translator) T(id string, data ...any) string {
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if len(data) == 1 {
		if m, ok := data[0].(map[string]any); ok {
			cfg.TemplateData = m
			if n, ok := m["Count"]; ok {
				cfg.PluralCount = n
			}
		}
	}
	s, err := t.loc.Localize(cfg)
	if err != nil {
		return id
	}
	return s
}
