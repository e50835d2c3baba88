package web

import "github.com/gofiber/fiber/v2"

// mountNotifications adds this area's routes (to be built).
func (p *Pages) mountNotifications(r fiber.Router) {}
