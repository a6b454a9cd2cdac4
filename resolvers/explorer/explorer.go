// Package explorer is the GraphQL explorer (GraphiQL), served by the binary itself so that it
// works with no internet access: the GraphQL handler answers the page on /graphql to browsers
// (Wants, ServePage), and Assets serves the scripts and styles it loads under AssetsPath. See
// README.md beside this file for what is vendored and how to update it.
package explorer

import (
	"embed"
	"net/http"
	"strings"

	"github.com/apphub/apphub/internal/webassets"
)

// AssetsPath is where Assets expects to be mounted (the page links there).
const AssetsPath = "/graphql/assets/"

// endpoint is where the page's fetcher sends its operations.
const endpoint = "/graphql"

//go:embed explorer.js vendor
var files embed.FS

// assetFiles lists what Assets serves: asset name → embedded file. The
// licences ship with the code they cover.
var assetFiles = map[string]string{
	"explorer.js":                 "explorer.js",
	"graphiql.min.js":             "vendor/graphiql.min.js",
	"graphiql.min.css":            "vendor/graphiql.min.css",
	"react.production.min.js":     "vendor/react.production.min.js",
	"react-dom.production.min.js": "vendor/react-dom.production.min.js",
	"graphql-ws.min.js":           "vendor/graphql-ws.min.js",
	"LICENSE.graphiql":            "vendor/LICENSE.graphiql",
	"LICENSE.react":               "vendor/LICENSE.react",
	"LICENSE.react-dom":           "vendor/LICENSE.react-dom",
	"LICENSE.graphql-ws":          "vendor/LICENSE.graphql-ws",
	"VERSIONS":                    "vendor/VERSIONS",
}

var assets = webassets.Load(files, AssetsPath, assetFiles)

// The page holds no absolute URL: everything comes from this server (the empty data: icon
// spares the browser a request for /favicon.ico). The scripts are files, not inline, so that
// the Content-Security-Policy can forbid inline scripts.
const pageHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>apphub GraphQL explorer</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{asset "graphiql.min.css"}}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
<div id="graphiql" data-endpoint="{{.Endpoint}}">Loading the GraphQL explorer…</div>
<script src="{{asset "react.production.min.js"}}"></script>
<script src="{{asset "react-dom.production.min.js"}}"></script>
<script src="{{asset "graphiql.min.js"}}"></script>
<script src="{{asset "graphql-ws.min.js"}}"></script>
<script src="{{asset "explorer.js"}}"></script>
</body>
</html>
`

var page = assets.Page("explorer", pageHTML, struct{ Endpoint string }{endpoint})

// CSP keeps the page to this server: scripts and styles from here only (GraphiQL sets
// inline styles, hence 'unsafe-inline' for styles; its fonts and icons are data: URLs),
// requests to this server only, and no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Wants reports whether req is a browser opening /graphql: a GET that accepts HTML
// and carries no query. A GET with a query is a GraphQL operation, whatever it accepts.
func Wants(req *http.Request) bool {
	return req.Method == http.MethodGet &&
		!req.URL.Query().Has("query") &&
		strings.Contains(strings.Join(req.Header.Values("Accept"), ","), "text/html")
}

// ServePage answers the explorer page. It is never cached, so that a new release's
// asset URLs are picked up at once.
func ServePage(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(page)
}

// Assets serves the explorer's scripts, styles and licences under AssetsPath (it expects the
// full request path, so mount it without http.StripPrefix). A URL with the asset's current ?v=
// is cacheable for a year; any other revalidates with the ETag.
func Assets() http.Handler { return assets }
