package sop

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Change is one difference between two SOP versions.
//
// An item added in b has Field "", From "" and To a summary of the item; an
// item removed has Field "", From a summary and To ""; a changed field has
// Field set and the old and new values in From and To (either may be "" when
// the field was not set). Keys a file leaves out are compared at their
// defaults, so a diff lists what the engine would do differently.
type Change struct {
	Section string // general|calendar|dimension|indicator|screening|service|obligation|closure_reason|decline_reason|completion_outcome|attachment_kind|role_agency
	ID      string // the item's ID (a date for holidays); "" for section-wide fields
	Field   string
	From    string
	To      string
}

// Kind returns "added", "removed" or "changed".
func (c Change) Kind() string {
	switch {
	case c.Field == "" && c.From == "":
		return "added"
	case c.Field == "" && c.To == "":
		return "removed"
	}
	return "changed"
}

// diffSections are the sections of a Change, in the order Diff sorts them.
var diffSections = []string{"general", "calendar", "dimension", "indicator", "screening", "service", "obligation", "closure_reason",
	"decline_reason", "completion_outcome", "attachment_kind", "role_agency"}

// Diff lists what changed from a to b, sorted by section (in the order of
// the file), then ID, then field. The file name and hash are not compared.
func Diff(a, b *SOP) []Change {
	d := &differ{}
	d.field("general", "", "sop", a.ID, b.ID)
	d.field("general", "", "version", a.Version, b.Version)
	d.text("general", "", "title", a.Title, b.Title)
	d.field("general", "", "effective_from", dateString(a.EffectiveFrom, &a.Calendar), dateString(b.EffectiveFrom, &b.Calendar))
	d.field("general", "", "child_age_under", strconv.Itoa(a.ChildAgeUnder), strconv.Itoa(b.ChildAgeUnder))
	d.field("general", "", "retention.identity_after_closure", a.IdentityRetention.String(), b.IdentityRetention.String())
	d.field("general", "", "priority_countries", strings.Join(a.PriorityCountries, ", "), strings.Join(b.PriorityCountries, ", "))

	d.field("calendar", "", "timezone", a.Calendar.loc().String(), b.Calendar.loc().String())
	d.field("calendar", "", "weekend", weekendString(a.Calendar.Weekend), weekendString(b.Calendar.Weekend))
	d.set("calendar", a.Calendar.Holidays, b.Calendar.Holidays, "holiday")

	items(d, "dimension", a.Dimensions, b.Dimensions, func(x Dimension) string { return x.ID },
		func(x Dimension) string { return x.Label.In("en") },
		func(id string, x, y Dimension) { d.text("dimension", id, "label", x.Label, y.Label) })
	items(d, "indicator", a.Indicators, b.Indicators, func(x Indicator) string { return x.ID },
		func(x Indicator) string { return "dimension=" + x.Dimension + " strength=" + x.Strength },
		func(id string, x, y Indicator) {
			d.field("indicator", id, "dimension", x.Dimension, y.Dimension)
			d.field("indicator", id, "strength", x.Strength, y.Strength)
			d.text("indicator", id, "label", x.Label, y.Label)
		})

	d.field("screening", "", "dimension_positive", rulesString(a.Screening.DimensionPositive), rulesString(b.Screening.DimensionPositive))
	d.field("screening", "", "presumed_victim.adult", GroupsString(a.Screening.PresumedVictim.Adult), GroupsString(b.Screening.PresumedVictim.Adult))
	d.field("screening", "", "presumed_victim.child", GroupsString(a.Screening.PresumedVictim.Child), GroupsString(b.Screening.PresumedVictim.Child))

	items(d, "service", a.Services, b.Services, func(x Service) string { return x.ID }, serviceSummary,
		func(id string, x, y Service) {
			d.field("service", id, "urgent", strconv.FormatBool(x.Urgent), strconv.FormatBool(y.Urgent))
			d.field("service", id, "beds", strconv.FormatBool(x.Beds), strconv.FormatBool(y.Beds))
			d.field("service", id, "response_due", x.ResponseDue.String(), y.ResponseDue.String())
			d.field("service", id, "remind", durationsString(x.Remind, ", "), durationsString(y.Remind, ", "))
			d.text("service", id, "label", x.Label, y.Label)
		})
	items(d, "obligation", a.Obligations, b.Obligations, func(x Obligation) string { return x.ID }, obligationSummary,
		func(id string, x, y Obligation) {
			d.field("obligation", id, "when", x.When, y.When)
			d.field("obligation", id, "kind", x.Kind, y.Kind)
			d.field("obligation", id, "owner", x.Owner, y.Owner)
			d.field("obligation", id, "starts_on", x.StartsOn, y.StartsOn)
			d.field("obligation", id, "met_by", strings.Join(x.MetBy, ", "), strings.Join(y.MetBy, ", "))
			d.field("obligation", id, "due", x.Due.String(), y.Due.String())
			d.field("obligation", id, "duration", x.Duration.String(), y.Duration.String())
			d.field("obligation", id, "remind", durationsString(x.Remind, ", "), durationsString(y.Remind, ", "))
			d.field("obligation", id, "escalate_to", strings.Join(x.EscalateTo, ", "), strings.Join(y.EscalateTo, ", "))
			d.field("obligation", id, "forbids", strings.Join(x.Forbids, ", "), strings.Join(y.Forbids, ", "))
			d.field("obligation", id, "max_extension", x.MaxExtension.String(), y.MaxExtension.String())
			d.text("obligation", id, "label", x.Label, y.Label)
		})
	d.set("closure_reason", toSet(a.ClosureReasons), toSet(b.ClosureReasons), "closure reason")
	d.set("decline_reason", toSet(a.DeclineReasons), toSet(b.DeclineReasons), "decline reason")
	d.set("completion_outcome", toSet(a.CompletionOutcomes), toSet(b.CompletionOutcomes), "completion outcome")
	d.set("attachment_kind", toSet(a.AttachmentKinds), toSet(b.AttachmentKinds), "attachment kind")
	for _, role := range AgencyRoles {
		d.field("role_agency", role, "agency", a.AgencyFor(role), b.AgencyFor(role))
	}

	sort.SliceStable(d.out, func(i, j int) bool {
		x, y := d.out[i], d.out[j]
		if x.Section != y.Section {
			return slices.Index(diffSections, x.Section) < slices.Index(diffSections, y.Section)
		}
		if x.ID != y.ID {
			return x.ID < y.ID
		}
		return x.Field < y.Field
	})
	return d.out
}

type differ struct{ out []Change }

func (d *differ) field(section, id, field, from, to string) {
	if from != to {
		d.out = append(d.out, Change{Section: section, ID: id, Field: field, From: from, To: to})
	}
}

func (d *differ) text(section, id, field string, a, b Text) {
	langs := map[string]bool{}
	for l := range a {
		langs[l] = true
	}
	for l := range b {
		langs[l] = true
	}
	for l := range langs {
		d.field(section, id, field+"."+l, a[l], b[l])
	}
}

// set compares two sets of IDs: each one only in a is removed, each one only
// in b is added, with summary as its description.
func (d *differ) set(section string, a, b map[string]bool, summary string) {
	for id := range a {
		if !b[id] {
			d.out = append(d.out, Change{Section: section, ID: id, From: summary})
		}
	}
	for id := range b {
		if !a[id] {
			d.out = append(d.out, Change{Section: section, ID: id, To: summary})
		}
	}
}

func items[T any](d *differ, section string, a, b []T, id func(T) string, summary func(T) string, compare func(string, T, T)) {
	old := map[string]T{}
	for _, x := range a {
		old[id(x)] = x
	}
	seen := map[string]bool{}
	for _, y := range b {
		k := id(y)
		seen[k] = true
		if x, ok := old[k]; ok {
			compare(k, x, y)
		} else {
			d.out = append(d.out, Change{Section: section, ID: k, To: nonEmpty(summary(y))})
		}
	}
	for _, x := range a {
		if k := id(x); !seen[k] {
			d.out = append(d.out, Change{Section: section, ID: k, From: nonEmpty(summary(x))})
		}
	}
}

func nonEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func toSet(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func dateString(t time.Time, c *Calendar) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.loc()).Format(DateLayout)
}

func weekendString(w map[time.Weekday]bool) string {
	var days []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if w[d] {
			days = append(days, strings.ToLower(d.String()[:3]))
		}
	}
	return strings.Join(days, ", ")
}

// durationsString joins durations with sep.
func durationsString(ds []Duration, sep string) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, sep)
}

func rulesString(rs []Rule) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, " | ")
}

// GroupsString formats presumed_victim groups as
// "(a OR b) AND (c)".
func GroupsString(groups [][]string) string {
	var parts []string
	for _, g := range groups {
		parts = append(parts, "("+strings.Join(g, " OR ")+")")
	}
	return strings.Join(parts, " AND ")
}

func serviceSummary(s Service) string {
	var b strings.Builder
	if s.Urgent {
		b.WriteString("urgent ")
	}
	if s.Beds {
		b.WriteString("beds ")
	}
	b.WriteString("response_due=" + s.ResponseDue.String())
	if len(s.Remind) > 0 {
		b.WriteString(" remind=" + durationsString(s.Remind, ","))
	}
	return b.String()
}

func obligationSummary(o Obligation) string {
	parts := []string{"kind=" + o.Kind}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("when", o.When)
	add("owner", o.Owner)
	add("starts_on", o.StartsOn)
	add("met_by", strings.Join(o.MetBy, "|"))
	add("due", o.Due.String())
	add("duration", o.Duration.String())
	add("remind", durationsString(o.Remind, ","))
	add("escalate_to", strings.Join(o.EscalateTo, ","))
	add("forbids", strings.Join(o.Forbids, ","))
	add("max_extension", o.MaxExtension.String())
	return strings.Join(parts, " ")
}
