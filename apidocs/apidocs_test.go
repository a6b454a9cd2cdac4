package apidocs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"github.com/apphub/apphub/internal/webassets"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/apphub/apphub/tmfrest"
)

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, http.MethodGet, target, nil)
}

var attrRE = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)

// TestPage: the page comes with its CSP, loads only versioned local assets, runs no inline
// script and holds no absolute URL.
func TestPage(t *testing.T) {
	rec := get(t, Handler(), Path)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-cache",
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	body := rec.Body.String()
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//fonts.") {
		t.Errorf("the page holds an absolute URL:\n%s", body)
	}

	scripts := map[string]bool{}
	for _, m := range attrRE.FindAllStringSubmatch(body, -1) {
		u := m[1]
		switch {
		case u == "data:,", u == SpecPath:
		case strings.HasPrefix(u, AssetsPath):
			name, v, ok := strings.Cut(strings.TrimPrefix(u, AssetsPath), "?v=")
			a, found := assets.Get(name)
			if !ok || !found || v != a.Version {
				t.Errorf("%s: not a current versioned asset URL", u)
			}
			scripts[name] = true
		default:
			t.Errorf("the page links %q", u)
		}
	}
	if !scripts["redoc.standalone.js"] || !scripts["apidocs.js"] {
		t.Errorf("the page loads %v, want redoc.standalone.js and apidocs.js", scripts)
	}
	if n, m := strings.Count(body, "<script"), strings.Count(body, `<script src="`+AssetsPath); n != m || n != 2 {
		t.Errorf("%d <script> elements, %d of them files from %s: want 2 files, no inline script", n, m, AssetsPath)
	}
	if strings.Count(body, `"></script>`) != 2 {
		t.Errorf("a <script> element has a body:\n%s", body)
	}
	if !strings.Contains(body, `data-spec-url="`+SpecPath+`"`) {
		t.Errorf("the page does not give apidocs.js the swagger's URL")
	}

	// HEAD: the headers, no body.
	rec = do(t, Handler(), http.MethodHead, Path, nil)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("HEAD: status = %d, %d bytes, CSP %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Security-Policy"))
	}
}

// TestCSP: scripts and requests from this server only, never inline or eval'd; Redoc's
// injected styles, data: icons and blob: search worker allowed; nothing else.
func TestCSP(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(CSP, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"connect-src":     "'self'",
		"style-src":       "'self' 'unsafe-inline'",
		"img-src":         "'self' data:",
		"font-src":        "'self' data:",
		"worker-src":      "blob:",
		"frame-ancestors": "'none'",
		"base-uri":        "'none'",
	} {
		if got := directives[name]; got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if strings.Contains(CSP, "http") || strings.Contains(CSP, "*") || strings.Contains(CSP, "unsafe-eval") {
		t.Errorf("CSP allows too much: %s", CSP)
	}
}

// TestScriptHasNoURL: our own script takes the swagger's URL from the page and sets every font
// family Redoc's theme has to system fonts, so the page names no web font.
func TestScriptHasNoURL(t *testing.T) {
	js := string(asset(t, "apidocs.js").Body)
	if strings.Contains(js, "http://") || strings.Contains(js, "https://") || strings.Contains(js, "//fonts.") {
		t.Fatalf("apidocs.js holds a URL:\n%s", js)
	}
	for _, want := range []string{"Redoc.init(", "root.dataset.specUrl", "headings: { fontFamily: sans }", "code: { fontFamily: mono }", "fontFamily: sans,"} {
		if !strings.Contains(js, want) {
			t.Errorf("apidocs.js lacks %q", want)
		}
	}
	for _, font := range []string{"Roboto", "Montserrat"} { // Redoc's defaults
		if strings.Contains(js, font) {
			t.Errorf("apidocs.js names %s", font)
		}
	}
}

// TestBundleExternalRequests inventories what the vendored bundle itself would fetch from
// elsewhere: no web fonts, and one image (the "API docs by Redocly" logo, which no option
// removes) that the CSP's img-src blocks. The bundle's other absolute URLs are links, JSON
// Schema $ids, error-message links and sample values, never requested. Update this test with the
// README when Redoc changes.
func TestBundleExternalRequests(t *testing.T) {
	js := string(asset(t, "redoc.standalone.js").Body)
	for _, s := range []string{"fonts.googleapis.com", "fonts.gstatic.com", "@font-face", "@import", "cdn.jsdelivr.net", "unpkg.com"} {
		if strings.Contains(js, s) {
			t.Errorf("the bundle holds %q", s)
		}
	}
	// Resources the bundle loads by URL: src attributes, CSS url()s, fetches and scripts.
	requested := regexp.MustCompile(`(?:src:|url\(|fetch\(|importScripts\()\s*["'\x60]?(https?:)?//[^"'\x60)\s]+`)
	found := requested.FindAllString(js, -1)
	if len(found) != 1 || !strings.Contains(found[0], "https://cdn.redoc.ly/redoc/logo-mini.svg") {
		t.Fatalf("the bundle loads %q; want only the Redocly logo, which the CSP blocks", found)
	}
	if strings.Contains(CSP, "cdn.redoc.ly") || !strings.Contains(CSP, "img-src 'self' data:;") {
		t.Errorf("the CSP would let the Redocly logo load: %s", CSP)
	}
	// The search index runs in a worker built from a blob: URL, hence worker-src blob:.
	if !strings.Contains(js, "new Worker(URL.createObjectURL(new Blob(") {
		t.Errorf("the bundle no longer builds its search worker from a blob: revisit worker-src")
	}
}

func TestSwagger(t *testing.T) {
	h := Handler()
	rec := get(t, h, SpecPath)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache (the URL is not versioned)", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), tmfrest.SwaggerJSON()) {
		t.Errorf("served swagger differs from tmfrest's embedded one")
	}
	var doc struct {
		Swagger  string `json:"swagger"`
		BasePath string `json:"basePath"`
		Info     struct{ Version string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("swagger.json: %v", err)
	}
	if doc.Swagger != "2.0" || doc.BasePath != "/tmf-api/appointment/v4/" || doc.Info.Version != "4.0.0" {
		t.Errorf("swagger %q, basePath %q, version %q", doc.Swagger, doc.BasePath, doc.Info.Version)
	}

	etag := rec.Header().Get("ETag")
	if rec = do(t, h, http.MethodGet, SpecPath, http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status = %d, want 304", etag, rec.Code)
	}
}

func TestAssets(t *testing.T) {
	h := Handler()
	want := map[string]string{
		"apidocs.js":                      "text/javascript; charset=utf-8",
		"redoc.standalone.js":             "text/javascript; charset=utf-8",
		"redoc.standalone.js.LICENSE.txt": "text/plain; charset=utf-8",
		"LICENSE.redoc":                   "text/plain; charset=utf-8",
		"VERSIONS":                        "text/plain; charset=utf-8",
	}
	if len(assetFiles) != len(want) {
		t.Errorf("%d assets, want %d", len(assetFiles), len(want))
	}
	for name, contentType := range want {
		a, _ := assets.Get(name)
		rec := get(t, h, assets.URL(name))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status = %d", name, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != contentType {
			t.Errorf("%s: Content-Type = %q, want %q", name, got, contentType)
		}
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s?v=current: Cache-Control = %q", name, got)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", name, got)
		}
		if !bytes.Equal(rec.Body.Bytes(), a.Body) {
			t.Errorf("%s: served body differs from the embedded file", name)
		}

		for _, target := range []string{AssetsPath + name, AssetsPath + name + "?v=stale"} {
			if got := get(t, h, target).Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("%s: Cache-Control = %q, want no-cache", target, got)
			}
		}
		etag := `"` + a.Version + `"`
		if rec := do(t, h, http.MethodGet, AssetsPath+name+"?v=stale", http.Header{"If-None-Match": {etag}}); rec.Code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match with the current ETag: status = %d, want 304", name, rec.Code)
		}
	}
}

func TestErrors(t *testing.T) {
	h := Handler()
	for _, target := range []string{
		AssetsPath + "nothing.js",
		AssetsPath,
		AssetsPath + "../apidocs.go",
		AssetsPath + "vendor/redoc.standalone.js",
		Path + "/assets",
		Path + "/swagger.yaml",
		Path + "/index.html",
		Path + "x",
		"/elsewhere/redoc.standalone.js",
	} {
		if rec := get(t, h, target); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", target, rec.Code)
		}
	}
	if rec := get(t, h, Path+"/"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != Path {
		t.Errorf("GET %s/: status = %d, Location %q; want a redirect to %s", Path, rec.Code, rec.Header().Get("Location"), Path)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, target := range []string{Path, SpecPath, assets.URL("apidocs.js"), Path + "/nothing"} {
			rec := do(t, h, method, target, nil)
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status = %d, Allow = %q", method, target, rec.Code, rec.Header().Get("Allow"))
			}
		}
	}
}

// TestMounted: mounted as Handler's comment says, on a ServeMux beside a catch-all.
func TestMounted(t *testing.T) {
	mux := http.NewServeMux()
	h := Handler()
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for target, want := range map[string]int{
		Path:                      http.StatusOK,
		SpecPath:                  http.StatusOK,
		assets.URL("apidocs.js"):  http.StatusOK,
		Path + "/":                http.StatusMovedPermanently,
		Path + "/nothing":         http.StatusNotFound,
		"/docs/":                  http.StatusTeapot,
		"/docs/tmf646-and-more/x": http.StatusTeapot,
	} {
		if rec := get(t, mux, target); rec.Code != want {
			t.Errorf("GET %s: status = %d, want %d", target, rec.Code, want)
		}
	}
}

// TestVendoredFilesMatchVERSIONS: the embedded files are the ones scripts/vendor-redoc.sh
// recorded, byte for byte.
func TestVendoredFilesMatchVERSIONS(t *testing.T) {
	packages, version := 0, ""
	sc := bufio.NewScanner(bytes.NewReader(asset(t, "VERSIONS").Body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "redoc":
			packages++
			version = f[1]
			if f[2] != "MIT" || !strings.HasPrefix(f[3], "sha512-") {
				t.Errorf("VERSIONS: %q", sc.Text())
			}
		}
	}
	if packages != 1 {
		t.Errorf("want 1 redoc line in VERSIONS, got %d", packages)
	}
	n, err := assets.CheckSums("VERSIONS")
	if err != nil {
		t.Error(err)
	}
	if n != 3 {
		t.Fatalf("want 3 sha256 lines in VERSIONS, got %d", n)
	}
	// The bundle is the version VERSIONS names.
	if !bytes.Contains(asset(t, "redoc.standalone.js.LICENSE.txt").Body, []byte(`Version: "`+version+`"`)) {
		t.Errorf("the bundle's notices do not name Redoc %s", version)
	}
}

// asset is the embedded asset name.
func asset(t *testing.T, name string) webassets.Asset {
	t.Helper()
	a, ok := assets.Get(name)
	if !ok {
		t.Fatalf("no asset %s", name)
	}
	return a
}
