package web

import "github.com/gofiber/fiber/v2"

// mountDecisions adds this area's routes (to be built).
func (p *Pages) mountDecisions(r fiber.Router) {}
