package sop

import (
	"gopkg.in/yaml.v3"

	"github.com/nrm-tm/nrm/internal/country"
)

// RuleUnknownCountry: priority_countries lists a code that is no assigned
// ISO 3166-1 alpha-2 country code.
const RuleUnknownCountry = "unknown_country"

// priorityCountries reads the optional priority_countries: a list of ISO
// 3166-1 alpha-2 codes, each once, which the screening form offers before
// the others (where the mechanism's victims are mostly exploited). The key
// is optional so that files without it — every version already in force —
// keep loading unchanged, with the same hash.
func (p *parser) priorityCountries(s *SOP, n *yaml.Node) {
	if n == nil {
		return
	}
	const what = "priority_countries"
	seen := newIDs("priority country")
	items := p.seq(n, what)
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.add(p.at(n), RuleMissingKey, "%s: list at least one country, or leave the key out", what)
	}
	for _, item := range items {
		v, ok := p.scalar(item, what)
		if !ok {
			continue
		}
		if !country.Valid(v) {
			p.add(item, RuleUnknownCountry, "%s: %q is not an ISO 3166-1 alpha-2 country code (two capital letters, such as TR)", what, v)
			continue
		}
		if p.unique(seen, v, item) {
			s.PriorityCountries = append(s.PriorityCountries, v)
		}
	}
}
