package resolvers

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/apphub/apphub/resolvers/explorer"
)

// newTestMux mounts the handlers as cmd/apphub does.
func newTestMux(t *testing.T) *http.ServeMux {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/graphql", newTestHandler(t, fakeService{}, Options{}))
	mux.Handle("GET "+explorer.AssetsPath, explorer.Assets())
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
		"Content-Security-Policy": explorer.CSP,
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

	// Every script and stylesheet the page loads is served from explorer.AssetsPath, with its
	// type, cacheable; the only other reference is the empty data: icon.
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	served := 0
	for _, ref := range refs {
		u := strings.ReplaceAll(ref[1], "&amp;", "&")
		if u == "data:," {
			continue
		}
		if !strings.HasPrefix(u, explorer.AssetsPath) {
			t.Errorf("asset %q is not under %s", u, explorer.AssetsPath)
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
	if served != 6 {
		t.Errorf("want 5 scripts and 1 stylesheet in the page, got %d: %v", served, refs)
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
