package sop

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RequiredClosureReasons are closure reasons the engine itself closes cases
// with, so every SOP must list them.
var RequiredClosureReasons = []string{"consent_withdrawn", "not_identified"}

var (
	idPattern      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	sopIDPattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	versionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$`)
	langPattern    = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	syntaxLine     = regexp.MustCompile(`^line (\d+): `)
)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// LoadFile reads and parses one SOP file.
func LoadFile(path string) (*SOP, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates an SOP file strictly and returns it. On validation failure
// the error is an *Error listing every problem found, each with file and line.
// file is used in problems and kept as SOP.File.
func Parse(file string, data []byte) (*SOP, error) {
	p := &parser{file: file, keyOf: map[*yaml.Node]*yaml.Node{}}
	root := p.document(data)
	var s *SOP
	if root != nil {
		s = p.sop(root)
	}
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, &Error{Problems: p.problems}
	}
	sum := sha256.Sum256(data)
	s.Hash = hex.EncodeToString(sum[:])
	s.File = file
	return s, nil
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Rule < ps[j].Rule
	})
}

type parser struct {
	file     string
	problems []Problem
	// keyOf maps a value to its key, so that a problem with a whole block
	// mapping or list is reported on the line of its key.
	keyOf map[*yaml.Node]*yaml.Node
}

// at returns the node whose line locates a problem with the whole of n.
func (p *parser) at(n *yaml.Node) *yaml.Node {
	if k := p.keyOf[n]; k != nil {
		return k
	}
	return n
}

func (p *parser) add(n *yaml.Node, rule, format string, args ...any) {
	line := 1
	if n != nil && n.Line > 0 {
		line = n.Line
	}
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) addLine(line int, rule, format string, args ...any) {
	p.add(&yaml.Node{Line: line}, rule, format, args...)
}

// document decodes the single YAML document of data and returns its root
// mapping, or nil after recording a problem.
func (p *parser) document(data []byte) (root *yaml.Node) {
	defer func() {
		if r := recover(); r != nil {
			p.addLine(1, RuleSyntax, "the YAML parser failed: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.addLine(1, RuleSyntax, "the file is empty")
		} else {
			p.syntax(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.add(&extra, RuleSyntax, "a file holds one SOP version: a second YAML document starts here")
		return nil
	} else if !errors.Is(err, io.EOF) {
		p.syntax(err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.add(&doc, RuleSyntax, "the file is empty")
		return nil
	}
	return doc.Content[0]
}

// syntax records a YAML parser error, on the line it names ("yaml: line 5:
// mapping values are not allowed in this context"), else on line 1.
func (p *parser) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		if n, e := strconv.Atoi(m[1]); e == nil && n > 0 {
			line = n
		}
		msg = msg[len(m[0]):]
	}
	p.addLine(line, RuleSyntax, "%s", msg)
}

// ---- YAML shape helpers ----

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// is checks the node's kind; aliases are never accepted (they would let one
// entry silently stand for another).
func (p *parser) is(n *yaml.Node, kind yaml.Kind, what, want string) bool {
	if n.Kind == yaml.AliasNode {
		p.add(n, RuleBadValue, "%s: YAML aliases are not allowed in SOP files; write the value out", what)
		return false
	}
	if n.Kind != kind {
		p.add(n, RuleBadValue, "%s: want %s, got %s", what, want, kindName(n))
		return false
	}
	return true
}

type mapping struct {
	node *yaml.Node
	vals map[string]*yaml.Node
}

// mapping checks that n is a mapping with only the allowed keys, each once.
func (p *parser) mapping(n *yaml.Node, what string, allowed ...string) *mapping {
	if !p.is(n, yaml.MappingNode, what, "a mapping") {
		return nil
	}
	m := &mapping{node: n, vals: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k, RuleBadValue, "%s: keys must be plain names", what)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.add(k, RuleUnknownKey, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := m.vals[k.Value]; dup {
			p.add(k, RuleDuplicateKey, "%s: key %q given twice", what, k.Value)
			continue
		}
		m.vals[k.Value] = v
		p.keyOf[v] = k
	}
	return m
}

func (m *mapping) get(key string) *yaml.Node {
	if m == nil {
		return nil
	}
	return m.vals[key]
}

// required returns the value of key, recording a problem if it is missing.
func (p *parser) required(m *mapping, key, what string) *yaml.Node {
	if m == nil {
		return nil
	}
	v := m.vals[key]
	if v == nil {
		p.add(p.at(m.node), RuleMissingKey, "%s: %q is required", what, key)
	}
	return v
}

func (p *parser) seq(n *yaml.Node, what string) []*yaml.Node {
	if n == nil || !p.is(n, yaml.SequenceNode, what, "a list") {
		return nil
	}
	return n.Content
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n == nil || !p.is(n, yaml.ScalarNode, what, "a single value") {
		return "", false
	}
	if n.ShortTag() == "!!null" {
		p.add(n, RuleBadValue, "%s: a value is required", what)
		return "", false
	}
	return n.Value, true
}

// id reads an ID. It returns the text even when it is not a valid ID (for
// messages), with ok false.
func (p *parser) id(n *yaml.Node, what string) (v string, ok bool) {
	v, ok = p.scalar(n, what)
	if ok && !idPattern.MatchString(v) {
		p.add(n, RuleBadID, "%s: %q is not an ID (lower-case letters, digits and _, starting with a letter, at most 64)", what, v)
		ok = false
	}
	return v, ok
}

// itemID reads the ID of a list item, checks that it is unique in set, and
// returns it for the item (valid and unique, else "") and for messages.
func (p *parser) itemID(m *mapping, set *ids) (id, name string) {
	v := p.required(m, "id", set.what)
	if v == nil {
		return "", ""
	}
	name, ok := p.id(v, set.what+" id")
	if ok && p.unique(set, name, v) {
		id = name
	}
	return id, name
}

func (p *parser) event(n *yaml.Node, what string) (string, bool) {
	v, ok := p.scalar(n, what)
	if !ok {
		return "", false
	}
	if !IsEvent(v) {
		p.add(n, RuleUnknownEvent, "%s: unknown event %q", what, v)
		return "", false
	}
	return v, true
}

func (p *parser) duration(n *yaml.Node, what string) (Duration, bool) {
	v, ok := p.scalar(n, what)
	if !ok {
		return Duration{}, false
	}
	d, err := ParseDuration(v)
	if err != nil {
		p.add(n, RuleBadDuration, "%s: %v", what, err)
		return Duration{}, false
	}
	return d, true
}

// timed is a duration read from the file with its node, for later checks.
type timed struct {
	d Duration
	n *yaml.Node
}

func (p *parser) durations(n *yaml.Node, what string) []timed {
	var out []timed
	for _, item := range p.seq(n, what) {
		if d, ok := p.duration(item, what); ok {
			out = append(out, timed{d, item})
		}
	}
	return out
}

func values(ts []timed) []Duration {
	var out []Duration
	for _, t := range ts {
		out = append(out, t.d)
	}
	return out
}

func (p *parser) integer(n *yaml.Node, what string) (int, bool) {
	v, ok := p.scalar(n, what)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || n.ShortTag() != "!!int" {
		p.add(n, RuleBadValue, "%s: %q is not a whole number", what, v)
		return 0, false
	}
	return i, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	v, ok := p.scalar(n, what)
	if !ok {
		return false, false
	}
	switch {
	case n.ShortTag() == "!!bool" && v == "true":
		return true, true
	case n.ShortTag() == "!!bool" && v == "false":
		return false, true
	}
	p.add(n, RuleBadValue, "%s: want true or false, got %q", what, v)
	return false, false
}

func (p *parser) date(n *yaml.Node, what string, loc *time.Location) (time.Time, bool) {
	v, ok := p.scalar(n, what)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(DateLayout, v, loc)
	if err != nil {
		p.add(n, RuleBadValue, "%s: %q is not a date like 2026-01-31", what, v)
		return time.Time{}, false
	}
	return t, true
}

// text reads a label: a mapping language -> non-empty text with at least
// the Languages.
func (p *parser) text(n *yaml.Node, what string) Text {
	if n == nil || !p.is(n, yaml.MappingNode, what, "a mapping of languages to text (en, ru, tk)") {
		return nil
	}
	t := Text{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !langPattern.MatchString(k.Value) {
			p.add(k, RuleUnknownKey, "%s: %q is not a language code (en, ru, tk, …)", what, k.Value)
			continue
		}
		if _, dup := t[k.Value]; dup {
			p.add(k, RuleDuplicateKey, "%s: language %q given twice", what, k.Value)
			continue
		}
		if !p.is(v, yaml.ScalarNode, what+" "+k.Value, "a text") {
			t[k.Value] = ""
			continue
		}
		if v.ShortTag() == "!!null" || strings.TrimSpace(v.Value) == "" {
			p.add(v, RuleMissingTranslation, "%s: the %s text is empty", what, k.Value)
			t[k.Value] = ""
			continue
		}
		t[k.Value] = strings.TrimSpace(v.Value)
	}
	for _, lang := range Languages {
		if _, ok := t[lang]; !ok {
			p.add(p.at(n), RuleMissingTranslation, "%s: the %s text is missing", what, lang)
		}
	}
	return t
}

// ids keeps track of IDs of one kind to find duplicates.
type ids struct {
	what string
	seen map[string]int // id -> line of first occurrence
}

func newIDs(what string) *ids { return &ids{what: what, seen: map[string]int{}} }

func (p *parser) unique(set *ids, id string, n *yaml.Node) bool {
	if first, dup := set.seen[id]; dup {
		p.add(n, RuleDuplicateID, "%s %q is already defined on line %d", set.what, id, first)
		return false
	}
	set.seen[id] = n.Line
	return true
}

// ---- the SOP ----

func (p *parser) sop(root *yaml.Node) *SOP {
	s := &SOP{}
	top := p.mapping(root, "the SOP file", "sop", "version", "title", "effective_from", "calendar",
		"child_age_under", "dimensions", "indicators", "screening", "services", "obligations",
		"closure_reasons", "decline_reasons", "completion_outcomes", "attachment_kinds", "role_agencies", "follow_up_after", "retention", "reopening",
		"priority_countries")
	if top == nil {
		return s
	}
	const what = "the SOP file"
	if n := p.required(top, "sop", what); n != nil {
		if v, ok := p.scalar(n, "sop"); ok {
			if sopIDPattern.MatchString(v) {
				s.ID = v
			} else {
				p.add(n, RuleBadID, "sop: %q is not an SOP ID (lower-case letters, digits, _ and -)", v)
			}
		}
	}
	if n := p.required(top, "version", what); n != nil {
		s.versionLine = n.Line
		if v, ok := p.scalar(n, "version"); ok {
			if versionPattern.MatchString(v) {
				s.Version = v
			} else {
				p.add(n, RuleBadValue, "version: %q is not a version (letters, digits, '.', '_' and '-', e.g. \"2026.1\")", v)
			}
		}
	}
	if n := p.required(top, "title", what); n != nil {
		s.Title = p.text(n, "title")
	}
	p.calendar(s, p.required(top, "calendar", what))
	if n := p.required(top, "effective_from", what); n != nil {
		if t, ok := p.date(n, "effective_from", s.Calendar.loc()); ok {
			s.EffectiveFrom = t
		}
	}
	if n := p.required(top, "child_age_under", what); n != nil {
		if v, ok := p.integer(n, "child_age_under"); ok {
			if v < 1 || v > 21 {
				p.add(n, RuleBadValue, "child_age_under: %d is not between 1 and 21", v)
			} else {
				s.ChildAgeUnder = v
			}
		}
	}
	dims := p.dimensions(s, p.required(top, "dimensions", what))
	p.indicators(s, p.required(top, "indicators", what), dims)
	p.screening(s, p.required(top, "screening", what), dims)
	p.services(s, p.required(top, "services", what))
	p.obligations(s, p.required(top, "obligations", what))
	p.closureReasons(s, p.required(top, "closure_reasons", what))
	s.DeclineReasons = p.codes(top.get("decline_reasons"), "decline_reasons", "decline reason", DefaultDeclineReasons)
	s.CompletionOutcomes = p.codes(top.get("completion_outcomes"), "completion_outcomes", "completion outcome", DefaultCompletionOutcomes)
	s.AttachmentKinds = p.codes(top.get("attachment_kinds"), "attachment_kinds", "attachment kind", DefaultAttachmentKinds)
	p.roleAgencies(s, top.get("role_agencies"))
	p.followUpAfter(s, top.get("follow_up_after"))
	p.reopening(s, top.get("reopening"))
	p.priorityCountries(s, top.get("priority_countries"))
	if n := p.required(top, "retention", what); n != nil {
		r := p.mapping(n, "retention", "identity_after_closure")
		if v := p.required(r, "identity_after_closure", "retention"); v != nil {
			s.IdentityRetention, _ = p.duration(v, "retention.identity_after_closure")
		}
	}
	return s
}

func (p *parser) calendar(s *SOP, n *yaml.Node) {
	s.Calendar = Calendar{Location: time.UTC, Weekend: map[time.Weekday]bool{}, Holidays: map[string]bool{}}
	if n == nil {
		return
	}
	m := p.mapping(n, "calendar", "timezone", "weekend", "holidays")
	if m == nil {
		return
	}
	if tz := p.required(m, "timezone", "calendar"); tz != nil {
		if v, ok := p.scalar(tz, "calendar.timezone"); ok {
			loc, err := time.LoadLocation(v)
			switch {
			case v == "" || v == "Local" || strings.EqualFold(v, "local"):
				p.add(tz, RuleBadValue, "calendar.timezone: %q is not an IANA time zone name such as Asia/Ashgabat", v)
			case err != nil:
				p.add(tz, RuleBadValue, "calendar.timezone: %q is not a known IANA time zone (e.g. Asia/Ashgabat)", v)
			default:
				s.Calendar.Location = loc
			}
		}
	}
	if w := p.required(m, "weekend", "calendar"); w != nil {
		seen := newIDs("weekend day")
		for _, item := range p.seq(w, "calendar.weekend") {
			v, ok := p.scalar(item, "calendar.weekend")
			if !ok {
				continue
			}
			day, known := weekdays[v]
			if !known {
				p.add(item, RuleBadValue, "calendar.weekend: %q is not a day (mon, tue, wed, thu, fri, sat, sun)", v)
				continue
			}
			if p.unique(seen, v, item) {
				s.Calendar.Weekend[day] = true
			}
		}
		if len(s.Calendar.Weekend) == 7 {
			p.add(w, RuleBadValue, "calendar.weekend: a week needs at least one working day")
		}
	}
	if h := p.required(m, "holidays", "calendar"); h != nil {
		seen := newIDs("holiday")
		for _, item := range p.seq(h, "calendar.holidays") {
			if t, ok := p.date(item, "calendar.holidays", s.Calendar.loc()); ok {
				d := t.Format(DateLayout)
				if p.unique(seen, d, item) {
					s.Calendar.Holidays[d] = true
				}
			}
		}
	}
}

func (p *parser) dimensions(s *SOP, n *yaml.Node) map[string]bool {
	dims := map[string]bool{}
	seen := newIDs("dimension")
	items := p.seq(n, "dimensions")
	if n != nil && n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(n, RuleMissingKey, "dimensions: at least one dimension is required")
	}
	for _, item := range items {
		m := p.mapping(item, "dimension", "id", "label")
		if m == nil {
			continue
		}
		var d Dimension
		var name string
		d.ID, name = p.itemID(m, seen)
		if d.ID != "" {
			dims[d.ID] = true
		}
		if v := p.required(m, "label", "dimension "+name); v != nil {
			d.Label = p.text(v, "dimension "+name+" label")
		}
		s.Dimensions = append(s.Dimensions, d)
	}
	return dims
}

func (p *parser) indicators(s *SOP, n *yaml.Node, dims map[string]bool) {
	seen := newIDs("indicator")
	items := p.seq(n, "indicators")
	if n != nil && n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(n, RuleMissingKey, "indicators: at least one indicator is required")
	}
	for _, item := range items {
		m := p.mapping(item, "indicator", "id", "dimension", "strength", "label")
		if m == nil {
			continue
		}
		var ind Indicator
		var name string
		ind.ID, name = p.itemID(m, seen)
		what := "indicator " + name
		if v := p.required(m, "dimension", what); v != nil {
			if d, ok := p.scalar(v, what+" dimension"); ok {
				if dims[d] {
					ind.Dimension = d
				} else {
					p.add(v, RuleUnknownDimension, "%s: unknown dimension %q", what, d)
				}
			}
		}
		if v := p.required(m, "strength", what); v != nil {
			if st, ok := p.scalar(v, what+" strength"); ok {
				if slices.Contains(Strengths, st) {
					ind.Strength = st
				} else {
					p.add(v, RuleUnknownStrength, "%s: strength %q is not strong, medium or weak", what, st)
				}
			}
		}
		if v := p.required(m, "label", what); v != nil {
			ind.Label = p.text(v, what+" label")
		}
		s.Indicators = append(s.Indicators, ind)
	}
}

func (p *parser) screening(s *SOP, n *yaml.Node, dims map[string]bool) {
	if n == nil {
		return
	}
	m := p.mapping(n, "screening", "dimension_positive", "presumed_victim")
	if m == nil {
		return
	}
	if v := p.required(m, "dimension_positive", "screening"); v != nil {
		items := p.seq(v, "screening.dimension_positive")
		if v.Kind == yaml.SequenceNode && len(items) == 0 {
			p.add(v, RuleMissingKey, "screening.dimension_positive: at least one rule is required")
		}
		for _, item := range items {
			if r := p.rule(item); r != nil {
				s.Screening.DimensionPositive = append(s.Screening.DimensionPositive, r)
			}
		}
	}
	if v := p.required(m, "presumed_victim", "screening"); v != nil {
		pv := p.mapping(v, "screening.presumed_victim", "adult", "child")
		if a := p.required(pv, "adult", "screening.presumed_victim"); a != nil {
			s.Screening.PresumedVictim.Adult = p.groups(a, "screening.presumed_victim.adult", dims)
		}
		if c := p.required(pv, "child", "screening.presumed_victim"); c != nil {
			s.Screening.PresumedVictim.Child = p.groups(c, "screening.presumed_victim.child", dims)
		}
	}
}

func (p *parser) rule(n *yaml.Node) Rule {
	const what = "screening.dimension_positive rule"
	if !p.is(n, yaml.MappingNode, what, "a mapping of strengths to counts, e.g. {strong: 1, medium: 1}") {
		return nil
	}
	r := Rule{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(Strengths, k.Value) {
			p.add(k, RuleUnknownStrength, "%s: %q is not strong, medium or weak", what, k.Value)
			continue
		}
		if _, dup := r[k.Value]; dup {
			p.add(k, RuleDuplicateKey, "%s: %q given twice", what, k.Value)
			continue
		}
		c, ok := p.integer(v, what+" "+k.Value)
		if !ok {
			continue
		}
		if c < 1 || c > 100 {
			p.add(v, RuleBadValue, "%s: count %d is not between 1 and 100", what, c)
			continue
		}
		r[k.Value] = c
	}
	if len(n.Content) == 0 {
		p.add(n, RuleBadValue, "%s: an empty rule would make every dimension positive", what)
		return nil
	}
	return r
}

func (p *parser) groups(n *yaml.Node, what string, dims map[string]bool) [][]string {
	var out [][]string
	items := p.seq(n, what)
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(n, RuleMissingKey, "%s: at least one group of dimensions is required", what)
	}
	for _, g := range items {
		members := p.seq(g, what+" group")
		if g.Kind == yaml.SequenceNode && len(members) == 0 {
			p.add(g, RuleBadValue, "%s: an empty group can never be positive", what)
		}
		var group []string
		for _, d := range members {
			v, ok := p.scalar(d, what)
			if !ok {
				continue
			}
			if !dims[v] {
				p.add(d, RuleUnknownDimension, "%s: unknown dimension %q", what, v)
				continue
			}
			group = append(group, v)
		}
		out = append(out, group)
	}
	return out
}

func (p *parser) services(s *SOP, n *yaml.Node) {
	seen := newIDs("service")
	items := p.seq(n, "services")
	if n != nil && n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(n, RuleMissingKey, "services: at least one service is required")
	}
	bedsGiven, bedLine := false, 0
	defer func() {
		// Files that set beds on no service keep the engine's former rule:
		// the shelter service counts beds.
		if bedsGiven {
			return
		}
		for i := range s.Services {
			if s.Services[i].ID == DefaultBedService {
				s.Services[i].Beds, s.BedService = true, DefaultBedService
			}
		}
	}()
	for _, item := range items {
		m := p.mapping(item, "service", "id", "urgent", "beds", "response_due", "remind", "label")
		if m == nil {
			continue
		}
		var sv Service
		var name string
		sv.ID, name = p.itemID(m, seen)
		what := "service " + name
		if v := m.get("urgent"); v != nil {
			sv.Urgent, _ = p.boolean(v, what+" urgent")
		}
		if v := m.get("beds"); v != nil {
			bedsGiven = true
			sv.Beds, _ = p.boolean(v, what+" beds")
			if sv.Beds && bedLine > 0 {
				p.add(v, RuleBadValue, "%s: only one service counts beds (the service on line %d already does)", what, bedLine)
				sv.Beds = false
			} else if sv.Beds {
				bedLine = v.Line
				s.BedService = sv.ID
			}
		}
		if v := p.required(m, "response_due", what); v != nil {
			sv.ResponseDue, _ = p.duration(v, what+" response_due")
		}
		if v := m.get("remind"); v != nil {
			remind := p.durations(v, what+" remind")
			sv.Remind = values(remind)
			p.reminders(remind, sv.ResponseDue, what, "response_due", RuleBadValue)
		}
		if v := p.required(m, "label", what); v != nil {
			sv.Label = p.text(v, what+" label")
		}
		s.Services = append(s.Services, sv)
	}
}

// reminders checks that every reminder certainly falls before the end of the
// period (compared conservatively across units: only a reminder that can
// never come first is rejected).
func (p *parser) reminders(remind []timed, end Duration, what, endName, rule string) {
	if end.IsZero() {
		return
	}
	for _, r := range remind {
		if r.d.certainlyNotBefore(end) {
			p.add(r.n, rule, "%s: reminder %s is not before %s %s", what, r.d, endName, end)
		}
	}
}

func (p *parser) obligations(s *SOP, n *yaml.Node) {
	seen := newIDs("obligation")
	items := p.seq(n, "obligations")
	type located struct {
		o         Obligation
		node      *yaml.Node
		due       *yaml.Node
		extension *yaml.Node
	}
	var all []located
	unsure := false // an obligation whose kind or start could not be read
	for _, item := range items {
		m := p.mapping(item, "obligation", "id", "label", "when", "kind", "owner", "starts_on",
			"met_by", "due", "remind", "escalate_to", "duration", "forbids", "max_extension")
		if m == nil {
			continue
		}
		var o Obligation
		var name string
		o.ID, name = p.itemID(m, seen)
		what := "obligation " + name
		if v := m.get("label"); v != nil {
			o.Label = p.text(v, what+" label")
		}
		if v := m.get("when"); v != nil {
			if w, ok := p.scalar(v, what+" when"); ok {
				if w == WhenChild || w == WhenAdult {
					o.When = w
				} else {
					p.add(v, RuleBadValue, "%s: when %q is not child or adult (leave it out for every case)", what, w)
				}
			}
		}
		startsOn := p.required(m, "starts_on", what)
		if startsOn != nil {
			o.StartsOn, _ = p.event(startsOn, what+" starts_on")
		}
		o.Kind = KindDeadline
		if v := m.get("kind"); v != nil {
			// An unreadable kind leaves Kind empty: neither kind's checks apply.
			o.Kind = ""
			if k, ok := p.scalar(v, what+" kind"); ok {
				if k == KindDeadline || k == KindProtected {
					o.Kind = k
				} else {
					p.add(v, RuleBadValue, "%s: kind %q is not deadline or protected", what, k)
				}
			}
		}
		unsure = unsure || o.Kind == "" || o.StartsOn == ""
		if v := m.get("owner"); v != nil {
			if r, ok := p.scalar(v, what+" owner"); ok {
				if slices.Contains(OwnerRoles, r) {
					o.Owner = r
				} else {
					p.add(v, RuleUnknownRole, "%s: owner %q is not one of %s", what, r, strings.Join(OwnerRoles, ", "))
				}
			}
		}
		metBy := m.get("met_by")
		for _, e := range p.seq(metBy, what+" met_by") {
			if ev, ok := p.event(e, what+" met_by"); ok {
				if slices.Contains(o.MetBy, ev) {
					p.add(e, RuleDuplicateID, "%s: met_by event %q given twice", what, ev)
					continue
				}
				o.MetBy = append(o.MetBy, ev)
				switch {
				case ev == o.StartsOn:
					p.add(e, RuleCycle, "%s: it would be met by the event that starts it (%s)", what, ev)
				case ev == "obligation_met" || ev == "obligation_breached":
					p.add(e, RuleCycle, "%s: it cannot be met by %s, an event that obligations themselves emit", what, ev)
				}
			}
		}
		if startsOn != nil && (o.StartsOn == "obligation_met" || o.StartsOn == "obligation_breached") {
			p.add(startsOn, RuleCycle, "%s: it cannot start on %s, an event that obligations themselves emit (an obligation could start itself again)", what, o.StartsOn)
		}
		due := m.get("due")
		if due != nil {
			o.Due, _ = p.duration(due, what+" due")
		}
		dur := m.get("duration")
		if dur != nil {
			o.Duration, _ = p.duration(dur, what+" duration")
		}
		remind := p.durations(m.get("remind"), what+" remind")
		o.Remind = values(remind)
		forbids := m.get("forbids")
		o.Forbids = p.forbids(forbids, what)
		extension := m.get("max_extension")
		if extension != nil {
			o.MaxExtension = p.maxExtension(extension, what)
		}
		for _, e := range p.seq(m.get("escalate_to"), what+" escalate_to") {
			if r, ok := p.scalar(e, what+" escalate_to"); ok {
				if !slices.Contains(EscalationRoles, r) {
					p.add(e, RuleUnknownRole, "%s: escalate_to %q is not one of %s", what, r, strings.Join(EscalationRoles, ", "))
				} else if slices.Contains(o.EscalateTo, r) {
					p.add(e, RuleDuplicateID, "%s: escalate_to %q given twice", what, r)
				} else {
					o.EscalateTo = append(o.EscalateTo, r)
				}
			}
		}
		switch o.Kind {
		case KindDeadline:
			if due == nil {
				p.add(item, RuleInconsistentObligation, "%s: a deadline needs due", what)
			}
			if metBy == nil || (metBy.Kind == yaml.SequenceNode && len(metBy.Content) == 0) {
				p.add(item, RuleInconsistentObligation, "%s: a deadline needs met_by (the events that meet it)", what)
			}
			if m.get("owner") == nil {
				p.add(item, RuleInconsistentObligation, "%s: a deadline needs an owner", what)
			}
			if dur != nil {
				p.add(dur, RuleInconsistentObligation, "%s: duration is for protected periods; a deadline has due", what)
			}
			if forbids != nil {
				p.add(forbids, RuleInconsistentObligation, "%s: forbids is for protected periods; a deadline is met by events", what)
			}
			p.reminders(remind, o.Due, what, "due", RuleInconsistentObligation)
		case KindProtected:
			if dur == nil {
				p.add(item, RuleInconsistentObligation, "%s: a protected period needs duration", what)
			}
			if due != nil {
				p.add(due, RuleInconsistentObligation, "%s: due is for deadlines; a protected period has duration", what)
			}
			if metBy != nil {
				p.add(metBy, RuleInconsistentObligation, "%s: a protected period is not met by events; it lasts its duration", what)
			}
			p.reminders(remind, o.Duration, what, "duration", RuleInconsistentObligation)
		}
		all = append(all, located{o: o, node: item, due: due, extension: extension})
		s.Obligations = append(s.Obligations, o)
	}

	// The recovery and reflection period: exactly one protected period
	// starting on preliminary_positive.
	var recovery *located
	for i := range all {
		l := &all[i]
		if l.o.Kind != KindProtected || l.o.StartsOn != "preliminary_positive" {
			continue
		}
		if recovery != nil {
			p.add(l.node, RuleInconsistentObligation, "obligation %s: only one protected period may start on preliminary_positive (the recovery period is %s)", l.o.ID, recovery.o.ID)
			continue
		}
		recovery = l
	}
	if n != nil && n.Kind == yaml.SequenceNode && recovery == nil && !unsure {
		p.add(p.at(n), RuleInconsistentObligation, "obligations: the recovery and reflection period is missing: a protected obligation with starts_on: preliminary_positive and a duration")
	}
	// Only the recovery period is extended (extend_recovery).
	for i := range all {
		if l := &all[i]; l.extension != nil && l != recovery {
			p.add(l.extension, RuleInconsistentObligation, "obligation %s: max_extension is for the recovery period (the protected obligation that starts on preliminary_positive)", l.o.ID)
		}
	}
	if recovery == nil {
		return
	}
	s.RecoveryMinimum = recovery.o.Duration
	extension := recovery.o.MaxExtension
	if extension.IsZero() {
		extension = MaxExtension
		for i := range s.Obligations {
			if s.Obligations[i].ID == recovery.o.ID {
				s.Obligations[i].MaxExtension = extension
			}
		}
	}
	s.RecoveryMaxExtensionDays = extension.N
	// The conclusive decision must not be due before the recovery period ends.
	for _, l := range all {
		if l.o.Kind != KindDeadline || l.o.StartsOn != recovery.o.StartsOn || l.o.Due.IsZero() || s.RecoveryMinimum.IsZero() {
			continue
		}
		if (l.o.IsMetBy("conclusive_positive") || l.o.IsMetBy("conclusive_negative")) && l.o.Due.certainlyBefore(s.RecoveryMinimum) {
			p.add(l.due, RuleInconsistentObligation, "obligation %s: the conclusive decision would be due (%s) before the recovery period %s (%s) ends", l.o.ID, l.o.Due, recovery.o.ID, s.RecoveryMinimum)
		}
	}
}

func (p *parser) closureReasons(s *SOP, n *yaml.Node) {
	if n == nil {
		return
	}
	seen := newIDs("closure reason")
	for _, item := range p.seq(n, "closure_reasons") {
		if id, ok := p.id(item, "closure reason"); ok && p.unique(seen, id, item) {
			s.ClosureReasons = append(s.ClosureReasons, id)
		}
	}
	if n.Kind != yaml.SequenceNode {
		return
	}
	for _, r := range RequiredClosureReasons {
		if _, ok := seen.seen[r]; !ok {
			p.add(p.at(n), RuleMissingKey, "closure_reasons: %q is required (the engine closes cases with it)", r)
		}
	}
}

// forbids reads what a protected period forbids: events of ForbiddableEvents, each once.
func (p *parser) forbids(n *yaml.Node, what string) []string {
	var out []string
	for _, e := range p.seq(n, what+" forbids") {
		ev, ok := p.event(e, what+" forbids")
		switch {
		case !ok:
		case !slices.Contains(ForbiddableEvents, ev):
			p.add(e, RuleBadValue, "%s: forbids %q: a protected period can forbid only %s", what, ev, strings.Join(ForbiddableEvents, ", "))
		case slices.Contains(out, ev):
			p.add(e, RuleDuplicateID, "%s: forbids %q given twice", what, ev)
		default:
			out = append(out, ev)
		}
	}
	return out
}

// maxExtension reads the bound of one extension of the recovery period: whole
// calendar days, at most MaxExtension.
func (p *parser) maxExtension(n *yaml.Node, what string) Duration {
	d, ok := p.duration(n, what+" max_extension")
	switch {
	case !ok:
	case d.Unit != Days:
		p.add(n, RuleBadValue, "%s: max_extension %s: an extension is counted in calendar days (e.g. 365d)", what, d)
	case d.N > MaxExtension.N:
		p.add(n, RuleBadValue, "%s: max_extension %s is longer than %s, the most one extension may be", what, d, MaxExtension)
	default:
		return d
	}
	return Duration{}
}

// codes reads an optional list of codes (decline reasons, completion
// outcomes): IDs, each once, at least one. Absent, it is def.
func (p *parser) codes(n *yaml.Node, key, what string, def []string) []string {
	if n == nil {
		return append([]string(nil), def...)
	}
	seen := newIDs(what)
	var out []string
	items := p.seq(n, key)
	for _, item := range items {
		if id, ok := p.id(item, what); ok && p.unique(seen, id, item) {
			out = append(out, id)
		}
	}
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(p.at(n), RuleMissingKey, "%s: at least one %s is required (leave the key out for the defaults: %s)", key, what, strings.Join(def, ", "))
	}
	return out
}

// roleAgencies reads which agency answers for each role: CaseAgency or an
// agency type. Roles left out keep DefaultAgencyFor.
func (p *parser) roleAgencies(s *SOP, n *yaml.Node) {
	s.RoleAgencies = map[string]string{}
	for _, role := range AgencyRoles {
		s.RoleAgencies[role] = DefaultAgencyFor(role)
	}
	const what = "role_agencies"
	if n == nil || !p.is(n, yaml.MappingNode, what, "a mapping of roles to case_agency or an agency type") {
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !slices.Contains(AgencyRoles, k.Value) {
			p.add(k, RuleUnknownRole, "%s: %q is not one of %s", what, k.Value, strings.Join(AgencyRoles, ", "))
			continue
		}
		if seen[k.Value] {
			p.add(k, RuleDuplicateKey, "%s: role %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		agency, ok := p.id(v, what+" "+k.Value)
		if !ok {
			continue
		}
		if k.Value == "opening_agency" && agency != CaseAgency {
			p.add(v, RuleBadValue, "%s: the opening agency is the case's own agency: write %s", what, CaseAgency)
			continue
		}
		s.RoleAgencies[k.Value] = agency
	}
}

// followUpAfter checks the key that files before version 2026.2 of the Turkmen
// SOP carry. The follow-up deadline is the obligation that closure_approved
// starts and follow_up_done meets; nothing reads follow_up_after, so it is
// accepted only where it agrees with that obligation's due.
func (p *parser) followUpAfter(s *SOP, n *yaml.Node) {
	if n == nil {
		return
	}
	d, ok := p.duration(n, "follow_up_after")
	if !ok {
		return
	}
	if o, found := s.FollowUp(); found && !o.Due.IsZero() && o.Due != d {
		p.add(n, RuleInconsistentObligation, "follow_up_after %s disagrees with obligation %s, due %s after closure_approved; "+
			"the obligation sets the follow-up deadline: remove follow_up_after", d, o.ID, o.Due)
	}
}
