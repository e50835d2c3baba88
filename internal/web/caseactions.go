package web

import "github.com/gofiber/fiber/v2"

// mountCaseActions adds this area's routes (to be built).
func (p *Pages) mountCaseActions(r fiber.Router) {}
