package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Cache lifetimes of static files. A fingerprinted URL names one content for
// ever, so browsers may keep it a year without asking; the plain name (for
// links from outside the templates) changes content on upgrade, so it is
// cached briefly.
const (
	immutableCache = "public, max-age=31536000, immutable"
	plainMaxAge    = 300 // seconds
)

// assets are the embedded static files under fingerprinted names: templates
// link {{asset "app.js"}}, which is /static/app.<first 8 hex of its SHA-256>.js,
// so an upgrade changes the URL of every file whose content changed and no
// browser keeps running old scripts against a new server.
type assets struct {
	urls  map[string]string // "app.js" → "/static/app.1a2b3c4d.js"
	files map[string]asset  // "app.1a2b3c4d.js" → its content
}

type asset struct {
	name string // the plain name, whose extension gives the Content-Type
	body []byte
}

// loadAssets hashes every file of static once, at start.
func loadAssets(static fs.FS) (*assets, error) {
	a := &assets{urls: map[string]string{}, files: map[string]asset{}}
	err := fs.WalkDir(static, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		hashed := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		a.urls[p] = "/static/" + hashed
		a.files[hashed] = asset{name: p, body: body}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web static files: %w", err)
	}
	return a, nil
}

// url is the template function asset: an unknown name fails the page's
// rendering rather than linking a file that does not exist.
func (a *assets) url(name string) (string, error) {
	u, ok := a.urls[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return u, nil
}

// serve answers GET and HEAD of a fingerprinted URL from memory with the
// immutable cache; every other /static request goes on to the plain files.
func (a *assets) serve(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return c.Next()
	}
	f, ok := a.files[strings.TrimPrefix(c.Path(), "/static/")]
	if !ok {
		return c.Next()
	}
	c.Set(fiber.HeaderCacheControl, immutableCache)
	c.Type(strings.TrimPrefix(path.Ext(f.name), "."))
	return c.Send(f.body)
}
