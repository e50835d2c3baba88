package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/nrm-tm/nrm/internal/store"
)

// HTCDSAttribution is the attribution the HTCDS licence (CC BY 4.0, IOM)
// asks for, shown with every export.
const HTCDSAttribution = "Human Trafficking Case Data Standard (HTCDS) by IOM, licensed under CC BY 4.0 " +
	"(https://creativecommons.org/licenses/by/4.0/). Field names and picklist values are HTCDS 2.0's; " +
	"fields prefixed nrm_ are additions of this system, not part of HTCDS. " +
	"IOM does not endorse this export, the software that produced it or its operators."

// HTCDS field names of the export (field-standards-2.0.csv), and the NRM's
// additions where HTCDS 2.0 has no field: when and where the case was
// registered, and the age band at registration (HTCDS's
// vic_AgeWhenTrafficked is the age when first trafficked, which the NRM
// does not record).
const (
	FieldPeriod        = "nrm_RegistrationPeriod"
	FieldArea          = "nrm_RegistrationArea"
	FieldGender        = "prs_Gender"
	FieldAgeBand       = "nrm_AgeBandAtRegistration"
	FieldCitizenship   = "prs_Citizenship"
	FieldStatus        = "vic_TraffickingStatus"
	FieldExploitation  = "vic_TypeOfExploitation"
	FieldCaseStatus    = "cas_Status"
	FieldClosureReason = "cas_ReasonForCaseClosure"
	// FieldLocation (vic_, the victim's record) are the countries where the
	// person was exploited, FieldCountry (hte_, the historic trafficking
	// events) every country of the trafficking: those they were moved
	// through and those where they were exploited (exportcountries.go).
	FieldLocation = "vic_LocationOfExploitation"
	FieldCountry  = "hte_Country"
)

// ExportField describes a field of the export.
type ExportField struct {
	Name            string `json:"name"`
	Standard        bool   `json:"htcds"`
	QuasiIdentifier bool   `json:"quasi_identifier"`
	Description     string `json:"description"`
}

// ExportFields lists the export's fields in order.
var ExportFields = []ExportField{
	{FieldPeriod, false, true, "month (YYYY-MM) or, generalised, year (YYYY) in which the case was opened"},
	{FieldArea, false, true, "ISO 3166-2 code of the region where the person was met or, generalised, the ISO 3166-1 alpha-2 code of the country"},
	{FieldGender, true, true, "HTCDS picklist: Feminine, Masculine or NonSpecifiedUnknown (the NRM's 'other' and 'unknown')"},
	{FieldAgeBand, false, true, "age band at registration (CTDC bands, generalised to wider bands as needed)"},
	{FieldCitizenship, true, true, "ISO 3166-1 alpha-2 code"},
	{FieldStatus, true, false, "HTCDS picklist: ActualVictimOfTrafficking (positive conclusive decision), NotAVictimOfTrafficking (screening not indicated and not forwarded, or negative decision confirmed on review), else PossibleVictimOfTrafficking"},
	{FieldExploitation, true, false, "HTCDS multiselect picklist (forced criminality is Other)"},
	{FieldCaseStatus, true, false, "HTCDS picklist: Active, FollowUp, Closed, ClosedReferred (closed as transferred abroad)"},
	{FieldClosureReason, true, false, "closure reason code of the SOP"},
	{FieldLocation, true, true, "ISO 3166-1 alpha-2 codes of the countries where the person was exploited (TM alone: within the country)"},
	{FieldCountry, true, true, "ISO 3166-1 alpha-2 codes of the countries of the trafficking: those the person was moved through and those where they were exploited"},
}

// Record is one anonymised case of the export.
type Record struct {
	Period        string   `json:"nrm_RegistrationPeriod"`
	Area          string   `json:"nrm_RegistrationArea"`
	Gender        string   `json:"prs_Gender"`
	AgeBand       string   `json:"nrm_AgeBandAtRegistration"`
	Citizenship   []string `json:"prs_Citizenship"`
	Status        string   `json:"vic_TraffickingStatus"`
	Exploitation  []string `json:"vic_TypeOfExploitation"`
	CaseStatus    string   `json:"cas_Status"`
	ClosureReason string   `json:"cas_ReasonForCaseClosure"`
	// Location and Countries are vic_LocationOfExploitation and hte_Country
	// (exportcountries.go), withheld ([]) at the last step of the ladder.
	Location  []string `json:"vic_LocationOfExploitation"`
	Countries []string `json:"hte_Country"`
}

func (r Record) quasi() string {
	return r.Period + "\x00" + r.Area + "\x00" + r.Gender + "\x00" + r.AgeBand + "\x00" + strings.Join(r.Citizenship, ";") +
		"\x00" + strings.Join(r.Location, ";") + "\x00" + strings.Join(r.Countries, ";")
}

// QuasiIdentifiers are the export's fields an outsider may know of a
// person; every combination of them occurs at least K times. The other
// fields are what is published about the group.
var QuasiIdentifiers = []string{FieldPeriod, FieldArea, FieldGender, FieldAgeBand, FieldCitizenship, FieldLocation, FieldCountry}

// ExportQuery selects the cases of an export by opening time.
type ExportQuery struct {
	Period Period
	Region string
}

// Generalisation is a level of the export's generalisation ladder.
type Generalisation struct {
	Level int      `json:"level"`
	Steps []string `json:"steps"`
}

// HTCDSExport is the anonymised, k-anonymous export shaped by HTCDS 2.0.
type HTCDSExport struct {
	Standard         string            `json:"standard"`
	Attribution      string            `json:"attribution"`
	Period           PeriodJSON        `json:"period"`
	Filters          map[string]string `json:"filters"`
	K                int               `json:"k"`
	QuasiIdentifiers []string          `json:"quasi_identifiers"`
	Generalisation   Generalisation    `json:"generalisation"`
	// Cases is the number of cases opened in the period (and region): the
	// statistics' count of them, published only where the statistics
	// publish it (null otherwise), or this export would state a count the
	// statistics withhold. Suppressed is Cases minus the records, null
	// with it.
	Cases      Value         `json:"cases"`
	Suppressed Value         `json:"suppressed_records"`
	Fields     []ExportField `json:"fields"`
	Records    []Record      `json:"records"`
}

// ladder are the generalisation levels, finest first; each adds a step.
var ladder = []string{
	"",
	"registration month generalised to year",
	"region generalised to country",
	"age bands widened (0-17, 18-26, 27-38, 39+)",
	"age bands widened to child and adult (0-17, 18+)",
	stepCountries,
}

// DefaultRegionCodes are the ISO 3166-2 codes of Turkmenistan's regions.
var DefaultRegionCodes = map[string]string{
	"ashgabat": "TM-S", "ahal": "TM-A", "balkan": "TM-B", "dashoguz": "TM-D", "lebap": "TM-L", "mary": "TM-M",
}

// HTCDS builds the export of the cases opened in the period.
func (s *Service) HTCDS(ctx context.Context, q ExportQuery) (*HTCDSExport, error) {
	rows, err := s.Store.ExportRows(ctx, store.StatisticsFilter{From: q.Period.From, To: q.Period.To, Region: q.Region})
	if err != nil {
		return nil, err
	}
	country := s.Country
	if country == "" {
		country = "TM"
	}
	codes := s.RegionCodes
	if codes == nil {
		codes = DefaultRegionCodes
	}
	maxSup := s.MaxSuppressed
	if maxSup <= 0 {
		maxSup = DefaultMaxSuppressed
	}
	loc := q.Period.From.Location()
	base := make([]Record, len(rows))
	months := make([]string, len(rows))
	for i, r := range rows {
		base[i] = htcdsRecord(r, codes)
		months[i] = r.OpenedAt.In(loc).Format("2006-01")
	}
	out := &HTCDSExport{Standard: "HTCDS 2.0", Attribution: HTCDSAttribution, Period: q.Period.json(),
		Filters: map[string]string{"region": q.Region}, K: s.k(), QuasiIdentifiers: QuasiIdentifiers, Fields: ExportFields}
	out.Records, _, out.Generalisation = kAnonymise(base, months, country, s.k(), maxSup)
	opened, err := s.openedCount(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("htcds export: %w", err)
	}
	if opened.Valid && int(opened.V) == len(rows) {
		out.Cases = opened
		out.Suppressed = Value{V: float64(len(rows) - len(out.Records)), Valid: true}
	}
	return out, nil
}

// openedCount is the statistics' count of the cases opened in the period
// and region, as they publish it (invalid when they withhold it, or refuse
// to answer).
func (s *Service) openedCount(ctx context.Context, q ExportQuery) (Value, error) {
	rep, err := s.Statistics(ctx, StatisticsQuery{Period: q.Period, Region: q.Region})
	if isDisclosure(err) {
		return Value{}, nil
	}
	if err != nil {
		return Value{}, err
	}
	for _, t := range rep.Tables {
		if t.ID == "cases/region" {
			return t.Total.Get(t, "opened"), nil
		}
	}
	return Value{}, nil
}

func htcdsRecord(r store.ReportExportRow, codes map[string]string) Record {
	rec := Record{Area: r.Region, AgeBand: r.AgeBand, Citizenship: []string{strings.ToUpper(r.Citizenship)}}
	rec.Location, rec.Countries = exportCountries(r)
	if c, ok := codes[r.Region]; ok {
		rec.Area = c
	}
	switch r.Sex {
	case "female":
		rec.Gender = "Feminine"
	case "male":
		rec.Gender = "Masculine"
	default:
		rec.Gender = "NonSpecifiedUnknown"
	}
	switch {
	case r.ConclusivePositive:
		rec.Status = "ActualVictimOfTrafficking"
	case r.NegativeConfirmed, r.ScreeningOutcome == "not_indicated" && !r.OfficerConcern:
		rec.Status = "NotAVictimOfTrafficking"
	default:
		rec.Status = "PossibleVictimOfTrafficking"
	}
	seen := map[string]bool{}
	for _, e := range r.Exploitation {
		v := exploitationValue[e]
		if v == "" {
			v = "Other"
		}
		seen[v] = true
	}
	for _, v := range exploitationOrder {
		if seen[v] {
			rec.Exploitation = append(rec.Exploitation, v)
		}
	}
	if rec.Exploitation == nil {
		rec.Exploitation = []string{}
	}
	switch r.Stage {
	case "closed":
		rec.CaseStatus = "Closed"
		if r.ClosureReason == "transferred_abroad" {
			rec.CaseStatus = "ClosedReferred"
		}
		rec.ClosureReason = r.ClosureReason
	case "follow_up":
		rec.CaseStatus = "FollowUp"
		rec.ClosureReason = r.ClosureReason
	default:
		rec.CaseStatus = "Active"
	}
	return rec
}

// exploitationValue maps the NRM's types of exploitation to HTCDS 2.0's
// vic_TypeOfExploitation picklist.
var exploitationValue = map[string]string{
	"labour": "ForcedLabour", "sexual": "SexualExploitation", "domestic_servitude": "Servitude",
	"forced_begging": "ForcedBegging", "forced_criminality": "Other", "forced_marriage": "ForcedMarriage",
	"organ_removal": "OrganRemoval", "other": "Other",
}

// exploitationOrder is the picklist's order.
var exploitationOrder = []string{"ForcedLabour", "SexualExploitation", "ChildLabour", "ForcedMarriage", "Servitude",
	"ForcedMilitaryByNonStateActors", "OrganRemoval", "ForcedBegging", "ForcedAdoption", "Surrogacy", "Other"}

// generalise applies the steps of a level to a record.
func generalise(r Record, month, country string, level int) Record {
	r.Period = month
	if level >= 1 {
		r.Period = month[:4]
	}
	if level >= 2 {
		r.Area = country
	}
	if level >= 3 {
		r.AgeBand = widerBand(r.AgeBand, level)
	}
	if level >= 5 {
		r = withoutCountries(r)
	}
	return r
}

func widerBand(band string, level int) string {
	switch band {
	case "0-8", "9-17":
		return "0-17"
	case "unknown", "":
		return "unknown"
	}
	if level >= 4 {
		return "18+"
	}
	switch band {
	case "18-20", "21-23", "24-26":
		return "18-26"
	case "27-30", "31-38":
		return "27-38"
	}
	return "39+"
}

// kAnonymise generalises the records level by level until no more than
// maxSuppressed of them sit in a combination of quasi-identifiers shared by
// fewer than k records (or the ladder ends), then drops those records. It
// returns the records sorted by their fields (never in case order) and the
// number dropped.
func kAnonymise(base []Record, months []string, country string, k int, maxSuppressed float64) ([]Record, int, Generalisation) {
	var recs []Record
	var small map[string]bool
	level, last := 0, lastLevel(base)
	for ; level <= last; level++ {
		recs = make([]Record, len(base))
		for i := range base {
			recs[i] = generalise(base[i], months[i], country, level)
		}
		var dropped int
		small, dropped = smallClasses(recs, k)
		if float64(dropped) <= maxSuppressed*float64(len(recs)) || level == last {
			break
		}
	}
	kept := recs[:0]
	for _, r := range recs {
		if !small[r.quasi()] {
			kept = append(kept, r)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return recordKey(kept[i]) < recordKey(kept[j]) })
	g := Generalisation{Level: level, Steps: []string{}}
	for _, s := range ladder[1 : level+1] {
		g.Steps = append(g.Steps, s)
	}
	return slices.Clip(kept), len(recs) - len(kept), g
}

func smallClasses(recs []Record, k int) (map[string]bool, int) {
	n := map[string]int{}
	for _, r := range recs {
		n[r.quasi()]++
	}
	small := map[string]bool{}
	dropped := 0
	for q, c := range n {
		if c < k {
			small[q] = true
			dropped += c
		}
	}
	return small, dropped
}

func recordKey(r Record) string {
	return strings.Join([]string{r.quasi(), r.Status, strings.Join(r.Exploitation, ";"), r.CaseStatus, r.ClosureReason}, "\x00")
}

// WriteCSV writes the export as CSV: the attribution and the anonymisation
// as comment lines, then a header of HTCDS field names and one line per
// record (multiselect values joined with ";").
func (x *HTCDSExport) WriteCSV(w io.Writer) error {
	suppressed := "a withheld number of records suppressed"
	if x.Cases.Valid && x.Suppressed.Valid {
		suppressed = fmt.Sprintf("%s of %s records suppressed", x.Suppressed, x.Cases)
	}
	comments := []string{
		x.Attribution,
		fmt.Sprintf("Anonymised export of the cases opened %s to %s (%s): %d-anonymous over %s; generalisation level %d (%s); %s.",
			x.Period.From, x.Period.To, x.Period.TimeZone, x.K, strings.Join(x.QuasiIdentifiers, ", "), x.Generalisation.Level,
			strings.Join(append([]string{"none"}, x.Generalisation.Steps...)[min(1, len(x.Generalisation.Steps)):], "; "), suppressed),
	}
	if err := writeComments(w, comments); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	header := make([]string, len(ExportFields))
	for i, f := range ExportFields {
		header[i] = f.Name
	}
	if err := cw.Write(csvTexts(header)); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	// Every field is text from the case record (codes and picklist values
	// today, but a citizenship or closure reason is whatever was stored).
	for i, r := range x.Records {
		rec := csvTexts([]string{r.Period, r.Area, r.Gender, r.AgeBand, strings.Join(r.Citizenship, ";"), r.Status,
			strings.Join(r.Exploitation, ";"), r.CaseStatus, r.ClosureReason, strings.Join(r.Location, ";"), strings.Join(r.Countries, ";")})
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write CSV record %d: %w", i+1, err)
		}
	}
	cw.Flush()
	return cw.Error()
}
