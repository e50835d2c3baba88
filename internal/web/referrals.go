package web

import "github.com/gofiber/fiber/v2"

// mountReferrals adds this area's routes (to be built).
func (p *Pages) mountReferrals(r fiber.Router) {}
