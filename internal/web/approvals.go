package web

import "github.com/gofiber/fiber/v2"

// mountApprovals adds this area's routes (to be built).
func (p *Pages) mountApprovals(r fiber.Router) {}
