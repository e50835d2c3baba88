package web

import "github.com/gofiber/fiber/v2"

// mountTWG adds this area's routes (to be built).
func (p *Pages) mountTWG(r fiber.Router) {}
