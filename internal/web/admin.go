package web

import "github.com/gofiber/fiber/v2"

// mountAdmin adds this area's routes (to be built).
func (p *Pages) mountAdmin(r fiber.Router) {}
