package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

const agencyUsage = `usage: nrm agency add --name N --type T --region R [--national] [--regions R1,R2]
                      [--services S1,S2] [--languages tk,ru] [--beds N]

The first deployment creates its first agency here, then its first
administrator with "nrm user add --role admin --agency N" (an administrator
belongs to an agency of type administration):

  nrm agency add --name "System administration" --type administration --region ashgabat --national

Later agencies are added by an administrator (web UI or API).
`

// runAgency creates an agency from the console: the way to the first
// administrator, who needs an agency before anybody can sign in.
func runAgency(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, agencyUsage)
		return 2
	}
	fs := flag.NewFlagSet("agency add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, agencyUsage) }
	name := fs.String("name", "", "agency name (unique)")
	typ := fs.String("type", "", "one of "+strings.Join(directory.AgencyTypes, ", "))
	region := fs.String("region", "", "the agency's own region (one of NRM_REGIONS)")
	national := fs.Bool("national", false, "the agency acts nationally")
	regions := fs.String("regions", "", "further regions it serves, comma-separated")
	services := fs.String("services", "", "services it provides (provider agencies), comma-separated")
	languages := fs.String("languages", "", "languages it works in, comma-separated")
	beds := fs.Int("beds", 0, "shelter beds")
	parts := splitFlags(args[1:], []string{"name", "type", "region", "regions", "services", "languages", "beds"}, []string{"national"})
	if err := fs.Parse(parts.own); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, _, log, code := setup("agency add", parts.common, stderr)
	if code >= 0 {
		return code
	}
	var problems []string
	if strings.TrimSpace(*name) == "" {
		problems = append(problems, "--name is required")
	}
	if !slices.Contains(directory.AgencyTypes, *typ) {
		problems = append(problems, "--type must be one of "+strings.Join(directory.AgencyTypes, ", "))
	}
	served := commaList(*regions)
	for _, r := range append([]string{*region}, served...) {
		if !slices.Contains(cfg.Regions, r) {
			problems = append(problems, fmt.Sprintf("--region/--regions: %q is not one of %s", r, strings.Join(cfg.Regions, ", ")))
		}
	}
	if *beds < 0 {
		problems = append(problems, "--beds must not be negative")
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "nrm agency add: %s\n", strings.Join(problems, "; "))
		return 2
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fail(log, "agency add", err)
	}
	defer st.Close()
	pending, err := st.Pending(ctx)
	if err != nil {
		return fail(log, "agency add", err)
	}
	if pending > 0 {
		fmt.Fprintf(stderr, "nrm agency add: the database has %d pending migrations: run `nrm migrate up` first\n", pending)
		return 1
	}
	dir := &directory.Service{Store: st}
	ag, err := dir.AddAgency(ctx, directory.NewAgency{Name: *name, Type: *typ, Region: *region, Regions: served,
		National: *national, Services: commaList(*services), Languages: commaList(*languages), Beds: *beds})
	var fe *directory.FieldError
	if errors.As(err, &fe) {
		if errors.Is(err, directory.ErrAgencyNameTaken) {
			if existing, lerr := st.AgencyByName(ctx, strings.TrimSpace(*name)); lerr == nil {
				fmt.Fprintf(stderr, "nrm agency add: an agency named %q exists already: %s\n", existing.Name, existing.ID)
				return 1
			}
		}
		fmt.Fprintf(stderr, "nrm agency add: --%s: %v\n", fe.Field, fe.Err)
		return 2
	}
	if err != nil {
		return fail(log, "agency add", err)
	}
	fmt.Fprintf(stdout, "created agency %s (%s, %s)\n", ag.ID, ag.Name, ag.Type)
	return 0
}

func commaList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// splitFlags separates a command's own flags (valued ones, and booleans,
// which take no separate value) from the configuration flags that follow
// or precede them.
func splitFlags(args []string, valued, booleans []string) splitArgs {
	var out splitArgs
	for i := 0; i < len(args); i++ {
		name := strings.TrimLeft(args[i], "-")
		name, _, hasValue := strings.Cut(name, "=")
		target := &out.common
		own, isBool := slices.Contains(valued, name), slices.Contains(booleans, name)
		if own || isBool {
			target = &out.own
		}
		*target = append(*target, args[i])
		if isBool || name == "h" || name == "help" {
			continue
		}
		if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			*target = append(*target, args[i+1])
			i++
		}
	}
	return out
}
