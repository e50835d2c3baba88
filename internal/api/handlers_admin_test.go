package api

import (
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/notify"
)

// The administration services' refusals that the routes answer with the
// service's own words are in the problem catalogue (locales/*.yaml); the
// routes' literal texts are checked by TestProblemTextsAreInTheCatalogue.
func TestAdministrationServiceErrorsAreTranslated(t *testing.T) {
	for _, lang := range []string{"ru", "tk"} {
		loc := i18n.NewLocalizer(problemMessages.bundle, lang)
		for _, err := range []error{directory.ErrAgencyNameTaken, notify.ErrNotDead, notify.ErrDuplicateChannel} {
			if m := err.Error(); problemMessages.translate(loc, m) == m {
				t.Errorf("%s: %q is not in locales/*.yaml", lang, m)
			}
		}
	}
}
