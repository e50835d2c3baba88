package sop

import (
	"slices"
	"strings"
	"testing"
)

// attachment_kinds is optional: a file without it — every version written
// before attachments existed, whose content and hash stay as they were —
// takes DefaultAttachmentKinds; a file may list its own; the list is
// checked like the other code lists.
func TestAttachmentKinds(t *testing.T) {
	base := readFile(t, "testdata/minimal.yaml")
	def, err := Parse("minimal.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(def.AttachmentKinds, DefaultAttachmentKinds) ||
		!slices.Equal(DefaultAttachmentKinds, []string{"identity_document", "medical_report", "decision_letter", "other"}) {
		t.Errorf("without the key: %v, want the defaults", def.AttachmentKinds)
	}
	own, err := Parse("own.yaml", []byte(strings.Replace(base, "follow_up_after:", "attachment_kinds: [passport, court_order]\nfollow_up_after:", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(own.AttachmentKinds, []string{"passport", "court_order"}) {
		t.Errorf("listed: %v", own.AttachmentKinds)
	}
	changes := map[string]string{}
	for _, c := range Diff(def, own) {
		if c.Section == "attachment_kind" {
			changes[c.ID] = c.Kind()
		}
	}
	if changes["passport"] != "added" || changes["identity_document"] != "removed" || len(changes) != 6 {
		t.Errorf("attachment kinds in the diff: %v", changes)
	}
	for _, bad := range []string{"attachment_kinds: [Passport]", "attachment_kinds: []", "attachment_kinds: [other, other]", "attachment_kinds: other"} {
		if _, err := Parse("bad.yaml", []byte(strings.Replace(base, "follow_up_after:", bad+"\nfollow_up_after:", 1))); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	// The published versions keep their content, so their pinned hashes hold.
	set, err := LoadPath("../../sop")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range set.All() {
		if !slices.Equal(s.AttachmentKinds, DefaultAttachmentKinds) {
			t.Errorf("%s: attachment kinds %v, want the defaults", s.Version, s.AttachmentKinds)
		}
	}
}
