package web

import "github.com/gofiber/fiber/v2"

// mountAudit adds this area's routes (to be built).
func (p *Pages) mountAudit(r fiber.Router) {}
