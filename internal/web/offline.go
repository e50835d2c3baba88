package web

import "github.com/gofiber/fiber/v2"

// mountOffline adds this area's routes (to be built).
func (p *Pages) mountOffline(r fiber.Router) {}
