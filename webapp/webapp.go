// Package webapp serves the channel web app (the customer app at /, the agent console at
// /console), built from web/ into dist and embedded in the binary, so that the hub serves it
// with no Node.js and nothing fetched from elsewhere. See web/README.md for how it is built.
package webapp

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed dist
var dist embed.FS

// pages are the paths that are the app's own pages: each is index.html, and the app routes on
// the path.
func page(p string) bool {
	return p == "/" || p == "/console" || strings.HasPrefix(p, "/console/") || strings.HasPrefix(p, "/appointment/")
}

// csp lets the app load only what the hub serves and talk only to the hub (its GraphQL API and
// websocket): no request leaves for another origin.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the app, mounted at "/" (every method: the mux does not let a GET-only "/"
// stand beside the APIs' method-less prefixes): its pages (index.html, not cached, so that a new build is picked
// up), and its assets under /assets/ (named by their content's hash: cached for good). Any other
// path is 404.
func Handler() http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("webapp: dist/index.html is missing from the embedded build: " + err.Error())
	}
	assets := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Referrer-Policy", "no-referrer")
		p := path.Clean(r.URL.Path)
		switch {
		case page(p):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(index)
		case strings.HasPrefix(p, "/assets/") && exists(files, p[1:]):
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			assets.ServeHTTP(w, r)
		case p != "/index.html" && exists(files, p[1:]):
			w.Header().Set("Cache-Control", "no-cache")
			assets.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

func exists(files fs.FS, name string) bool {
	fi, err := fs.Stat(files, name)
	return err == nil && !fi.IsDir()
}
