// Package api is the JSON API under /api: one handler per route, each parsing
// its input, calling one use case and returning its view (views.go). Who may
// call a route is decided before the handler by the route table's access level
// (package http); what the handler gets is in package request.
package api

import "quire/app/http/deps"

// Handlers are the JSON API's handlers.
type Handlers struct {
	*deps.Deps
}
