package resolvers

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// newTestMux mounts the handlers as cmd/apphub does.
func newTestMux(t *testing.T) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/graphql", newTestHandler(t, fakeService{}, Options{}))
	mux.Handle("GET /graphql/assets/", ExplorerAssets())
	return mux
}

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A browser's Accept header for a page.
var browserAccept = http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}

func TestExplorerPage(t *testing.T) {
	mux := newTestMux(t)
	rec := get(t, mux, "/graphql", browserAccept)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	for header, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-cache",
		"Content-Security-Policy": explorerCSP,
		"Vary":                    "Accept",
	} {
		if got := rec.Header().Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	page := rec.Body.String()
	if !strings.Contains(page, `id="graphiql" data-endpoint="/graphql"`) {
		t.Errorf("the page does not point its fetcher at /graphql:\n%s", page)
	}
	// No URL may leave this server: the explorer must work with no internet access.
	for _, scheme := range []string{"http://", "https://", `src="//`, `href="//`} {
		if strings.Contains(page, scheme) {
			t.Errorf("the page holds an external URL (%q):\n%s", scheme, page)
		}
	}

	// Every script and stylesheet the page loads is served from ExplorerAssetsPath, with its
	// type, cacheable; the only other reference is the empty data: icon.
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	served := 0
	for _, ref := range refs {
		u := strings.ReplaceAll(ref[1], "&amp;", "&")
		if u == "data:," {
			continue
		}
		if !strings.HasPrefix(u, ExplorerAssetsPath) {
			t.Errorf("asset %q is not under %s", u, ExplorerAssetsPath)
			continue
		}
		served++
		rec := get(t, mux, u, nil)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("GET %s: status %d, %d bytes", u, rec.Code, rec.Body.Len())
			continue
		}
		wantType := "text/javascript; charset=utf-8"
		if strings.Contains(u, ".css") {
			wantType = "text/css; charset=utf-8"
		}
		if got := rec.Header().Get("Content-Type"); got != wantType {
			t.Errorf("GET %s: Content-Type = %q, want %q", u, got, wantType)
		}
		if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control = %q, want immutable for a versioned URL", u, got)
		}
	}
	if served != 5 {
		t.Errorf("want 4 scripts and 1 stylesheet in the page, got %d: %v", served, refs)
	}
}

// TestExplorerScriptHasNoURL: our own script takes the endpoint from the page.
func TestExplorerScriptHasNoURL(t *testing.T) {
	js := string(explorerAssets["explorer.js"].body)
	if strings.Contains(js, "http://") || strings.Contains(js, "https://") {
		t.Fatalf("explorer.js holds a URL:\n%s", js)
	}
}

// TestExplorerOnlyForBrowsers: the page is answered only to a GET that accepts HTML and
// carries no query; everything else is GraphQL.
func TestExplorerOnlyForBrowsers(t *testing.T) {
	mux := newTestMux(t)

	rec := get(t, mux, "/graphql?query="+url.QueryEscape("{ __typename }"), browserAccept)
	if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET with a query answered the page")
	}
	if resp := decode(t, rec); string(resp.Data) != `{"__typename":"Query"}` {
		t.Fatalf("GET with a query: %s", rec.Body.String())
	}

	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", browserAccept.Get("Accept"))
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if resp := decode(t, rec); string(resp.Data) != `{"__typename":"Query"}` {
		t.Fatalf("POST accepting HTML: %s", rec.Body.String())
	}

	rec = get(t, mux, "/graphql", http.Header{"Accept": {"application/json"}})
	if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		t.Fatalf("GET accepting JSON answered the page")
	}
}

func TestExplorerAssetCaching(t *testing.T) {
	h := ExplorerAssets()
	asset := explorerAssets["graphiql.min.js"]

	rec := get(t, h, ExplorerAssetsPath+"graphiql.min.js", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("unversioned URL: Cache-Control = %q, want no-cache", got)
	}
	etag := rec.Header().Get("ETag")
	if etag != `"`+asset.version+`"` {
		t.Errorf("ETag = %q", etag)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), asset.body) {
		t.Errorf("served body differs from the embedded file")
	}

	rec = get(t, h, ExplorerAssetsPath+"graphiql.min.js?v=stale", http.Header{"If-None-Match": {etag}})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: status = %d, want 304", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("stale version: Cache-Control = %q, want no-cache", got)
	}
}

func TestExplorerAssetErrors(t *testing.T) {
	h := ExplorerAssets()
	for _, target := range []string{
		ExplorerAssetsPath + "nothing.js",
		ExplorerAssetsPath,
		ExplorerAssetsPath + "../explorer.go",
		"/elsewhere/graphiql.min.js",
	} {
		if rec := get(t, h, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", target, rec.Code)
		}
	}

	req := httptest.NewRequest(http.MethodPost, ExplorerAssetsPath+"explorer.js", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status = %d, Allow = %q", rec.Code, rec.Header().Get("Allow"))
	}

	req = httptest.NewRequest(http.MethodHead, ExplorerAssetsPath+"explorer.js", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status = %d, %d bytes of body", rec.Code, rec.Body.Len())
	}
}

// TestVendoredFilesMatchVERSIONS: the embedded files are the ones scripts/vendor-graphiql.sh
// recorded, byte for byte.
func TestVendoredFilesMatchVERSIONS(t *testing.T) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(explorerAssets["VERSIONS"].body))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && len(f[0]) == 64 {
			sums[f[1]] = f[0]
		}
	}
	if len(sums) != 4 {
		t.Fatalf("want 4 sha256 lines in VERSIONS, got %v", sums)
	}
	for name, want := range sums {
		asset, ok := explorerAssets[name]
		if !ok {
			t.Errorf("%s is in VERSIONS but not served", name)
			continue
		}
		sum := sha256.Sum256(asset.body)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, VERSIONS says %s", name, got, want)
		}
	}
}
