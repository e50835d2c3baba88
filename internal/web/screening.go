package web

import "github.com/gofiber/fiber/v2"

// mountScreening adds this area's routes (to be built).
func (p *Pages) mountScreening(r fiber.Router) {}
