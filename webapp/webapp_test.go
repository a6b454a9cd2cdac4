package webapp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The app learns how to sign in from /config.json, and its pages may connect to the hub and,
// when it signs in at an identity provider, to that provider's origin: nowhere else.
func TestConfigAndConnectSources(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantConfig  string
		wantConnect string
	}{
		{"demo", Config{SignIn: SignInDemo}, `{"signIn":"demo"}`, "connect-src 'self';"},
		{"none", Config{SignIn: SignInNone}, `{"signIn":"none"}`, "connect-src 'self';"},
		{"an identity provider", Config{SignIn: SignInOIDC, OIDC: &OIDCConfig{Authority: "https://login.example.com:8443/realms/customers", ClientID: "web", Scope: "openid"}},
			`{"signIn":"oidc","oidc":{"authority":"https://login.example.com:8443/realms/customers","clientId":"web","scope":"openid"}}`,
			"connect-src 'self' https://login.example.com:8443;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Handler(tt.cfg)
			for _, path := range []string{"/config.json", "/", CallbackPath} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					t.Fatalf("GET %s: %d", path, rec.Code)
				}
				if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantConnect) {
					t.Errorf("GET %s: Content-Security-Policy %q, want %q", path, csp, tt.wantConnect)
				}
				if path == "/config.json" && rec.Body.String() != tt.wantConfig {
					t.Errorf("config %s, want %s", rec.Body, tt.wantConfig)
				}
			}
		})
	}
}

// A path the app does not have is 404 whatever the method (the hub's own endpoints, such as
// POST /demo/sign-in, are not there when their mode is off); the app's paths take GET and HEAD.
func TestMethodsAndMissingPaths(t *testing.T) {
	h := Handler(Config{SignIn: SignInNone})
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/console", http.StatusOK},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodPost, "/demo/sign-in", http.StatusNotFound},
		{http.MethodDelete, "/nope", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodGet, "/assets/", http.StatusNotFound},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
}
