// Package apidocs serves the TMF646 Appointment Management API reference: the official swagger
// that tmfrest implements, rendered by Redoc, all from the hub binary itself so that it works with
// no internet access (no CDN, no web fonts). Handler answers everything under Path. See README.md
// beside this file for what is vendored and how to update it.
package apidocs

import (
	"bytes"
	"embed"
	"net/http"
	"strings"
	"time"

	"github.com/apphub/apphub/internal/webassets"
	"github.com/apphub/apphub/tmfrest"
)

// Path is the page; Handler serves it and everything below it (SpecPath, AssetsPath).
const Path = "/docs/tmf646"

// SpecPath is the official TMF646 swagger (Swagger 2.0), which the page renders.
const SpecPath = Path + "/swagger.json"

// AssetsPath is where the page's scripts and the licences are served, each URL carrying the
// file's content hash (?v=).
const AssetsPath = Path + "/assets/"

//go:embed apidocs.js vendor
var files embed.FS

// assetFiles lists the assets: asset name → embedded file. The licences ship with the code
// they cover.
var assetFiles = map[string]string{
	"apidocs.js":                      "apidocs.js",
	"redoc.standalone.js":             "vendor/redoc.standalone.js",
	"redoc.standalone.js.LICENSE.txt": "vendor/redoc.standalone.js.LICENSE.txt",
	"LICENSE.redoc":                   "vendor/LICENSE.redoc",
	"VERSIONS":                        "vendor/VERSIONS",
}

var assets = webassets.Load(files, AssetsPath, assetFiles)

// spec is the swagger, served at SpecPath as TM Forum published it.
var spec = webassets.NewAsset(tmfrest.SwaggerJSON(), "application/json")

// The page holds no absolute URL: everything comes from this server (the empty data: icon
// spares the browser a request for /favicon.ico). The scripts are files, not inline, so that
// the Content-Security-Policy can forbid inline scripts; apidocs.js reads the swagger's URL
// from data-spec-url.
const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TMF646 Appointment Management API v4.0.0 · apphub</title>
<link rel="icon" href="data:,">
<style>body { margin: 0; }</style>
</head>
<body>
<noscript><p>The API reference needs JavaScript. The swagger itself is at <a href="{{.Spec}}">{{.Spec}}</a>.</p></noscript>
<div id="redoc" data-spec-url="{{.Spec}}">Loading the TMF646 API reference…</div>
<script src="{{asset "redoc.standalone.js"}}"></script>
<script src="{{asset "apidocs.js"}}"></script>
</body>
</html>
`

var page = assets.Page("apidocs", pageHTML, struct{ Spec string }{SpecPath})

// CSP keeps the page to this server: scripts from here only, never inline; styles from here and
// inline (Redoc, through styled-components, injects its styles as <style> elements); images and
// fonts from here or data: URLs (Redoc's icons are data: SVGs); requests (the swagger) to this
// server only; and the search index runs in a worker Redoc builds from a blob: URL. Redoc's
// sidebar footer holds an <img> of https://cdn.redoc.ly/redoc/logo-mini.svg that no option
// removes: img-src blocks it before any request, and Redoc then drops the image (onError).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// specCSP is the swagger's: a JSON document opened in a browser runs and loads nothing.
const specCSP = "default-src 'none'; frame-ancestors 'none'"

// Handler serves the API reference: GET (or HEAD) Path answers the page, SpecPath the swagger
// and AssetsPath+name the page's scripts and the licences; other paths below Path are 404, other
// methods 405. It expects the full request path, so mount it without http.StripPrefix, on both
// Path and Path+"/" (e.g. mux.Handle(apidocs.Path, h); mux.Handle(apidocs.Path+"/", h)).
//
// The page is never cached, so that a new release's asset URLs are picked up at once; an asset
// URL with the asset's current ?v= is cacheable for a year; the swagger and any other asset URL
// revalidate with their ETag.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		switch p := req.URL.Path; {
		case p == Path:
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", CSP)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(page))
		case p == Path+"/":
			http.Redirect(w, req, Path, http.StatusMovedPermanently)
		case p == SpecPath:
			h.Set("Content-Security-Policy", specCSP)
			webassets.Serve(w, req, spec, false)
		case strings.HasPrefix(p, AssetsPath):
			assets.ServeHTTP(w, req)
		default:
			http.NotFound(w, req)
		}
	})
}
