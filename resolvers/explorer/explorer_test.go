package explorer

import (
	"bytes"
	"github.com/apphub/apphub/internal/webassets"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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

// TestExplorerScriptHasNoURL: our own script takes the endpoint from the page.
func TestExplorerScriptHasNoURL(t *testing.T) {
	js := string(asset(t, "explorer.js").Body)
	if strings.Contains(js, "http://") || strings.Contains(js, "https://") {
		t.Fatalf("explorer.js holds a URL:\n%s", js)
	}
}

func TestExplorerAssetCaching(t *testing.T) {
	h := Assets()
	a := asset(t, "graphiql.min.js")

	rec := get(t, h, AssetsPath+"graphiql.min.js", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("unversioned URL: Cache-Control = %q, want no-cache", got)
	}
	etag := rec.Header().Get("ETag")
	if etag != `"`+a.Version+`"` {
		t.Errorf("ETag = %q", etag)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}
	if !bytes.Equal(rec.Body.Bytes(), a.Body) {
		t.Errorf("served body differs from the embedded file")
	}

	rec = get(t, h, AssetsPath+"graphiql.min.js?v=stale", http.Header{"If-None-Match": {etag}})
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: status = %d, want 304", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("stale version: Cache-Control = %q, want no-cache", got)
	}
}

func TestExplorerAssetErrors(t *testing.T) {
	h := Assets()
	for _, target := range []string{
		AssetsPath + "nothing.js",
		AssetsPath,
		AssetsPath + "../explorer.go",
		"/elsewhere/graphiql.min.js",
	} {
		if rec := get(t, h, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", target, rec.Code)
		}
	}

	req := httptest.NewRequest(http.MethodPost, AssetsPath+"explorer.js", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status = %d, Allow = %q", rec.Code, rec.Header().Get("Allow"))
	}

	req = httptest.NewRequest(http.MethodHead, AssetsPath+"explorer.js", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status = %d, %d bytes of body", rec.Code, rec.Body.Len())
	}
}

// TestVendoredFilesMatchVERSIONS: the embedded files are the ones scripts/vendor-graphiql.sh
// recorded, byte for byte.
func TestVendoredFilesMatchVERSIONS(t *testing.T) {
	n, err := assets.CheckSums("VERSIONS")
	if err != nil {
		t.Error(err)
	}
	if n != 5 {
		t.Fatalf("want 5 sha256 lines in VERSIONS, got %d", n)
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
