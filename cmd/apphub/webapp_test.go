package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub/testclock"
)

// The demo sign-in gives each browser a token for a fresh customer party of the hub's choice,
// spends the caller's write budget, and exists only in local-key mode.
func TestDemoSignIn(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--rate-write", "2/m:2")
	type signIn struct{ Token, PartyID, ExpiresAt string }
	signInOnce := func(body string) (int, signIn) {
		t.Helper()
		resp, raw := call(t, "POST", h.url+"/demo/sign-in", "", body)
		var s signIn
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
			}
		}
		return resp.StatusCode, s
	}
	// The caller may not choose the party, whatever it sends.
	code, a := signInOnce(`{"partyId":"cust-9","role":"admin"}`)
	if code != http.StatusOK || !regexp.MustCompile(`^demo-[a-z2-7]{16}$`).MatchString(a.PartyID) || a.Token == "" {
		t.Fatalf("sign-in: %d %+v", code, a)
	}
	if exp, err := time.Parse(time.RFC3339, a.ExpiresAt); err != nil || exp.Sub(testclock.Now()) > demoTokenTTL+time.Minute || exp.Before(testclock.Now()) {
		t.Fatalf("expiresAt %q (%v), want about %v from now", a.ExpiresAt, err, demoTokenTTL)
	}
	code, b := signInOnce("")
	if code != http.StatusOK || b.PartyID == a.PartyID {
		t.Fatalf("second sign-in: %d %+v, want another party than %s", code, b, a.PartyID)
	}
	if resp, raw := call(t, "POST", h.url+"/graphql", "Bearer "+a.Token, `{"query":"{ appointments { totalCount } }"}`); resp.StatusCode != 200 ||
		!strings.Contains(string(raw), `"totalCount":0`) {
		t.Fatalf("the demo token: %d %s", resp.StatusCode, raw)
	}
	if code, _ := signInOnce(""); code != http.StatusTooManyRequests {
		t.Fatalf("a third sign-in over a budget of 2: %d, want 429", code)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), `"principal":"customer:`+a.PartyID+`"`) {
		t.Errorf("the demo token did not call as customer:%s", a.PartyID)
	}

	// With an identity provider there is no demo sign-in.
	_, jwks := providerKey(t)
	idp := startHub(t, nil, nil, "--oidc-issuer", "https://idp.test", "--oidc-audience", "apphub", "--jwks-file", jwks)
	if resp, raw := call(t, "POST", idp.url+"/demo/sign-in", "", ""); resp.StatusCode == http.StatusOK || strings.Contains(string(raw), "token") {
		t.Fatalf("demo sign-in with an identity provider: %d %s", resp.StatusCode, raw)
	}
}

// The web app's pages are its index.html, not cached; its assets are cached for good; the page
// may load and reach nothing but the hub.
func TestWebAppServed(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil)
	resp, index := send(t, "GET", h.url+"/", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /: %d %v", resp.StatusCode, resp.Header)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if resp, body := send(t, "GET", h.url+"/config.json", ""); resp.StatusCode != 200 || string(body) != `{"signIn":"demo"}` {
		t.Errorf("GET /config.json in local-key mode: %d %s", resp.StatusCode, body)
	}
	for _, page := range []string{"/console", "/appointment/abc123", "/signin/callback"} {
		if resp, body := send(t, "GET", h.url+page, ""); resp.StatusCode != 200 || string(body) != string(index) {
			t.Errorf("GET %s: %d, want the app's page", page, resp.StatusCode)
		}
	}
	assets := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(assets) == 0 {
		t.Fatalf("the page links no asset:\n%s", index)
	}
	for _, a := range assets {
		resp, body := send(t, "GET", h.url+a[1], "")
		if resp.StatusCode != 200 || len(body) == 0 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: %d, %d bytes, Cache-Control %q", a[1], resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
		}
		if strings.Contains(string(body), "https://") && strings.HasSuffix(a[1], ".css") {
			t.Errorf("%s loads something from elsewhere", a[1])
		}
	}
	// The TMF646 reference (package apidocs) is mounted beside the app.
	if resp, body := send(t, "GET", h.url+"/docs/tmf646", ""); resp.StatusCode != 200 || !strings.Contains(string(body), "/docs/tmf646/swagger.json") {
		t.Errorf("GET /docs/tmf646: %d %s", resp.StatusCode, body)
	}
	if resp, body := send(t, "GET", h.url+"/docs/tmf646/swagger.json", ""); resp.StatusCode != 200 || !strings.Contains(string(body), `"swagger"`) {
		t.Errorf("GET /docs/tmf646/swagger.json: %d", resp.StatusCode)
	}
	for _, missing := range []string{"/nope", "/assets/nope.js", "/assets/", "/index.html"} {
		if resp, _ := send(t, "GET", h.url+missing, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", missing, resp.StatusCode)
		}
	}
}
