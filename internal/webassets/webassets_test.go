package webassets

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestSet(t *testing.T) {
	s := Load(fstest.MapFS{"dir/app.js": {Data: []byte("console.log(1)")}, "x.css": {Data: []byte("a{}")}}, "/static/",
		map[string]string{"app.js": "dir/app.js", "style.css": "x.css"})
	js, _ := s.Get("app.js")
	for _, tc := range []struct {
		method, target string
		status         int
		cache          string
		contentType    string
	}{
		{"GET", s.URL("app.js"), 200, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"HEAD", s.URL("style.css"), 200, "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"GET", "/static/app.js", 200, "no-cache", "text/javascript; charset=utf-8"},                    // unversioned: revalidated
		{"GET", "/static/app.js?v=0123456789abcdef", 200, "no-cache", "text/javascript; charset=utf-8"}, // an old version
		{"GET", "/static/dir/app.js", 404, "", ""},
		{"GET", "/elsewhere/app.js", 404, "", ""},
		{"POST", s.URL("app.js"), 405, "", ""},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.status || rec.Header().Get("Cache-Control") != tc.cache || (tc.status == 200 && rec.Header().Get("Content-Type") != tc.contentType) {
			t.Errorf("%s %s: %d, Cache-Control %q, Content-Type %q", tc.method, tc.target, rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
		}
		if tc.status == 200 && rec.Header().Get("ETag") != `"`+js.Version+`"` && tc.target != s.URL("style.css") {
			t.Errorf("%s: ETag %q", tc.target, rec.Header().Get("ETag"))
		}
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", s.URL("app.js"), nil)
	req.Header.Set("If-None-Match", `"`+js.Version+`"`)
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match of the current version: %d, want 304", rec.Code)
	}
}

func TestCheckSums(t *testing.T) {
	body := []byte("console.log(1)")
	good := fmt.Sprintf("# sums\n%x  app.js\n", sha256.Sum256(body))
	for _, tc := range []struct {
		name, sums string
		n          int
		wantErr    string
	}{
		{"match", good, 1, ""},
		{"changed file", strings.Replace(good, good[8:10], "00", 1), 1, "app.js: sha256"},
		{"not served", good + strings.Repeat("a", 64) + "  gone.js\n", 2, "gone.js is in SUMS but not served"},
	} {
		s := Load(fstest.MapFS{"app.js": {Data: body}, "SUMS": {Data: []byte(tc.sums)}}, "/", map[string]string{"app.js": "app.js", "SUMS": "SUMS"})
		n, err := s.CheckSums("SUMS")
		if n != tc.n || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %d lines, %v; want %d, %q", tc.name, n, err, tc.n, tc.wantErr)
		}
	}
}
