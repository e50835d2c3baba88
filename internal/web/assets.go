package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The UI's files are embedded in the binary and served under names that
// carry a hash of their content ("app.3f2a9c1b.css"): a browser may keep
// them for a year, and a new release changes the name of what it changed.
// Nothing comes from a CDN; vendored files keep their licence and version
// beside them (static/vendor/*/LICENSE, VERSION).
//
//go:embed static
var staticFiles embed.FS

type asset struct {
	body        []byte
	contentType string
}

// assets maps each file to its hashed URL and back.
type assets struct {
	byURL  map[string]asset
	urlOf  map[string]string // "app.css" → "/static/app.3f2a9c1b.css"
	prefix string
}

func loadAssets() (*assets, error) {
	a := &assets{byURL: map[string]asset{}, urlOf: map[string]string{}, prefix: "/static/"}
	err := fs.WalkDir(staticFiles, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		if ext != ".css" && ext != ".js" && ext != ".svg" && ext != ".png" {
			return nil // licences and version notes are kept, not served
		}
		body, err := fs.ReadFile(staticFiles, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "static/")
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		url := a.prefix + hashed
		a.urlOf[name] = url
		a.byURL[url] = asset{body: body, contentType: mime.TypeByExtension(ext)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	return a, nil
}

// url is the hashed URL of an embedded file; templates call it as asset.
func (a *assets) url(name string) (string, error) {
	u, ok := a.urlOf[name]
	if !ok {
		return "", fmt.Errorf("no asset %q", name)
	}
	return u, nil
}

// serve answers a hashed URL with the file, cacheable for a year.
func (a *assets) serve(c *fiber.Ctx) error {
	f, ok := a.byURL[c.Path()]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderContentType, f.contentType)
	return c.Send(f.body)
}
