package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/store"
	"github.com/nrm-tm/nrm/internal/testenv"
)

// A transfer moves the case row and the open obligations the old agency
// owned, in the transition's transaction, and repeats harmlessly.
func TestTransferMovesTheCaseAndItsOpenObligations(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, from := seedCase(t, st)
	to := &store.Agency{Name: "NGO " + uuid.NewString()[:8], Type: "ngo", Region: "ashgabat"}
	testenv.Must(t, st.CreateAgency(ctx, to))
	other := &store.Agency{Name: "Authority " + uuid.NewString()[:8], Type: "competent_authority", Region: "ashgabat"}
	testenv.Must(t, st.CreateAgency(ctx, other))
	now := time.Now().UTC().Truncate(time.Microsecond)
	obl := func(name, status string, owner uuid.UUID) store.Obligation {
		o := store.Obligation{ID: "case-" + c.ID.String() + "/" + name + "/1", CaseID: c.ID, Obligation: name, Kind: "deadline",
			SOPVersion: "2026.1", OwnerRole: "opening_agency", OwnerAgencyID: &owner, StartsAt: now, DueAt: now.Add(time.Hour), Status: status}
		if status == "met" {
			o.MetAt = &now
		}
		return o
	}
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: now, Obligations: []store.Obligation{
		obl("open_one", "pending", from.ID), obl("period", "running", from.ID), obl("kept", "met", from.ID), obl("authority", "pending", other.ID)}}))

	move := store.Transition{CaseID: c.ID, At: now.Add(time.Minute), Transfer: &store.CaseTransfer{FromAgencyID: from.ID, ToAgencyID: to.ID, Region: "ashgabat"},
		Events: []store.Event{{ID: "case-" + c.ID.String() + "/9", Seq: 9, CaseID: c.ID, Type: "case_transferred", At: now.Add(time.Minute),
			Data: json.RawMessage(`{"from_agency_id":"` + from.ID.String() + `"}`)}}}
	for range 2 { // an activity retried
		testenv.Must(t, st.RecordTransition(ctx, move))
	}
	if _, err := st.Case(ctx, store.CaseScope{AgencyID: from.ID}, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old agency still sees the case: %v", err)
	}
	got, err := st.Case(ctx, store.CaseScope{AgencyID: to.ID}, c.ID)
	testenv.Must(t, err)
	if got.AgencyID != to.ID || got.ServiceRegion == nil || *got.ServiceRegion != "ashgabat" || got.Region != "lebap" {
		t.Errorf("moved case: agency %s, service region %v, region %s", got.AgencyID, got.ServiceRegion, got.Region)
	}
	obs, err := st.Obligations(ctx, c.ID)
	testenv.Must(t, err)
	want := map[string]uuid.UUID{"open_one": to.ID, "period": to.ID, "kept": from.ID, "authority": other.ID}
	for _, o := range obs {
		if o.OwnerAgencyID == nil || *o.OwnerAgencyID != want[o.Obligation] {
			t.Errorf("%s (%s) owned by %v, want %s", o.Obligation, o.Status, o.OwnerAgencyID, want[o.Obligation])
		}
	}
	// A transfer without a region change keeps the region the case is served in.
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: now.Add(2 * time.Minute),
		Transfer: &store.CaseTransfer{FromAgencyID: to.ID, ToAgencyID: from.ID}}))
	got, err = st.Case(ctx, store.CaseScope{All: true}, c.ID)
	testenv.Must(t, err)
	if got.AgencyID != from.ID || got.ServiceRegion == nil || *got.ServiceRegion != "ashgabat" {
		t.Errorf("moved back: agency %s, service region %v", got.AgencyID, got.ServiceRegion)
	}
}

// A reopening clears the closure and keeps count; the re-trafficking flag,
// once set, stays. Both are counted for the statistics with the links.
func TestReopenAndLinks(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	c, _ := seedCase(t, st)
	now := time.Now().UTC().Truncate(time.Microsecond)
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: now, Stage: "closed", ClosureReason: "consent_withdrawn"}))
	reopened := func(n int, re bool, at time.Time) store.Transition {
		return store.Transition{CaseID: c.ID, At: at, Stage: "identification", Reopen: &store.CaseReopen{Count: n, ReTrafficked: re},
			Events: []store.Event{{ID: "case-" + c.ID.String() + "/r" + strconv.Itoa(n), Seq: 20 + n, CaseID: c.ID, Type: "case_reopened", At: at,
				Data: json.RawMessage(`{"reason":"` + map[bool]string{true: "re_trafficked", false: "new_information"}[re] + `"}`)}}}
	}
	for range 2 {
		testenv.Must(t, st.RecordTransition(ctx, reopened(1, true, now.Add(time.Minute))))
	}
	got, err := st.Case(ctx, store.CaseScope{All: true}, c.ID)
	testenv.Must(t, err)
	if got.Stage != "identification" || got.ClosedAt != nil || got.ClosureReason != nil || got.ReopenedCount != 1 || !got.ReTrafficked {
		t.Errorf("reopened: %+v", got)
	}
	testenv.Must(t, st.RecordTransition(ctx, store.Transition{CaseID: c.ID, At: now.Add(2 * time.Minute), Stage: "closed", ClosureReason: "lost_contact"}))
	testenv.Must(t, st.RecordTransition(ctx, reopened(2, false, now.Add(3*time.Minute))))
	got, err = st.Case(ctx, store.CaseScope{All: true}, c.ID)
	testenv.Must(t, err)
	if got.ReopenedCount != 2 || !got.ReTrafficked || got.ClosedAt != nil {
		t.Errorf("reopened again: count %d, re-trafficked %v, closed %v", got.ReopenedCount, got.ReTrafficked, got.ClosedAt)
	}

	// Links: one per pair, either way round; events on both cases.
	later, _ := seedCase(t, st)
	l := store.CaseLink{CaseID: later.ID, EarlierCaseID: c.ID, ReTrafficked: true, LinkedBy: later.CreatedBy, LinkedAt: now.Add(4 * time.Minute)}
	testenv.Must(t, st.LinkCases(ctx, l))
	if err := st.LinkCases(ctx, l); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the same link twice: %v, want ErrConflict", err)
	}
	rev := store.CaseLink{CaseID: c.ID, EarlierCaseID: later.ID, LinkedBy: later.CreatedBy, LinkedAt: now}
	if err := st.LinkCases(ctx, rev); !errors.Is(err, store.ErrConflict) {
		t.Errorf("the link the other way round: %v, want ErrConflict", err)
	}
	for id, key := range map[uuid.UUID]string{later.ID: "earlier_case_id", c.ID: "later_case_id"} {
		events, err := st.Timeline(ctx, id)
		testenv.Must(t, err)
		n := 0
		for _, e := range events {
			var data map[string]string
			testenv.Must(t, json.Unmarshal(e.Data, &data))
			if e.Type == store.EventCaseLinked && data[key] != "" && data["re_trafficked"] == "true" && e.ActorID != nil {
				n++
			}
		}
		if n != 1 {
			t.Errorf("case %s has %d case_linked events naming %s, want 1", id, n, key)
		}
	}
	got, err = st.Case(ctx, store.CaseScope{All: true}, later.ID)
	testenv.Must(t, err)
	if !got.ReTrafficked {
		t.Errorf("the later case is not flagged")
	}

	// The statistics' re-trafficking: the first reopening and the link, not
	// the reopening for new information nor the earlier case's side of the link.
	rt, err := st.ReTraffickingIn(ctx, now, now.Add(time.Hour))
	testenv.Must(t, err)
	kinds := map[string]int{}
	for _, r := range rt {
		kinds[r.Kind]++
		if r.Region != "lebap" {
			t.Errorf("re-trafficking in region %q", r.Region)
		}
	}
	if len(rt) != 2 || kinds["reopened"] != 1 || kinds["linked"] != 1 {
		t.Errorf("re-trafficking %+v, want one reopening and one link", rt)
	}
	if rt, err := st.ReTraffickingIn(ctx, now.Add(time.Hour), now.Add(2*time.Hour)); err != nil || len(rt) != 0 {
		t.Errorf("another period: %+v, %v", rt, err)
	}
}
