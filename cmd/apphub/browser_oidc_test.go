package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
	"github.com/apphub/apphub/webapp"
)

// providerLog is what the browser sent the identity provider.
type providerLog struct {
	mu        sync.Mutex
	authorize []url.Values // the authorization requests' parameters
	token     []url.Values // the token requests' form, as the browser sent it
}

func (l *providerLog) snapshot() (authorize, token []url.Values) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.authorize), slices.Clone(l.token)
}

// publicClient makes mockoidc, which knows confidential clients only, serve the web app the way
// a provider serves a registered public client (a browser app keeps no secret): its endpoints
// answer the hub's pages (CORS, as a provider does for a client's registered web origins), and
// its token endpoint takes the client id alone — the PKCE verifier is what proves the caller,
// and mockoidc checks it against the challenge itself. What the browser sent is logged first.
func publicClient(m *mockoidc.MockOIDC, log *providerLog) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if origin := r.Header.Get("Origin"); strings.HasPrefix(origin, "http://127.0.0.1:") {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				w.Header().Set("Vary", "Origin")
			}
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			log.mu.Lock()
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				log.authorize = append(log.authorize, cloneValues(r.Form))
			case mockoidc.TokenEndpoint:
				log.token = append(log.token, cloneValues(r.PostForm))
			}
			log.mu.Unlock()
			if r.URL.Path == mockoidc.TokenEndpoint && r.PostForm.Get("client_secret") == "" {
				r.PostForm.Set("client_secret", m.ClientSecret)
				r.Form.Set("client_secret", m.ClientSecret)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// startProvider runs a local OpenID provider (mockoidc) whose clock is the test clock, so that
// its tokens are fresh to the hub.
func startProvider(t *testing.T) (*mockoidc.MockOIDC, *providerLog) {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := &providerLog{}
	if err := m.AddMiddleware(publicClient(m, log)); err != nil {
		t.Fatal(err)
	}
	m.FastForward(time.Until(testclock.Now()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m, log
}

// With an identity provider, the customer signs in there — authorization code with PKCE, in the
// browser — and books as the party the provider named; the demo sign-in is gone; the console
// refuses the same customer's sign-in. The page reaches nothing but the hub and the provider.
func TestBrowserOIDCSignIn(t *testing.T) {
	t.Parallel()
	idp, seen := startProvider(t)
	h := browserHub(t, "--oidc-issuer", idp.Issuer(), "--oidc-audience", idp.ClientID, "--jwks-url", idp.JWKSEndpoint(),
		"--oidc-client-id", idp.ClientID, "--oidc-default-role", apphub.RoleCustomer)
	const customer = "cust-oidc-ada"
	idp.QueueUser(&mockoidc.MockUser{Subject: customer})

	b := newBrowser(t, h.url, 375, 812)
	b.run(t, "sign in at the provider and come back signed in",
		chromedp.Navigate(h.url+"/"),
		chromedp.WaitVisible(testid("sign-in"), chromedp.ByQuery),
		chromedp.Click(testid("sign-in"), chromedp.ByQuery),
		waitText("header", customer))
	var location string
	b.run(t, "where the sign-in ends", chromedp.Location(&location))
	if u, err := url.Parse(location); err != nil || u.Path == webapp.CallbackPath || u.Query().Get("code") != "" {
		t.Errorf("after signing in the page is %s: the callback and its code should be gone", location)
	}

	authorize, token := seen.snapshot()
	if len(authorize) != 1 || len(token) != 1 {
		t.Fatalf("the provider saw %d authorization and %d token requests, want 1 and 1", len(authorize), len(token))
	}
	a, tk := authorize[0], token[0]
	if a.Get("response_type") != "code" || a.Get("code_challenge_method") != "S256" || len(a.Get("code_challenge")) < 43 ||
		a.Get("redirect_uri") != h.url+webapp.CallbackPath || a.Get("state") == "" {
		t.Errorf("authorization request %v: want the code flow with an S256 challenge, back to %s", a, webapp.CallbackPath)
	}
	if tk.Get("grant_type") != "authorization_code" || len(tk.Get("code_verifier")) < 43 || tk.Get("client_secret") != "" {
		t.Errorf("token request %v: want a code exchanged with its verifier and no secret", tk)
	}

	b.run(t, "search, hold and book",
		chromedp.WaitVisible(testid("category"), chromedp.ByQuery),
		chromedp.SetValue(testid("category"), "repair", chromedp.ByQuery),
		typeText(testid("postcode"), "75011"),
		chromedp.Click(testid("search"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("slot"), chromedp.ByQuery),
		holdAndBook(),
		chromedp.Location(&location))
	id := location[strings.LastIndex(location, "/")+1:]
	ctx := apphub.NewContextWithPrincipal(context.Background(), apphub.Principal{PartyID: adminParty, Roles: []string{apphub.RoleAdmin}})
	if appt, err := h.hub.svc.Appointment(ctx, id); err != nil || appt.PartyID != customer {
		t.Fatalf("the appointment booked after signing in: %+v, %v; want it owned by %s", appt, err, customer)
	}
	b.screenshot(t, "customer-oidc-booked-375.png")

	if resp, _ := call(t, "POST", h.url+"/demo/sign-in", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("demo sign-in beside an identity provider: %d, want 404", resp.StatusCode)
	}

	// The provider's customer is no agent: the console says so and does not sign in.
	idp.QueueUser(&mockoidc.MockUser{Subject: customer})
	b.run(t, "a customer tries the console",
		chromedp.Navigate(h.url+"/console"),
		chromedp.WaitVisible(testid("console-oidc-sign-in"), chromedp.ByQuery),
		chromedp.Click(testid("console-oidc-sign-in"), chromedp.ByQuery),
		chromedp.WaitVisible(testid("console-oidc-error"), chromedp.ByQuery))
	b.run(t, "the console stays signed out", chromedp.WaitNotPresent(testid("console-who"), chromedp.ByQuery))

	for _, r := range b.offOrigin() {
		if !strings.HasPrefix(r, idp.Issuer()) {
			t.Errorf("the page requested from elsewhere than the hub and the provider: %s", r)
		}
	}
}
