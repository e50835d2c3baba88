package web

import "github.com/gofiber/fiber/v2"

// mountAccount adds this area's routes (to be built).
func (p *Pages) mountAccount(r fiber.Router) {}
