// Package ui is the HTML interface: server-rendered pages over the same use
// cases and views as the JSON API. Pages only read; every change a page offers
// is a call of the JSON API from the page's script.
package ui

import (
	"html/template"
	"io/fs"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"quire/app/http/api"
	"quire/app/http/deps"
)

// Pages are the page handlers.
type Pages struct {
	*deps.Deps
	api   *api.Handlers // the JSON API's reads, which pages show too
	pages *pages
}

// New parses the templates of web.
func New(d *deps.Deps, a *api.Handlers, web fs.FS) (*Pages, error) {
	p, err := loadPages(web)
	if err != nil {
		return nil, err
	}
	if d.Billing != nil { // pages ask billingOn to show the Billing link
		on := template.FuncMap{"billingOn": func() bool { return true }}
		for _, t := range p.sets {
			t.Funcs(on)
		}
	}
	return &Pages{Deps: d, api: a, pages: p}, nil
}

// Static serves the files under /static: fingerprinted URLs (the ones the
// templates link) with a long cache, then any file with a short one.
func (s *Pages) Static(web fs.FS) (fingerprinted, plain fiber.Handler) {
	static, _ := fs.Sub(web, "static")
	return s.pages.assets.serve, filesystem.New(filesystem.Config{Root: http.FS(static), MaxAge: plainMaxAge})
}
