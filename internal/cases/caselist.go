package cases

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/store"
)

// Paged lists: GET /api/v1/cases (filters and search) and a provider's
// inbox, a page at a time after a cursor (store.Cursor).

// MaxPage is the largest page of a paged list.
const MaxPage = 500

// ListRequest is a page of the case list: the filter (its Limit the page
// size, 1–MaxPage) and what the user typed to search, if anything.
type ListRequest struct {
	Filter store.CaseFilter
	// Q finds cases by number (exact or prefix, any letter case) and, for
	// roles that may read identity, by the person's exact document number,
	// phone or full name through the blind indexes.
	Q string
}

// CasePage is a page of a case list; More when another page follows its
// last case.
type CasePage struct {
	Cases []store.Case
	More  bool
}

// caseNumberLike is what a case number or the start of one looks like once
// upper-cased: the prefix, a dash, the year, a dash, the sequence.
var caseNumberLike = regexp.MustCompile(`^[A-Z0-9]+(-[0-9]*){0,2}$`)

// Search answers a page of the cases the caller may see, newest opened
// first. A search by identity is audited (case.search, with the kinds of
// blind index looked up, never the value typed) before it runs.
func (s *Service) Search(ctx context.Context, p auth.Principal, req ListRequest, ri RequestInfo) (*CasePage, error) {
	if !canReadCases(p) {
		return nil, ErrForbidden
	}
	f := req.Filter
	scope := auth.CaseScope(p)
	if f.AgencyID != nil && !scope.All && *f.AgencyID != scope.AgencyID {
		return nil, &ValidationError{Errors: []FieldError{{Field: "agency_id", Rule: "scope",
			Message: "your role sees only its own agency's cases"}}}
	}
	if f.Limit < 1 || f.Limit > MaxPage {
		f.Limit = 100
	}
	size := f.Limit
	f.Limit++ // one more tells whether a next page exists
	f.Now = s.now()
	if q := strings.TrimSpace(req.Q); q != "" {
		search := &store.CaseSearch{}
		number := strings.ToUpper(strings.Join(strings.Fields(q), ""))
		if caseNumberLike.MatchString(number) {
			search.Number = number
		}
		// A case number (the prefix and a dash) is looked up as one only.
		if auth.SeesIdentity(p) && !strings.HasPrefix(number, s.Prefix+"-") {
			query, err := s.Vault.SearchQuery(q)
			if err != nil {
				return nil, err
			}
			if len(query.Kinds) > 0 {
				entry := store.AuditEntry{At: s.now().UTC(), UserID: p.UserID, Role: string(p.Role), AgencyID: p.AgencyID,
					Action: "case.search", Fields: store.Strings(query.Kinds), RequestID: ri.RequestID, ClientRequestID: ri.ClientRequestID}
				if err := s.Store.Audit(ctx, entry); err != nil {
					return nil, fmt.Errorf("search cases: %w", err)
				}
				search.Digests = query.Digests
			}
		}
		f.Search = search
	}
	list, err := s.Store.Cases(ctx, scope, f)
	if err != nil {
		return nil, err
	}
	page := &CasePage{Cases: list}
	if len(list) > size {
		page.Cases, page.More = list[:size], true
	}
	return page, nil
}

// ReferralPage is a page of a provider's inbox; More when another page
// follows its last referral.
type ReferralPage struct {
	Referrals []store.Referral
	More      bool
}

// InboxPage answers a page of the referrals addressed to the caller's
// agency, newest sent first: of one status unless status is empty, after
// the cursor when it is not nil, up to limit (1–MaxPage).
func (s *Service) InboxPage(ctx context.Context, p auth.Principal, status string, after *store.Cursor, limit int) (*ReferralPage, error) {
	if !p.Is(auth.Provider) {
		return nil, ErrForbidden
	}
	if limit < 1 || limit > MaxPage {
		limit = 100
	}
	list, err := s.Store.AgencyReferralsPage(ctx, p.AgencyID, status, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &ReferralPage{Referrals: list}
	if len(list) > limit {
		page.Referrals, page.More = list[:limit], true
	}
	return page, nil
}
