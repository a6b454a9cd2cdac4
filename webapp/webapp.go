// Package webapp serves the channel web app (the customer app at /, the agent console at
// /console), built from web/ into dist and embedded in the binary, so that the hub serves it
// with no Node.js and nothing fetched from elsewhere. See web/README.md for how it is built.
package webapp

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

//go:embed dist
var dist embed.FS

// CallbackPath is where the identity provider sends the browser back after a sign-in: the
// redirect URI to register for the app's client, on the hub's public URL.
const CallbackPath = "/signin/callback"

// pages are the paths that are the app's own pages: each is index.html, and the app routes on
// the path.
func page(p string) bool {
	return p == "/" || p == "/console" || strings.HasPrefix(p, "/console/") || strings.HasPrefix(p, "/appointment/") || p == CallbackPath
}

// How the app signs people in.
const (
	SignInDemo = "demo" // the hub's demo sign-in (local-key mode): POST /demo/sign-in
	SignInOIDC = "oidc" // the identity provider's: authorization code with PKCE, in the browser
	SignInNone = "none" // none: an identity provider is configured, but no client for the app
)

// Config is what the app learns from the hub at start (GET /config.json).
type Config struct {
	SignIn string      `json:"signIn"`
	OIDC   *OIDCConfig `json:"oidc,omitempty"`
}

// OIDCConfig is the app's public client at the identity provider.
type OIDCConfig struct {
	Authority string `json:"authority"` // the issuer, where the provider's metadata is found
	ClientID  string `json:"clientId"`
	Scope     string `json:"scope"`
}

// csp lets the app load only what the hub serves and talk only to the hub (its GraphQL API and
// websocket) and, when it signs in there, to the identity provider (its metadata and token
// endpoint): no other request leaves.
func csp(cfg Config) string {
	connect := "'self'"
	if cfg.OIDC != nil {
		if u, err := url.Parse(cfg.OIDC.Authority); err == nil && u.Scheme != "" && u.Host != "" {
			connect += " " + u.Scheme + "://" + u.Host
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
		"connect-src " + connect + "; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}

// Handler serves the app, mounted at "/" (every method: the mux does not let a GET-only "/"
// stand beside the APIs' method-less prefixes): its pages (index.html, not cached, so that a new build is picked
// up), its configuration (/config.json), and its assets under /assets/ (named by their
// content's hash: cached for good). Any other path is 404, whatever the method; a method
// other than GET and HEAD on the app's own paths is 405.
func Handler(cfg Config) http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("webapp: dist/index.html is missing from the embedded build: " + err.Error())
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	policy := csp(cfg)
	assets := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean(r.URL.Path)
		known := page(p) || p == "/config.json" || (p != "/index.html" && exists(files, p[1:]))
		if !known {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Security-Policy", policy)
		w.Header().Set("Referrer-Policy", "no-referrer")
		switch {
		case page(p):
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(index)
		case p == "/config.json":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-cache")
			w.Write(config)
		case strings.HasPrefix(p, "/assets/"):
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			assets.ServeHTTP(w, r)
		default:
			w.Header().Set("Cache-Control", "no-cache")
			assets.ServeHTTP(w, r)
		}
	})
}

func exists(files fs.FS, name string) bool {
	fi, err := fs.Stat(files, name)
	return err == nil && !fi.IsDir()
}
