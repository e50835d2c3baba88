// Package sop reads, validates and applies the standard operating procedures
// (SOPs) of a national referral mechanism: the versioned YAML files under
// sop/ that the Technical Working Group edits (docs/sop-format.md; how the
// workflows apply them: docs/process.md).
//
// Parse and LoadFile validate one file strictly and report every problem with
// its file and line; LoadPath and Set handle a folder of versions; Score
// applies the screening rule; Calendar.Deadline turns the SOP's durations into
// instants; Diff compares two versions.
package sop

import (
	"slices"
	"time"
)

// Events is the vocabulary of obligation start and met conditions
// (docs/sop-format.md#events), in that order.
var Events = []string{
	"case_opened",
	"screening_submitted",
	"consent_given",
	"consent_declined",
	"consent_withdrawn",
	"guardian_appointed",
	"preliminary_positive",
	"preliminary_negative",
	"negative_review_confirmed",
	"negative_review_overturned",
	"recovery_extended",
	"conclusive_positive",
	"conclusive_negative",
	"referral_sent",
	"referral_accepted",
	"referral_declined",
	"referral_redirected",
	"referral_completed",
	"referral_withdrawn",
	"closure_requested",
	"closure_approved",
	"closure_rejected",
	"follow_up_done",
	"case_closed",
	"obligation_met",
	"obligation_breached",
}

// IsEvent reports whether s is one of Events.
func IsEvent(s string) bool { return slices.Contains(Events, s) }

// Screening outcomes.
const (
	OutcomePresumedVictim = "presumed_victim"
	OutcomeNotIndicated   = "not_indicated"
)

// Screening tracks.
const (
	TrackAdult = "adult"
	TrackChild = "child"
)

// Indicator strengths, strongest first.
const (
	StrengthStrong = "strong"
	StrengthMedium = "medium"
	StrengthWeak   = "weak"
)

// Strengths lists the indicator strengths, strongest first.
var Strengths = []string{StrengthStrong, StrengthMedium, StrengthWeak}

// Obligation kinds.
const (
	KindDeadline  = "deadline"  // something must happen before the due time
	KindProtected = "protected" // a period during which something must not happen
)

// Obligation conditions (Obligation.When); "" applies to every case.
const (
	WhenChild = "child"
	WhenAdult = "adult"
)

// OwnerRoles are the agency roles that can own an obligation.
var OwnerRoles = []string{"opening_agency", "competent_authority", "service_provider", "supervisor", "child_protection"}

// EscalationRoles are the roles an obligation can be escalated to when missed.
var EscalationRoles = []string{"supervisor", "twg", "opening_agency", "competent_authority"}

// AgencyRoles are the roles that role_agencies maps to agencies: every owner
// and escalation role.
var AgencyRoles = []string{"opening_agency", "supervisor", "competent_authority", "service_provider", "child_protection", "twg"}

// CaseAgency, as the agency of a role in role_agencies, is the agency that
// opened the case; any other value is an agency type of the directory.
const CaseAgency = "case_agency"

// DefaultAgencyFor is the agency of a role in a file without role_agencies
// (and for a role it leaves out): the case's own agency for opening_agency
// and supervisor, else the agency type named like the role.
func DefaultAgencyFor(role string) string {
	if role == "opening_agency" || role == "supervisor" {
		return CaseAgency
	}
	return role
}

// Defaults of the referral policy for files without the keys (those written
// before version 2026.2 of the Turkmen SOP): what the engine hard-coded then.
var (
	// DefaultDeclineReasons: decline_reasons.
	DefaultDeclineReasons = []string{"no_capacity", "service_not_available", "outside_area", "language", "eligibility", "conflict_of_interest", "other"}
	// DefaultCompletionOutcomes: completion_outcomes.
	DefaultCompletionOutcomes = []string{"service_provided", "partially_provided", "person_left", "not_needed", "other"}
	// DefaultAttachmentKinds: attachment_kinds, the kinds of file a case's
	// attachments may be (added with attachments, issue 15: the files of
	// earlier versions lack the key, and so keep their hashes).
	DefaultAttachmentKinds = []string{"identity_document", "medical_report", "decision_letter", "other"}
)

// DefaultBedService counts beds in a file where no service says beds: the
// service of this ID, if the file has one.
const DefaultBedService = "shelter"

// MaxExtension is the longest extension of the recovery period the engine
// accepts in one command (the API's bound too), and the default of
// max_extension.
var MaxExtension = Duration{N: 365, Unit: Days}

// ForbiddableEvents are the events a protected period may forbid (forbids):
// those of commands the engine can refuse while the period runs. Withdrawing
// consent, the person's own request, is never forbidden.
var ForbiddableEvents = []string{"conclusive_positive", "conclusive_negative", "closure_requested"}

// Languages are the languages every label of an SOP must have.
var Languages = []string{"en", "ru", "tk"}

// Text is a label in several languages: language code -> text.
type Text map[string]string

// In returns the text in lang, or in English when lang is missing.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t["en"]
}

// Dimension is a screening dimension.
type Dimension struct {
	ID    string
	Label Text
}

// Indicator is a trafficking indicator of the screening catalogue.
type Indicator struct {
	ID, Dimension, Strength string // Strength: strong|medium|weak
	Label                   Text
}

// Service is a kind of assistance that cases are referred to.
type Service struct {
	ID          string
	Urgent      bool       // may be referred from screening on
	Beds        bool       // accepting a referral holds one of the provider's beds
	ResponseDue Duration   // a provider must accept or decline a referral within it
	Remind      []Duration // reminders to the provider, measured from the referral
	Label       Text
}

// Obligation is a deadline (or a protected period) of the SOP that the
// workflow keeps with a durable timer.
type Obligation struct {
	ID    string
	Label Text
	When  string // "" (all cases), "child" or "adult"
	// Kind is "deadline" (MetBy must happen before Due) or "protected" (a
	// period of Duration from StartsOn during which something must not
	// happen, e.g. the recovery and reflection period).
	Kind       string
	Owner      string   // an OwnerRoles entry; optional for protected periods
	StartsOn   string   // the event that starts it
	MetBy      []string // events that meet it (deadline kind)
	Due        Duration // measured from StartsOn (deadline kind)
	Remind     []Duration
	EscalateTo []string // EscalationRoles entries
	Duration   Duration // protected kind only
	// Forbids lists the ForbiddableEvents that must not happen while a
	// protected period runs (protected kind only).
	Forbids []string
	// MaxExtension bounds one extension of the recovery period, in days
	// (the recovery period only; zero when the file does not set it).
	MaxExtension Duration
}

// ForbidsEvent reports whether the protected period forbids event.
func (o Obligation) ForbidsEvent(event string) bool { return slices.Contains(o.Forbids, event) }

// Applies reports whether the obligation applies to a case of that track.
func (o Obligation) Applies(child bool) bool {
	switch o.When {
	case WhenChild:
		return child
	case WhenAdult:
		return !child
	}
	return true
}

// IsMetBy reports whether event meets the obligation.
func (o Obligation) IsMetBy(event string) bool { return slices.Contains(o.MetBy, event) }

// Rule is one way a dimension can be positive: minimum counts of observed
// indicators by strength, all of which must hold, e.g. {"strong":1,"medium":1}.
type Rule map[string]int

// Screening is the SOP's screening rule.
type Screening struct {
	DimensionPositive []Rule // a dimension is positive when any rule holds
	// PresumedVictim per track: every group (AND) must have a positive
	// dimension among its dimensions (OR).
	PresumedVictim struct{ Adult, Child [][]string }
}

// SOP is one validated version of a standard operating procedure.
type SOP struct {
	ID, Version    string
	Title          Text
	EffectiveFrom  time.Time // midnight in the calendar's time zone
	Calendar       Calendar
	ChildAgeUnder  int
	Dimensions     []Dimension
	Indicators     []Indicator
	Screening      Screening
	Services       []Service
	Obligations    []Obligation
	ClosureReasons []string
	// DeclineReasons a provider may give when it declines a referral, and
	// CompletionOutcomes it may complete one with (defaults:
	// DefaultDeclineReasons, DefaultCompletionOutcomes).
	DeclineReasons     []string
	CompletionOutcomes []string
	// AttachmentKinds are the kinds a file attached to a case may be
	// (attachment_kinds; default DefaultAttachmentKinds).
	AttachmentKinds []string
	// BedService is the service whose accepted referrals hold a bed of the
	// provider: the one with beds: true, else DefaultBedService if the file
	// has it and sets beds on no service; "" when no service counts beds.
	BedService string
	// RoleAgencies maps every AgencyRoles entry to CaseAgency or an agency
	// type (role_agencies, completed with DefaultAgencyFor).
	RoleAgencies map[string]string
	// PriorityCountries are the countries the screening form offers first
	// for where a person was exploited or moved through (ISO 3166-1
	// alpha-2, priority_countries; none when the file has no such key).
	PriorityCountries []string
	// RecoveryMinimum is derived: the Duration of the protected obligation
	// that starts on preliminary_positive (the recovery and reflection period).
	RecoveryMinimum Duration
	// RecoveryMaxExtensionDays is derived: the recovery period's
	// max_extension in days (default MaxExtension).
	RecoveryMaxExtensionDays int
	IdentityRetention        Duration // identity data is destroyed this long after closure
	// Reopening maps every ReopenReasons entry to the stage a case reopened
	// for it starts from (reopening, completed with DefaultReopening).
	Reopening map[string]string
	Hash      string // hex SHA-256 of the file's bytes
	File      string

	versionLine int
}

// Indicator returns the indicator with that ID.
func (s *SOP) Indicator(id string) (Indicator, bool) {
	for _, x := range s.Indicators {
		if x.ID == id {
			return x, true
		}
	}
	return Indicator{}, false
}

// Service returns the service with that ID.
func (s *SOP) Service(id string) (Service, bool) {
	for _, x := range s.Services {
		if x.ID == id {
			return x, true
		}
	}
	return Service{}, false
}

// Obligation returns the obligation with that ID.
func (s *SOP) Obligation(id string) (Obligation, bool) {
	for _, x := range s.Obligations {
		if x.ID == id {
			return x, true
		}
	}
	return Obligation{}, false
}

// Dimension returns the dimension with that ID.
func (s *SOP) Dimension(id string) (Dimension, bool) {
	for _, x := range s.Dimensions {
		if x.ID == id {
			return x, true
		}
	}
	return Dimension{}, false
}

// IsClosureReason reports whether reason is one of the SOP's closure reasons.
func (s *SOP) IsClosureReason(reason string) bool { return slices.Contains(s.ClosureReasons, reason) }

// IsDeclineReason reports whether a provider may decline a referral with reason.
func (s *SOP) IsDeclineReason(reason string) bool { return slices.Contains(s.DeclineReasons, reason) }

// IsCompletionOutcome reports whether a provider may complete a referral with outcome.
func (s *SOP) IsCompletionOutcome(outcome string) bool {
	return slices.Contains(s.CompletionOutcomes, outcome)
}

// AgencyFor returns the agency that answers for role in a case: CaseAgency
// or an agency type.
func (s *SOP) AgencyFor(role string) string {
	if a, ok := s.RoleAgencies[role]; ok {
		return a
	}
	return DefaultAgencyFor(role)
}

// FollowUp returns the deadline of the follow-up check after closure: the
// obligation that closure_approved starts and follow_up_done meets.
func (s *SOP) FollowUp() (Obligation, bool) {
	for _, o := range s.Obligations {
		if o.Kind == KindDeadline && o.StartsOn == "closure_approved" && o.IsMetBy("follow_up_done") {
			return o, true
		}
	}
	return Obligation{}, false
}

// ObligationsOn returns, in file order, the obligations that event starts
// for a case of that track.
func (s *SOP) ObligationsOn(event string, child bool) []Obligation {
	var out []Obligation
	for _, o := range s.Obligations {
		if o.StartsOn == event && o.Applies(child) {
			out = append(out, o)
		}
	}
	return out
}

// IsChildAge reports whether a person of that age (in whole years) takes the
// child track. A negative age is treated as a child's (the protective default).
func (s *SOP) IsChildAge(age int) bool { return age < s.ChildAgeUnder }
