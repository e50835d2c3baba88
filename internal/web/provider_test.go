package web

import "github.com/nrm-tm/nrm/internal/sop"

// markProviderCodes marks the messages the providers' pages build from
// codes (referrals.go, provider_referral.go): the SOP's decline reasons and
// completion outcomes, and the languages the catalogue names.
func markProviderCodes(used map[string]bool) {
	for prefix, codes := range map[string][]string{"provider.reason.": sop.DefaultDeclineReasons,
		"provider.outcome.": sop.DefaultCompletionOutcomes, "provider.lang.": labelledLanguages} {
		for _, c := range codes {
			used[prefix+c] = true
		}
	}
}
