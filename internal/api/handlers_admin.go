package api

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/nrm-tm/nrm/internal/auth"
	"github.com/nrm-tm/nrm/internal/cases"
	"github.com/nrm-tm/nrm/internal/directory"
	"github.com/nrm-tm/nrm/internal/store"
)

// agencyRequest creates or changes an agency of the directory.
type agencyRequest struct {
	Name      string   `json:"name" validate:"required,max=200"`
	Type      string   `json:"type" validate:"required,oneof=law_enforcement ngo competent_authority legal_service health social_service child_protection international_organisation twg administration other"`
	Region    string   `json:"region" validate:"required,max=64"`
	Regions   []string `json:"regions" validate:"max=50,dive,required,max=64"`
	National  bool     `json:"national"`
	Services  []string `json:"services" validate:"max=50,dive,required,max=64"`
	Languages []string `json:"languages" validate:"max=20,dive,min=2,max=3,lowercase,alpha"`
	Beds      int      `json:"beds" validate:"min=0,max=100000"`
}

type agencyPatch struct {
	Services  *[]string `json:"services" validate:"omitempty,max=50,dive,required,max=64"`
	Regions   *[]string `json:"regions" validate:"omitempty,max=50,dive,required,max=64"`
	Languages *[]string `json:"languages" validate:"omitempty,max=20,dive,min=2,max=3,lowercase,alpha"`
	Beds      *int      `json:"beds" validate:"omitempty,min=0,max=100000"`
}

// validRegions checks an agency's regions against the configured ones
// (NRM_REGIONS), as decode checks the other fields' vocabularies: one error
// per unknown region, all in one answer.
func (s *Server) validRegions(regions ...string) error {
	out := &cases.ValidationError{}
	for i, r := range regions {
		if !slices.Contains(s.deps.Cases.Regions, r) {
			out.Errors = append(out.Errors, cases.FieldError{Field: "regions", Rule: "oneof",
				Message: "region " + regions[i] + " is not one of: " + strings.Join(s.deps.Cases.Regions, ", ")})
		}
	}
	if len(out.Errors) > 0 {
		return out
	}
	return nil
}

// admin is the directory's service for the administration routes; it
// audits every change it makes.
func (s *Server) admin() *directory.Admin {
	return &directory.Admin{Directory: s.deps.Directory, Log: s.log}
}

// adminRequest identifies the request in the audit rows of directory.Admin.
func adminRequest(c *fiber.Ctx) directory.RequestInfo {
	return directory.RequestInfo{RequestID: requestID(c), ClientRequestID: clientRequestID(c)}
}

func (s *Server) listAgencies(c *fiber.Ctx) error {
	list, err := s.admin().Agencies(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"agencies": list})
}

func (s *Server) createAgency(c *fiber.Ctx) error {
	var req agencyRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.validRegions(append([]string{req.Region}, req.Regions...)...); err != nil {
		return err
	}
	created, err := s.admin().CreateAgency(c.UserContext(), signedInUser(c), adminRequest(c), directory.NewAgency{Name: req.Name,
		Type: req.Type, Region: req.Region, Regions: req.Regions, National: req.National, Services: req.Services,
		Languages: req.Languages, Beds: req.Beds})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(created)
}

func (s *Server) patchAgency(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return store.ErrNotFound
	}
	var req agencyPatch
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Regions != nil {
		if err := s.validRegions(*req.Regions...); err != nil {
			return err
		}
	}
	a, err := s.admin().UpdateAgency(c.UserContext(), signedInUser(c), adminRequest(c), id, store.AgencyChange{Services: req.Services,
		Regions: req.Regions, Languages: req.Languages, Beds: req.Beds})
	if err != nil {
		return err
	}
	return c.JSON(a)
}

type userRequest struct {
	Email    string `json:"email" validate:"required,max=254"`
	Name     string `json:"name" validate:"required,max=200"`
	Role     string `json:"role" validate:"required,oneof=frontline competent_authority supervisor provider twg admin"`
	AgencyID string `json:"agency_id" validate:"required,uuid"`
	Password string `json:"password" validate:"required,min=12,max=256"`
}

type userOut struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	AgencyID string `json:"agency_id"`
	Active   bool   `json:"active"`
}

func userOutOf(u *store.User) userOut {
	return userOut{ID: u.ID.String(), Email: u.Email, Name: u.Name, Role: u.Role, AgencyID: u.AgencyID.String(), Active: u.Active}
}

func (s *Server) listUsers(c *fiber.Ctx) error {
	list, err := s.admin().Users(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]userOut, 0, len(list))
	for i := range list {
		out = append(out, userOutOf(&list[i]))
	}
	return c.JSON(fiber.Map{"users": out})
}

func (s *Server) createUser(c *fiber.Ctx) error {
	var req userRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	u, err := s.admin().CreateUser(c.UserContext(), signedInUser(c), adminRequest(c), directory.NewUser{Email: req.Email,
		Name: req.Name, Password: req.Password, Role: auth.Role(req.Role), AgencyID: uuid.MustParse(req.AgencyID)})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(userOutOf(u))
}

// deactivateUser disables an account; its sessions end at once.
func (s *Server) deactivateUser(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return store.ErrNotFound
	}
	if err := s.admin().DeactivateUser(c.UserContext(), signedInUser(c), adminRequest(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
