package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/identity"
	"github.com/apphub/apphub/testclock"
)

// call sends a JSON request with the Authorization header (none when empty) and returns the
// response with its body read.
func call(t *testing.T, method, url, authorization, body string) (*http.Response, []byte) {
	t.Helper()
	headers := []string{"Content-Type", "application/json"}
	if authorization != "" {
		headers = append(headers, "Authorization", authorization)
	}
	return send(t, method, url, body, headers...)
}

// A credential that is not valid is answered 401 at once, on each API in its own error format,
// and never served as nobody.
func TestBadCredentialsAre401(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil)
	key, err := identity.OpenLocalKey(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := key.Mint(identity.TokenRequest{Party: "cust-1", Roles: []string{apphub.RoleCustomer}, TTL: time.Hour,
		Now: testclock.Now().Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	forged := mintToken(t, t.TempDir(), adminParty, apphub.RoleAdmin) // another data directory's key
	bad := map[string]string{
		"a forged token":     "Bearer " + forged,
		"an expired token":   "Bearer " + expired,
		"an unknown key":     "Bearer " + apphub.APIKeyPrefix + "nosuchkey0123456789abcdef",
		"garbage":            "Bearer not-a-token",
		"another scheme":     "Basic YWRtaW46YWRtaW4=",
		"a token and a tail": "Bearer " + h.token(t, "cust-1", apphub.RoleCustomer) + " x",
	}
	for name, authorization := range bad {
		t.Run(name, func(t *testing.T) {
			// TMF646: a TMF Error and the bearer challenge.
			resp, raw := call(t, "GET", h.url+"/tmf-api/appointment/v4/appointment", authorization, "")
			var tmfErr map[string]string
			json.Unmarshal(raw, &tmfErr)
			if resp.StatusCode != 401 || tmfErr["code"] != "UNAUTHENTICATED" || tmfErr["reason"] != "Unauthorized" || tmfErr["status"] != "401" ||
				tmfErr["@type"] != "Error" || tmfErr["message"] == "" || len(tmfErr) != 5 {
				t.Errorf("TMF646: %d %s", resp.StatusCode, raw)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="apphub", error="invalid_token"` {
				t.Errorf("TMF646 WWW-Authenticate: %q", got)
			}
			// GraphQL: a GraphQL-over-HTTP error with its code, and no data.
			resp, raw = call(t, "POST", h.url+"/graphql", authorization, `{"query":"{__typename}"}`)
			var gqlErr struct {
				Data   json.RawMessage
				Errors []struct {
					Message    string
					Extensions struct{ Code string }
				}
			}
			json.Unmarshal(raw, &gqlErr)
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || gqlErr.Data != nil ||
				len(gqlErr.Errors) != 1 || gqlErr.Errors[0].Extensions.Code != "UNAUTHENTICATED" || gqlErr.Errors[0].Message == "" {
				t.Errorf("GraphQL: %d %s", resp.StatusCode, raw)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("GraphQL: a 401 without WWW-Authenticate")
			}
			// A websocket's upgrade request with the header is refused before it upgrades.
			_, wsResp, err := coderws.Dial(context.Background(), strings.Replace(h.url, "http://", "ws://", 1)+"/graphql",
				&coderws.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Authorization": {authorization}}})
			if err == nil || wsResp == nil || wsResp.StatusCode != 401 {
				t.Errorf("websocket upgrade: %v %v", err, wsResp)
			}
			// Anywhere else: plain 401.
			if resp, raw := call(t, "GET", h.url+"/healthz", authorization, ""); resp.StatusCode != 401 || len(raw) == 0 {
				t.Errorf("/healthz: %d %s", resp.StatusCode, raw)
			}
		})
	}

	// The same requests with a valid token pass.
	good := "Bearer " + h.token(t, "cust-1", apphub.RoleCustomer)
	if resp, raw := call(t, "POST", h.url+"/graphql", good, `{"query":"{__typename}"}`); resp.StatusCode != 200 || string(raw) != `{"data":{"__typename":"Query"}}` {
		t.Fatalf("GraphQL with a valid token: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := call(t, "GET", h.url+"/tmf-api/appointment/v4/appointment", "Bearer "+h.token(t, "acme", apphub.RolePartner), ""); resp.StatusCode != 200 {
		t.Fatalf("TMF646 with a valid token: %d %s", resp.StatusCode, raw)
	}

	// Refusals are counted under their route, and logged without the credential.
	if got := metric(t, h, `apphub_http_requests_total{method="GET",route="/tmf-api/appointment/v4/",status="401"}`); got != float64(len(bad)) {
		t.Errorf("%v TMF646 401s counted, want %d", got, len(bad))
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	logs := h.logs.String()
	for name, authorization := range bad {
		if _, token, _ := strings.Cut(authorization, " "); strings.Contains(logs, token) {
			t.Errorf("the credential of %s is in the log", name)
		}
	}
	refused := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "request" || line["status"] != float64(401) {
			continue
		}
		refused++
		if line["principal"] != "anonymous" || line["auth_error"] == "" || line["auth_error"] == nil {
			t.Errorf("a refused request's log line: %s", sc.Text())
		}
	}
	if refused != 4*len(bad) {
		t.Errorf("%d refused requests logged, want %d", refused, 4*len(bad))
	}
}

// Without an identity provider the hub binds loopback only unless told otherwise, and says how
// its tokens are made. The default port may be taken on the machine running the tests: then
// the hub must have failed on the loopback address.
func TestLocalKeyModeListensOnLoopback(t *testing.T) {
	// Not parallel: it may take the default port 8080 for a moment.
	p := startProcess(t, "serve", "--data-dir", t.TempDir())
	logs := p.logs.String()
	if !strings.Contains(logs, "local-key mode") || !strings.Contains(logs, "apphub token --data-dir") {
		t.Errorf("no warning about the local key, or no hint to mint a token:\n%s", logs)
	}
	if p.url == "" {
		if !strings.Contains(logs, "listen on 127.0.0.1:8080") {
			t.Fatalf("the hub did not start, and not because 127.0.0.1:8080 is taken:\n%s", logs)
		}
		return
	}
	if p.url != "http://127.0.0.1:8080" {
		t.Fatalf("the hub listens at %s, want 127.0.0.1:8080", p.url)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// A hub behind an https public URL is a deployment: it does not start in local-key mode unless
// told to.
func TestHTTPSPublicURLNeedsAllowLocalKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := run(context.Background(), []string{"serve", "--data-dir", dir, "--public-url", "https://hub.example.com", "--addr", "127.0.0.1:0"},
		envFunc(nil), io.Discard, io.Discard, testHooks())
	if err == nil || !strings.Contains(err.Error(), "--allow-local-key") || !strings.Contains(err.Error(), "--oidc-issuer") {
		t.Fatalf("err = %v, want a refusal naming --oidc-issuer and --allow-local-key", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Fatalf("the refused hub wrote to its data directory: %v", entries)
	}
	// Told to, it starts.
	h := startHub(t, nil, nil, "--public-url", "https://hub.example.com", "--allow-local-key")
	if got := postGraphQL(t, h.url, h.token(t, "cust-1", apphub.RoleCustomer), "{__typename}"); got != `{"data":{"__typename":"Query"}}` {
		t.Fatalf("a hub allowed its local key: %s", got)
	}
}

// With an identity provider, its tokens are accepted (the party from the configured claim),
// and the local key's are not; --public-availability false closes availability to nobody.
// providerKey is an identity provider's signing key, and the file of its public key set.
func providerKey(t *testing.T) (jose.JSONWebKey, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: priv, KeyID: "idp-1", Algorithm: string(jose.ES256), Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, set, 0o600); err != nil {
		t.Fatal(err)
	}
	return jwk, jwksFile
}

func TestIdentityProviderTokens(t *testing.T) {
	t.Parallel()
	jwk, jwksFile := providerKey(t)
	h := startHub(t, nil, nil, "--oidc-issuer", "https://idp.test", "--oidc-audience", "apphub", "--jwks-file", jwksFile,
		"--party-claim", "party_id", "--public-availability=false")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := testclock.Now()
	token, err := jwt.Signed(signer).Claims(map[string]any{"iss": "https://idp.test", "aud": "apphub", "sub": "user-77", "party_id": "cust-9",
		"roles": []string{"customer"}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if resp, raw := call(t, "POST", h.url+"/graphql", "Bearer "+token, `{"query":"{__typename}"}`); resp.StatusCode != 200 {
		t.Fatalf("the provider's token: %d %s", resp.StatusCode, raw)
	}
	if resp, raw := call(t, "POST", h.url+"/graphql", "Bearer "+h.token(t, "cust-9", apphub.RoleCustomer), `{"query":"{__typename}"}`); resp.StatusCode != 401 {
		t.Fatalf("a local-key token on a hub with an identity provider: %d %s", resp.StatusCode, raw)
	}
	const search = `{"query":"{ availability(input: {category: \"repair\", place: \"75011\"}) { timeZone } }"}`
	if _, raw := call(t, "POST", h.url+"/graphql", "", search); !strings.Contains(string(raw), `"code":"UNAUTHENTICATED"`) {
		t.Fatalf("an anonymous search with --public-availability=false: %s", raw)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), `"principal":"customer:cust-9"`) {
		t.Errorf("no request logged as customer:cust-9 (the party claim):\n%s", h.logs.String())
	}
}

// apphub token mints what a verifier on the same data directory accepts, with the scope asked.
func TestTokenCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	verify := func(dir, token string) apphub.Principal {
		t.Helper()
		key, err := identity.OpenLocalKey(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg := key.Config()
		cfg.Now = testclock.Now
		v, err := identity.NewVerifier(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(ctx, token)
		if err != nil {
			t.Fatalf("the minted token does not verify: %v", err)
		}
		return p
	}
	token := func(env map[string]string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"token"}, args...), envFunc(env), &out, io.Discard, testHooks())
		return strings.TrimSpace(out.String()), err
	}

	agent, err := token(nil, "--data-dir", dir, "--party", "agent-7", "--role", "agent", "--resource", "tech-1", "--resource", "tech-2", "--place", "store-1", "--ttl", "10m")
	if err != nil {
		t.Fatal(err)
	}
	p := verify(dir, agent)
	if p.Ref() != "agent:agent-7" || !slices.Equal(p.Resources, []string{"tech-1", "tech-2"}) || !slices.Equal(p.Places, []string{"store-1"}) ||
		p.Expires.Sub(testclock.Now().Add(10*time.Minute)).Abs() > time.Minute {
		t.Fatalf("agent token: %+v", p)
	}
	partner, err := token(nil, "--data-dir", dir, "--party", "acme", "--role", "partner", "--for-party", "cust-1", "--for-party", "cust-2,cust-3")
	if err != nil {
		t.Fatal(err)
	}
	if p := verify(dir, partner); p.Ref() != "partner:acme" || !slices.Equal(p.Parties, []string{"cust-1", "cust-2", "cust-3"}) ||
		p.Expires.Sub(testclock.Now().Add(time.Hour)).Abs() > time.Minute {
		t.Fatalf("partner token: %+v", p)
	}
	// The data directory from the environment, as the hub reads it.
	other := t.TempDir()
	admin, err := token(map[string]string{"APPHUB_DATA_DIR": other}, "--party", adminParty, "--role", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if p := verify(other, admin); p.Ref() != "admin:"+adminParty {
		t.Fatalf("admin token: %+v", p)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", dir, "--role", "admin"}, "--party"},
		{[]string{"--data-dir", dir, "--party", "x", "--role", "root"}, "--role"},
		{[]string{"--data-dir", dir, "--party", "x", "--role", "customer", "--for-party", "cust-2"}, "--for-party"},
		{[]string{"--data-dir", dir, "--party", "x", "--role", "partner", "--resource", "tech-1"}, "--resource"},
		{[]string{"--data-dir", dir, "--party", "x", "--role", "admin", "--ttl", "0s"}, "--ttl"},
	} {
		if out, err := token(nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) || out != "" {
			t.Errorf("token %v: %q, %v; want an error naming %s", tc.args, out, err, tc.want)
		}
	}
}

// apphub apikey manages keys through a running hub, as an admin; a key it creates works on the
// TMF646 API until it is revoked, and then is refused within the cache's 2 s.
func TestAPIKeyCommand(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil)
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	ctx := context.Background()
	apikey := func(env map[string]string, args ...string) (string, error) {
		t.Helper()
		var out, diag bytes.Buffer
		err := run(ctx, append([]string{"apikey"}, args...), envFunc(env), &out, &diag, testHooks())
		t.Logf("apikey %s:\n%s%s", args[0], out.String(), diag.String())
		return out.String(), err
	}

	out, err := apikey(nil, "create", "--url", h.url, "--token", admin, "--name", "acme", "--role", "partner", "--for-party", "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, apphub.APIKeyPrefix) || strings.Contains(key, "\n") {
		t.Fatalf("create printed %q, want the key alone", out)
	}
	id := apphub.APIKeyID(key)
	tmfList := h.url + "/tmf-api/appointment/v4/appointment"
	if code, body := tmf(t, key, "GET", tmfList, "application/json", ""); code != 200 {
		t.Fatalf("TMF646 with the new key: %d %v", code, body)
	}

	// The URL and the token from the environment.
	env := map[string]string{"APPHUB_URL": h.url, "APPHUB_TOKEN": admin}
	out, err = apikey(env, "list")
	if err != nil {
		t.Fatal(err)
	}
	if fields := rowOf(out, id); len(fields) != 7 || fields[1] != "acme" || fields[2] != "partner" || fields[3] != "cust-1" || fields[5] == "-" || fields[6] != "-" {
		t.Fatalf("list: want the key, used and not revoked:\n%s", out)
	}
	// A partner may not manage keys, nor a bad token.
	if _, err := apikey(nil, "list", "--url", h.url, "--token", key); err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Fatalf("list with a partner's key: %v, want FORBIDDEN", err)
	}
	if _, err := apikey(nil, "list", "--url", h.url, "--token", "forged"); err == nil || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Fatalf("list with a bad token: %v, want UNAUTHENTICATED", err)
	}

	out, err = apikey(env, "revoke", "--id", id)
	if err != nil || !strings.Contains(out, "revoked "+id) {
		t.Fatalf("revoke: %q, %v", out, err)
	}
	revoked := time.Now()
	for {
		code, body := tmf(t, key, "GET", tmfList, "application/json", "")
		if code == 401 && body["code"] == "UNAUTHENTICATED" {
			break
		}
		if code != 200 || time.Since(revoked) > 3*time.Second {
			t.Fatalf("the revoked key, %v after its revocation: %d %v", time.Since(revoked), code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err = apikey(env, "list")
	if fields := rowOf(out, id); err != nil || len(fields) != 7 || fields[6] == "-" {
		t.Fatalf("list after the revocation: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--url", h.url, "--token", admin}, "--name"},
		{[]string{"revoke", "--url", h.url, "--token", admin}, "--id"},
		{[]string{"list", "--url", h.url}, "--token"},
		{[]string{"rotate", "--url", h.url, "--token", admin}, "unknown action"},
	} {
		if _, err := apikey(nil, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("apikey %v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	if _, err := apikey(nil, "revoke", "--url", h.url, "--token", admin, "--id", "nosuchid"); err == nil {
		t.Error("revoking a key that does not exist succeeded")
	}
	if _, err := apikey(nil, "--help"); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("apikey --help: %v", err)
	}
}

// rowOf returns the fields of the line of a listing that starts with id.
func rowOf(listing, id string) []string {
	for _, line := range strings.Split(listing, "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && fields[0] == id {
			return fields
		}
	}
	return nil
}
