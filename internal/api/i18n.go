package api

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"

	"github.com/nrm-tm/nrm/internal/cases"
)

// Problems in the caller's language (docs/api.md#languages): a problem's
// detail and its validation messages follow the request's Accept-Language
// among ProblemLanguages, English by default, and the answer says which in
// Content-Language. The codes clients branch on (type, title, rule, field,
// errors[].rule) never change.
//
// Routes write their details in English, as before. The catalogue
// (locales/<lang>.yaml, go-i18n) gives each English text its translations;
// an English text may hold {{.Name}} placeholders, which stand for any text
// (a value, a list of codes, an SOP version) and are carried over as they
// are, so the messages are worded to need no plural forms. A detail the
// catalogue does not know stays in English.

// ProblemLanguages are the languages of problem documents; the first is the
// default.
var ProblemLanguages = []string{"en", "ru", "tk"}

//go:embed locales/*.yaml
var problemLocaleFiles embed.FS

// problemCatalogue translates English problem texts.
type problemCatalogue struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	// exact maps an English text without placeholders to its message ID.
	exact map[string]string
	// patterns are the English texts with placeholders, the most specific
	// (longest fixed text) first.
	patterns []problemPattern
}

type problemPattern struct {
	id    string
	re    *regexp.Regexp
	names []string
	fixed int
}

var placeholder = regexp.MustCompile(`\{\{\.(\w+)\}\}`)

// problemMessages is the API's catalogue, loaded once.
var problemMessages = mustLoadProblemCatalogue()

func mustLoadProblemCatalogue() *problemCatalogue {
	c, err := loadProblemCatalogue()
	if err != nil {
		panic(err) // the binary was built with a broken catalogue; a test catches it first
	}
	return c
}

func loadProblemCatalogue() (*problemCatalogue, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	var english map[string]string
	for _, l := range ProblemLanguages {
		name := "locales/" + l + ".yaml"
		data, err := fs.ReadFile(problemLocaleFiles, name)
		if err != nil {
			return nil, fmt.Errorf("problem messages %s: %w", l, err)
		}
		if _, err := b.ParseMessageFileBytes(data, path.Base(name)); err != nil {
			return nil, fmt.Errorf("problem messages %s: %w", name, err)
		}
		if l == "en" {
			if err := yaml.Unmarshal(data, &english); err != nil {
				return nil, fmt.Errorf("problem messages %s: %w", name, err)
			}
		}
	}
	c := &problemCatalogue{bundle: b, exact: map[string]string{}}
	var tags []language.Tag
	for _, l := range ProblemLanguages {
		tags = append(tags, language.MustParse(l))
	}
	c.matcher = language.NewMatcher(tags)
	for id, text := range english {
		if !placeholder.MatchString(text) {
			if prev, dup := c.exact[text]; dup {
				return nil, fmt.Errorf("problem messages: %s and %s have the same English text", prev, id)
			}
			c.exact[text] = id
			continue
		}
		pat := problemPattern{id: id}
		var re strings.Builder
		re.WriteString("^")
		last := 0
		for _, m := range placeholder.FindAllStringSubmatchIndex(text, -1) {
			re.WriteString(regexp.QuoteMeta(text[last:m[0]]))
			re.WriteString("(.+?)")
			pat.names = append(pat.names, text[m[2]:m[3]])
			pat.fixed += m[0] - last
			last = m[1]
		}
		re.WriteString(regexp.QuoteMeta(text[last:]))
		re.WriteString("$")
		pat.fixed += len(text) - last
		pat.re = regexp.MustCompile(re.String())
		c.patterns = append(c.patterns, pat)
	}
	sort.Slice(c.patterns, func(i, j int) bool {
		if c.patterns[i].fixed != c.patterns[j].fixed {
			return c.patterns[i].fixed > c.patterns[j].fixed
		}
		return c.patterns[i].id < c.patterns[j].id
	})
	return c, nil
}

// language picks the language of a problem for an Accept-Language header:
// one of ProblemLanguages the header asks for, else English. A weak match
// (German to English, say) is no choice and gets the default too.
func (c *problemCatalogue) language(acceptLanguage string) string {
	if strings.TrimSpace(acceptLanguage) == "" {
		return ProblemLanguages[0]
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ProblemLanguages[0]
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No || conf == language.Low {
		return ProblemLanguages[0]
	}
	return ProblemLanguages[i]
}

// translate gives an English text in lang; the text itself when the
// catalogue does not know it.
func (c *problemCatalogue) translate(loc *i18n.Localizer, english string) string {
	if english == "" {
		return english
	}
	cfg := &i18n.LocalizeConfig{}
	if id, ok := c.exact[english]; ok {
		cfg.MessageID = id
	} else {
		for _, p := range c.patterns {
			m := p.re.FindStringSubmatch(english)
			if m == nil {
				continue
			}
			data := map[string]any{}
			for i, name := range p.names {
				data[name] = m[i+1]
			}
			cfg.MessageID, cfg.TemplateData = p.id, data
			break
		}
	}
	if cfg.MessageID == "" {
		return english
	}
	s, err := loc.Localize(cfg)
	if err != nil {
		return english
	}
	return s
}

// localize puts a problem's detail and validation messages in lang. The
// problem's errors are copied, never changed in place (they belong to the
// error that was mapped).
func (c *problemCatalogue) localize(p Problem, lang string) Problem {
	if lang == ProblemLanguages[0] {
		return p
	}
	loc := i18n.NewLocalizer(c.bundle, lang)
	p.Detail = c.translate(loc, p.Detail)
	if len(p.Errors) > 0 {
		errs := make([]cases.FieldError, len(p.Errors))
		for i, fe := range p.Errors {
			fe.Message = c.translate(loc, fe.Message)
			errs[i] = fe
		}
		p.Errors = errs
	}
	return p
}
