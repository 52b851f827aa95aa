// Package console is the gateway's web console: a static single-page application (HTML, CSS and
// vanilla JavaScript modules, no build step) embedded in the binary and served at "/" with its
// assets under [Prefix].
//
// The page signs in with the org's API key (kept in the browser's sessionStorage) and uses only
// what any client of the gateway may use: the REST API under /v1, its OpenAPI document (to tell
// which routes this gateway serves), the live stream /v1/stream (Server-Sent Events with
// ?access_token=, since EventSource cannot set headers), and the price watcher's REST API through
// the same-origin reverse proxy of [NewWatcherProxy]. It has no server-side state and no
// privileges of its own.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path under which the console's assets are served.
const Prefix = "/console/"

//go:embed static
var static embed.FS

// Config describes the gateway the console runs on; both fields are shown on the page and
// used by its scripts (which actions to offer: an owner's, a requester's, the Regulator's).
type Config struct {
	// Org is the gateway's org: "org1", "org2", "org3" or "regulator".
	Org string
	// MSPID is the org's MSP ID, e.g. "Org1MSP".
	MSPID string
}

// Static returns the embedded files (index.html, console.css, favicon.svg, js/*.js) as they are
// in the source tree, before the page's placeholders are filled.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// asset is one file ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the console: GET or HEAD "/" (and "/index.html") is the page, Prefix+name an
// asset. Everything else is 404. Responses carry a strong ETag (revalidated on every load:
// Cache-Control no-cache) and a Content-Security-Policy that allows only same-origin scripts,
// styles and connections.
type Handler struct {
	files map[string]asset // by request path
}

// New builds the handler from the embedded files.
func New(cfg Config) (*Handler, error) {
	h := &Handler{files: map[string]asset{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if name == "index.html" {
			body = bytes.ReplaceAll(body, []byte("{{ORG}}"), []byte(html.EscapeString(cfg.Org)))
			body = bytes.ReplaceAll(body, []byte("{{MSPID}}"), []byte(html.EscapeString(cfg.MSPID)))
			h.files["/"] = newAsset(name, body)
			h.files["/index.html"] = h.files["/"]
			return nil
		}
		h.files[Prefix+name] = newAsset(name, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if _, ok := h.files["/"]; !ok {
		return nil, fmt.Errorf("console: index.html is not embedded")
	}
	return h, nil
}

func newAsset(name string, body []byte) asset {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // not every system's MIME table knows these
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".html":
		ctype = "text/html; charset=utf-8"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// csp allows the page to load only its own scripts, styles and images and to connect only to
// its own origin (the REST API, the stream and the watcher proxy).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(a.ctype, "text/html") {
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
