package notify

import (
	"testing"

	"github.com/google/uuid"
)

// A notification's link leads where its recipient can follow it: a
// provider never sees a case, so to its referral inbox.
func TestLinkFollowsTheRecipient(t *testing.T) {
	id := uuid.MustParse("6f1c2a3e-0000-4000-8000-000000000001")
	if got := Link("https://nrm.example/", id, "frontline"); got != "https://nrm.example/cases/"+id.String() {
		t.Errorf("officer's link %q", got)
	}
	if got := Link("https://nrm.example", id, "provider"); got != "https://nrm.example/referrals" {
		t.Errorf("provider's link %q, want the inbox", got)
	}
}
