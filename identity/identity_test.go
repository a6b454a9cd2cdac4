package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/apphub/apphub"
)

// The tests run on a fixed instant: token validity is what a calendar would decide here.
var now = time.Date(2027, 3, 27, 22, 50, 0, 0, time.UTC)

type signingKey struct {
	jwk jose.JSONWebKey
	alg jose.SignatureAlgorithm
}

func newRSA(t *testing.T, kid string) signingKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "RS256", Use: "sig"}, jose.RS256}
}

func newEC(t *testing.T, kid string) signingKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "ES256", Use: "sig"}, jose.ES256}
}

func (k signingKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func claimsFor(mod func(map[string]any)) map[string]any {
	c := map[string]any{"iss": "https://idp.example", "aud": "apphub", "sub": "cust-1", "roles": []string{"customer"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

// jwksServer serves a key set that tests can rotate, counting the fetches.
type jwksServer struct {
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches int
}

func (s *jwksServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	var pub []jose.JSONWebKey
	for _, k := range s.keys {
		pub = append(pub, k.Public())
	}
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: pub})
}

func (s *jwksServer) set(keys ...signingKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = nil
	for _, k := range keys {
		s.keys = append(s.keys, k.jwk)
	}
}

func TestVerify(t *testing.T) {
	rsaKey, ecKey, stranger := newRSA(t, "r1"), newEC(t, "e1"), newRSA(t, "r1") // stranger reuses r1's kid
	jwks := &jwksServer{}
	jwks.set(rsaKey, ecKey)
	srv := httptest.NewServer(jwks)
	defer srv.Close()
	v, err := NewVerifier(context.Background(), Config{Issuer: "https://idp.example", Audience: "apphub", JWKSURL: srv.URL,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.jwk.Key.(*rsa.PrivateKey).PublicKey)
	b64 := base64.RawURLEncoding.EncodeToString
	unsigned := func(header string) string {
		payload, _ := json.Marshal(claimsFor(nil))
		return b64([]byte(header)) + "." + b64(payload) + "."
	}

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256", rsaKey.sign(t, claimsFor(nil)), true},
		{"ES256", ecKey.sign(t, claimsFor(nil)), true},
		{"forged signature: another key under a known kid", stranger.sign(t, claimsFor(nil)), false},
		{"tampered payload", func() string {
			parts := strings.Split(rsaKey.sign(t, claimsFor(nil)), ".")
			payload, _ := json.Marshal(claimsFor(func(c map[string]any) { c["roles"] = []string{"admin"} }))
			return parts[0] + "." + b64(payload) + "." + parts[2]
		}(), false},
		{"alg none", unsigned(`{"alg":"none","typ":"JWT"}`), false},
		{"HS256 with the public key as secret", func() string {
			signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubDER}, (&jose.SignerOptions{}).WithHeader("kid", "r1"))
			raw, _ := jwt.Signed(signer).Claims(claimsFor(nil)).Serialize()
			return raw
		}(), false},
		{"expired", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"expired within the skew", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() })), true},
		{"not yet valid", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })), false},
		{"not yet valid within the skew", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Second).Unix() })), true},
		{"wrong issuer", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["iss"] = "https://evil.example" })), false},
		{"wrong audience", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["aud"] = "other-api" })), false},
		{"no party", rsaKey.sign(t, claimsFor(func(c map[string]any) { delete(c, "sub") })), false},
		{"no role the hub knows", rsaKey.sign(t, claimsFor(func(c map[string]any) { c["roles"] = []string{"superuser"} })), false},
		{"garbage", "not.a.token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.token)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && err == nil:
				t.Fatalf("accepted as %+v", p)
			case !tt.ok && apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED:
				t.Fatalf("err = %v, want UNAUTHENTICATED", err)
			}
		})
	}

	// The provider rotates its keys: a token under a kid the verifier has not seen makes it
	// fetch the set again. go-oidc hands a verification the result of a fetch still under way
	// (or just finished and not yet put away), which may have begun before the rotation: such
	// a token may be refused for a moment, then accepted.
	rotated := newEC(t, "e2")
	jwks.set(rotated)
	before := jwks.fetches
	fresh := rotated.sign(t, claimsFor(nil))
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := v.Verify(context.Background(), fresh)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a token of the rotated key: %v", err)
		}
	}
	if n := jwks.fetches - before; n < 1 || n > 3 {
		t.Fatalf("the key set was fetched %d times for a new kid, want once (a few at most, see above)", n)
	}
	// go-oidc wakes the verification that waited for the new set a moment before it keeps
	// the set for the next ones: a token of the dropped key may pass once more in that moment.
	dropped := ecKey.sign(t, claimsFor(nil))
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := v.Verify(context.Background(), dropped); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token of a key the provider dropped is still accepted")
		}
	}
}

func TestClaimsBecomeThePrincipal(t *testing.T) {
	key := newEC(t, "e1")
	v, err := NewVerifier(context.Background(), Config{Issuer: "https://idp.example", Audience: "apphub", PartyClaim: "party",
		Keys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		claims map[string]any
		want   apphub.Principal
	}{
		{"the configured party claim", claimsFor(func(c map[string]any) { c["party"] = "cust-9" }),
			apphub.Principal{PartyID: "cust-9", Roles: []string{"customer"}}},
		{"roles as a string, an agent's assignment", claimsFor(func(c map[string]any) {
			c["party"], c["roles"], c["resources"], c["places"] = "agent-1", "agent admin", []string{"tech-paris-001"}, []string{"store-paris-bastille"}
		}), apphub.Principal{PartyID: "agent-1", Roles: []string{"agent", "admin"}, Resources: []string{"tech-paris-001"}, Places: []string{"store-paris-bastille"}}},
		{"roles and parties in the scope", claimsFor(func(c map[string]any) {
			delete(c, "roles")
			c["party"], c["scope"] = "partner-a", "openid partner party:cust-1 party:cust-2"
		}), apphub.Principal{PartyID: "partner-a", Roles: []string{"partner"}, Parties: []string{"cust-1", "cust-2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), key.sign(t, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if p.PartyID != tt.want.PartyID || !slices.Equal(p.Roles, tt.want.Roles) || !slices.Equal(p.Resources, tt.want.Resources) ||
				!slices.Equal(p.Places, tt.want.Places) || !slices.Equal(p.Parties, tt.want.Parties) || !p.Expires.Equal(now.Add(time.Hour)) {
				t.Fatalf("principal %+v, want %+v", p, tt.want)
			}
		})
	}
}

// A default role stands in for a token that names none, and only then: a token's own roles win.
func TestDefaultRole(t *testing.T) {
	key := newEC(t, "e1")
	verifier := func(defaultRole string) *Verifier {
		v, err := NewVerifier(context.Background(), Config{Issuer: "https://idp.example", Audience: "apphub", DefaultRole: defaultRole,
			Keys: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.jwk}}, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	roleless := key.sign(t, claimsFor(func(c map[string]any) { delete(c, "roles"); c["scope"] = "openid profile" }))
	agent := key.sign(t, claimsFor(func(c map[string]any) { c["roles"] = []string{"agent"} }))
	tests := []struct {
		name, defaultRole, token string
		want                     []string // nil: refused
	}{
		{"no role, no default: refused", "", roleless, nil},
		{"no role, customer by default", apphub.RoleCustomer, roleless, []string{"customer"}},
		{"the token's own role wins over the default", apphub.RoleCustomer, agent, []string{"agent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := verifier(tt.defaultRole).Verify(context.Background(), tt.token)
			if tt.want == nil {
				if apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
					t.Fatalf("got %+v, %v; want EUNAUTHENTICATED", p, err)
				}
				return
			}
			if err != nil || !slices.Equal(p.Roles, tt.want) || p.PartyID != "cust-1" {
				t.Fatalf("got %+v, %v; want roles %v", p, err, tt.want)
			}
		})
	}
}

// The local key is created once in the data directory; tokens it mints verify, also for a
// second opening of the same directory (the `apphub token` command and the running hub).
func TestLocalKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := OpenLocalKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := OpenLocalKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := k2.Mint(TokenRequest{Party: "cust-1", Roles: []string{"customer"}, TTL: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := k1.Config()
	cfg.Now = func() time.Time { return now }
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(context.Background(), token); err != nil || p.PartyID != "cust-1" || !slices.Equal(p.Roles, []string{"customer"}) {
		t.Fatalf("a locally minted token: %+v, %v", p, err)
	}
	other, _ := OpenLocalKey(t.TempDir())
	forged, _ := other.Mint(TokenRequest{Party: "cust-1", Roles: []string{"admin"}, TTL: time.Hour, Now: now})
	if _, err := v.Verify(context.Background(), forged); err == nil {
		t.Fatal("a token of another directory's key is accepted")
	}
}
