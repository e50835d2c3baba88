package cases

import (
	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/sop"
)

// Catalogue returns an SOP version for any signed-in user (the web UI and
// other clients label indicators, services and deadlines from it); ""
// names the version in force now. An unknown version is ErrNotFound. The
// SOP holds no personal data.
func (s *Service) Catalogue(p auth.Principal, version string) (*sop.SOP, bool, error) {
	if p.Role == "" {
		return nil, false, ErrForbidden
	}
	active, err := s.SOPs.Active(s.now())
	if err != nil {
		return nil, false, err
	}
	if version == "" {
		return active, true, nil
	}
	v, ok := s.SOPs.Get(version)
	if !ok {
		return nil, false, ErrNotFound
	}
	return v, v == active, nil
}
