package web

import "github.com/gofiber/fiber/v2"

// mountCaseList adds this area's routes (to be built).
func (p *Pages) mountCaseList(r fiber.Router) {}
