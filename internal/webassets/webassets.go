// Package webassets serves files embedded in the binary for the hub's own pages (the GraphQL
// explorer, the API reference) at URLs that carry the hash of their content: a URL names one
// content forever, so browsers keep it for a year, and a new build's files are fetched at once.
package webassets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Asset is one file, read once at start.
type Asset struct {
	Body        []byte
	ContentType string
	Version     string // hex prefix of the body's sha256: pages link to name?v=Version
}

// NewAsset is body served as contentType.
func NewAsset(body []byte, contentType string) Asset {
	sum := sha256.Sum256(body)
	return Asset{Body: body, ContentType: contentType, Version: hex.EncodeToString(sum[:8])}
}

// Set is the assets served under one path prefix.
type Set struct {
	prefix string
	assets map[string]Asset
}

// Load reads files (asset name → path in fsys). A file missing from an embedded file system is
// a broken build, hence the panic.
func Load(fsys fs.FS, prefix string, files map[string]string) *Set {
	s := &Set{prefix: prefix, assets: make(map[string]Asset, len(files))}
	for name, file := range files {
		body, err := fs.ReadFile(fsys, file)
		if err != nil {
			panic("asset missing from the embedded files: " + err.Error())
		}
		s.assets[name] = NewAsset(body, ContentType(name))
	}
	return s
}

// Get is the asset name.
func (s *Set) Get(name string) (Asset, bool) {
	a, ok := s.assets[name]
	return a, ok
}

// URL is the URL a page uses for the asset name, with its version.
func (s *Set) URL(name string) string {
	a, ok := s.assets[name]
	if !ok {
		panic("unknown asset " + name)
	}
	return s.prefix + name + "?v=" + a.Version
}

// Page renders a page's HTML template, once at start: {{asset "name"}} is the URL of the
// asset name. A template that does not render is a broken build, hence the panic.
func (s *Set) Page(name, text string, data any) []byte {
	var buf bytes.Buffer
	t := template.Must(template.New(name).Funcs(template.FuncMap{"asset": s.URL}).Parse(text))
	if err := t.Execute(&buf, data); err != nil {
		panic(name + " page: " + err.Error())
	}
	return buf.Bytes()
}

// CheckSums checks the assets against the sha256 lines ("<hex> <asset name>") of the asset
// sums, as a vendoring script wrote them, and reports how many lines it checked.
func (s *Set) CheckSums(sums string) (int, error) {
	list, ok := s.assets[sums]
	if !ok {
		return 0, fmt.Errorf("no asset %s", sums)
	}
	var errs []error
	n := 0
	for line := range strings.Lines(string(list.Body)) {
		f := strings.Fields(line)
		if len(f) != 2 || len(f[0]) != 64 {
			continue
		}
		n++
		a, ok := s.assets[f[1]]
		if !ok {
			errs = append(errs, fmt.Errorf("%s is in %s but not served", f[1], sums))
			continue
		}
		if got := sha256.Sum256(a.Body); hex.EncodeToString(got[:]) != f[0] {
			errs = append(errs, fmt.Errorf("%s: sha256 %x, %s says %s", f[1], got, sums, f[0]))
		}
	}
	return n, errors.Join(errs...)
}

// ServeHTTP answers GET and HEAD of prefix+name (the full request path: mount the set without
// http.StripPrefix): cacheable for a year with the asset's current ?v=, revalidated with its
// ETag otherwise. Other methods are 405, other names 404.
func (s *Set) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(req.URL.Path, s.prefix)
	a, found := s.assets[name]
	if !ok || !found {
		http.NotFound(w, req)
		return
	}
	Serve(w, req, a, req.URL.Query().Get("v") == a.Version)
}

// Serve answers a: cacheable for a year if immutable, else revalidated with its ETag.
func Serve(w http.ResponseWriter, req *http.Request, a Asset, immutable bool) {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.Version+`"`)
	if immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// ServeContent answers If-None-Match (304), HEAD and ranges.
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(a.Body))
}

// ContentType is set explicitly rather than from the mime package, whose table can be changed
// by the host's /etc/mime.types.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json"
	default:
		return "text/plain; charset=utf-8"
	}
}
