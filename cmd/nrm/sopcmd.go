package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nrm-tm/nrm/internal/sop"
)

const sopUsage = `usage:
  nrm sop validate FILE_OR_FOLDER...        check SOP files strictly; every problem as file:line: rule: message
  nrm sop show [--sop PATH] [--lang LANG] [VERSION]
                                            summarise a version (default: the one in effect now)
  nrm sop diff A B                          list what changed from SOP file A to SOP file B

  --sop PATH   an SOP file or a folder of them (default sop/)
  --lang LANG  language of labels: en, ru or tk (default en)

Exit status: 0 ok (also when diff finds differences), 1 invalid SOP or
unknown version, 2 usage error.
`

// sopNow is the clock of "nrm sop show" (tests replace it).
var sopNow = time.Now

// sopCommand runs "nrm sop validate|show|diff".
func sopCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sopUsage)
		return 2
	}
	switch args[0] {
	case "validate":
		return sopValidate(args[1:], stdout, stderr)
	case "show":
		return sopShow(args[1:], stdout, stderr)
	case "diff":
		return sopDiff(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, sopUsage)
		return 0
	}
	fmt.Fprintf(stderr, "nrm sop: unknown command %q\n\n%s", args[0], sopUsage)
	return 2
}

// sopParseArgs parses flags that may come before or after positional
// arguments, and returns the positional ones.
func sopParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func sopFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nrm sop "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sopUsage) }
	return fs
}

// sopFlagExit maps a flag parsing error to the exit status.
func sopFlagExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// sopPrintProblems writes the problems of an *sop.Error one per line as
// "file:line: rule: message", or any other error.
func sopPrintProblems(w io.Writer, cmd string, err error) {
	var perr *sop.Error
	if errors.As(err, &perr) {
		for _, p := range perr.Problems {
			fmt.Fprintln(w, p.String())
		}
		fmt.Fprintf(w, "%s: %d problem(s)\n", cmd, len(perr.Problems))
		return
	}
	fmt.Fprintf(w, "%s: %v\n", cmd, err)
}

func sopValidate(args []string, stdout, stderr io.Writer) int {
	fs := sopFlagSet("validate", stderr)
	paths, err := sopParseArgs(fs, args)
	if err != nil {
		return sopFlagExit(err)
	}
	if len(paths) == 0 {
		fmt.Fprint(stderr, "nrm sop validate: name at least one SOP file or folder\n\n"+sopUsage)
		return 2
	}
	code := 0
	var all []*sop.SOP
	for _, path := range paths {
		set, err := sop.LoadPath(path)
		if err != nil {
			sopPrintProblems(stderr, "nrm sop validate "+path, err)
			code = 1
			continue
		}
		for _, s := range set.All() {
			fmt.Fprintf(stdout, "ok %s: %s %s, effective %s, sha256 %s\n", s.File, s.ID, s.Version,
				s.EffectiveFrom.Format(sop.DateLayout), s.Hash)
			all = append(all, s)
		}
	}
	// Versions named in different arguments must not clash either.
	bySOP := map[string][]*sop.SOP{}
	var ids []string
	for _, s := range all {
		if _, ok := bySOP[s.ID]; !ok {
			ids = append(ids, s.ID)
		}
		bySOP[s.ID] = append(bySOP[s.ID], s)
	}
	for _, id := range ids {
		if _, err := sop.NewSet(bySOP[id]...); err != nil {
			sopPrintProblems(stderr, "nrm sop validate", err)
			code = 1
		}
	}
	return code
}

func sopShow(args []string, stdout, stderr io.Writer) int {
	fs := sopFlagSet("show", stderr)
	path := fs.String("sop", "sop/", "an SOP file or a folder of them")
	lang := fs.String("lang", "en", "language of labels (en, ru, tk)")
	pos, err := sopParseArgs(fs, args)
	if err != nil {
		return sopFlagExit(err)
	}
	if len(pos) > 1 {
		fmt.Fprint(stderr, "nrm sop show: at most one VERSION\n\n"+sopUsage)
		return 2
	}
	if !slices.Contains(sop.Languages, *lang) {
		fmt.Fprintf(stderr, "nrm sop show: --lang %q: want one of %s\n\n%s", *lang, strings.Join(sop.Languages, ", "), sopUsage)
		return 2
	}
	set, err := sop.LoadPath(*path)
	if err != nil {
		sopPrintProblems(stderr, "nrm sop show", err)
		return 1
	}
	now := sopNow()
	active, activeErr := set.Active(now)
	var s *sop.SOP
	if len(pos) == 1 {
		var ok bool
		if s, ok = set.Get(pos[0]); !ok {
			var have []string
			for _, x := range set.All() {
				have = append(have, x.Version)
			}
			fmt.Fprintf(stderr, "nrm sop show: no version %q in %s (have: %s)\n", pos[0], *path, strings.Join(have, ", "))
			return 1
		}
	} else {
		if activeErr != nil {
			fmt.Fprintf(stderr, "nrm sop show: %v\n", activeErr)
			return 1
		}
		s = active
	}
	sopWriteSummary(stdout, s, set, active, *lang)
	return 0
}

// sopWriteSummary prints a human-readable summary of one SOP version.
func sopWriteSummary(out io.Writer, s *sop.SOP, set *sop.Set, active *sop.SOP, lang string) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	defer w.Flush()
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	durs := func(ds []sop.Duration) string {
		var parts []string
		for _, d := range ds {
			parts = append(parts, d.String())
		}
		return dash(strings.Join(parts, ", "))
	}

	p("SOP %s version %s: %s", s.ID, s.Version, s.Title.In(lang))
	var versions []string
	for _, x := range set.All() {
		v := x.Version
		if x == active {
			v += " (in effect now)"
		}
		versions = append(versions, v)
	}
	p("versions\t%s", strings.Join(versions, ", "))
	p("file\t%s", s.File)
	p("sha256\t%s", s.Hash)
	tz := s.Calendar.Location.String()
	p("effective from\t%s 00:00 %s", s.EffectiveFrom.Format(sop.DateLayout), tz)
	var weekend []string
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if s.Calendar.Weekend[d] {
			weekend = append(weekend, strings.ToLower(d.String()[:3]))
		}
	}
	p("calendar\ttime zone %s; weekend %s; %d holidays", tz, dash(strings.Join(weekend, ", ")), len(s.Calendar.Holidays))
	var holidays []string
	for d := range s.Calendar.Holidays {
		holidays = append(holidays, d)
	}
	slices.Sort(holidays)
	for i := 0; i < len(holidays); i += 6 {
		label := ""
		if i == 0 {
			label = "holidays"
		}
		p("%s\t%s", label, strings.Join(holidays[i:min(i+6, len(holidays))], " "))
	}
	p("child track\tunder %d years of age", s.ChildAgeUnder)
	p("recovery period\tat least %s; one extension at most %dd", dash(s.RecoveryMinimum.String()), s.RecoveryMaxExtensionDays)
	if f, ok := s.FollowUp(); ok {
		p("follow-up\tdue %s after closure is approved (%s)", f.Due, f.ID)
	} else {
		p("follow-up\t- (no obligation is met by follow_up_done)")
	}
	p("retention\tidentity destroyed %s after closure", s.IdentityRetention)
	p("priority countries\t%s", dash(strings.Join(s.PriorityCountries, ", ")))
	if s.BedService != "" {
		p("beds\tcounted by the %s service", s.BedService)
	} else {
		p("beds\tcounted by no service")
	}
	p("")

	p("ROLE\tANSWERED BY")
	for _, role := range sop.AgencyRoles {
		agency := s.AgencyFor(role)
		if agency == sop.CaseAgency {
			agency += " (the agency that opened the case)"
		} else {
			agency = "agency type " + agency
		}
		p("  %s\t%s", role, agency)
	}
	p("")

	count := map[string]map[string]int{}
	total := map[string]int{}
	for _, ind := range s.Indicators {
		if count[ind.Dimension] == nil {
			count[ind.Dimension] = map[string]int{}
		}
		count[ind.Dimension][ind.Strength]++
		total[ind.Strength]++
	}
	p("DIMENSIONS (%d)\tINDICATORS\tSTRONG\tMEDIUM\tWEAK\tLABEL", len(s.Dimensions))
	for _, d := range s.Dimensions {
		c := count[d.ID]
		p("  %s\t%d\t%d\t%d\t%d\t%s", d.ID, c[sop.StrengthStrong]+c[sop.StrengthMedium]+c[sop.StrengthWeak],
			c[sop.StrengthStrong], c[sop.StrengthMedium], c[sop.StrengthWeak], d.Label.In(lang))
	}
	p("  total\t%d\t%d\t%d\t%d\t", len(s.Indicators), total[sop.StrengthStrong], total[sop.StrengthMedium], total[sop.StrengthWeak])
	p("")

	p("SCREENING")
	var rules []string
	for _, r := range s.Screening.DimensionPositive {
		rules = append(rules, r.String())
	}
	p("  a dimension is positive when any of\t%s", strings.Join(rules, " | "))
	p("  presumed victim, adult\t%s", sop.GroupsString(s.Screening.PresumedVictim.Adult))
	p("  presumed victim, child\t%s", sop.GroupsString(s.Screening.PresumedVictim.Child))
	p("")

	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	p("SERVICES (%d)\tURGENT\tRESPONSE DUE\tREMIND\tBEDS\tLABEL", len(s.Services))
	for _, sv := range s.Services {
		p("  %s\t%s\t%s\t%s\t%s\t%s", sv.ID, yesNo(sv.Urgent), sv.ResponseDue, durs(sv.Remind), yesNo(sv.Beds), sv.Label.In(lang))
	}
	p("")

	p("OBLIGATIONS (%d)\tWHEN\tSTARTS ON\tMET BY\tDUE\tREMIND\tOWNER\tESCALATE TO\tFORBIDS", len(s.Obligations))
	for _, o := range s.Obligations {
		when := dash(o.When)
		if o.When == "" {
			when = "all"
		}
		due := o.Due.String()
		metBy := strings.Join(o.MetBy, " | ")
		if o.Kind == sop.KindProtected {
			due, metBy = "protected for "+o.Duration.String(), "(nothing: a protected period)"
		}
		p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", o.ID, when, o.StartsOn, dash(metBy), dash(due), durs(o.Remind),
			dash(o.Owner), dash(strings.Join(o.EscalateTo, ", ")), dash(strings.Join(o.Forbids, ", ")))
	}
	p("")
	p("CLOSURE REASONS\t%s", strings.Join(s.ClosureReasons, ", "))
	p("DECLINE REASONS\t%s", strings.Join(s.DeclineReasons, ", "))
	p("COMPLETION OUTCOMES\t%s", strings.Join(s.CompletionOutcomes, ", "))
}

func sopDiff(args []string, stdout, stderr io.Writer) int {
	fs := sopFlagSet("diff", stderr)
	pos, err := sopParseArgs(fs, args)
	if err != nil {
		return sopFlagExit(err)
	}
	if len(pos) != 2 {
		fmt.Fprint(stderr, "nrm sop diff: name two SOP files, A and B\n\n"+sopUsage)
		return 2
	}
	var sops [2]*sop.SOP
	code := 0
	for i, path := range pos {
		s, err := sop.LoadFile(path)
		if err != nil {
			sopPrintProblems(stderr, "nrm sop diff", err)
			code = 1
			continue
		}
		sops[i] = s
	}
	if code != 0 {
		return code
	}
	a, b := sops[0], sops[1]
	fmt.Fprintf(stdout, "--- %s (%s %s, effective %s)\n", a.File, a.ID, a.Version, a.EffectiveFrom.Format(sop.DateLayout))
	fmt.Fprintf(stdout, "+++ %s (%s %s, effective %s)\n", b.File, b.ID, b.Version, b.EffectiveFrom.Format(sop.DateLayout))
	changes := sop.Diff(a, b)
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "no differences")
		return 0
	}
	kinds := map[string]int{}
	section := ""
	for _, c := range changes {
		if c.Section != section {
			section = c.Section
			fmt.Fprintln(stdout, section)
		}
		kinds[c.Kind()]++
		name := c.ID
		switch c.Kind() {
		case "added":
			fmt.Fprintf(stdout, "  + %s: %s\n", name, c.To)
		case "removed":
			fmt.Fprintf(stdout, "  - %s: %s\n", name, c.From)
		default:
			if name != "" {
				name += " "
			}
			fmt.Fprintf(stdout, "  ~ %s%s: %q -> %q\n", name, c.Field, c.From, c.To)
		}
	}
	fmt.Fprintf(stdout, "%d change(s): %d added, %d removed, %d changed\n", len(changes), kinds["added"], kinds["removed"], kinds["changed"])
	return 0
}
