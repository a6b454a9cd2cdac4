package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/identity"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// TestMain lets a test run the real program in a child process: the test binary re-executes
// itself with APPHUB_TEST_MAIN=1 and behaves as the apphub command.
func TestMain(m *testing.M) {
	if os.Getenv("APPHUB_TEST_MAIN") == "1" {
		h := testHooks()
		switch os.Getenv("APPHUB_TEST_FAILPOINT") {
		case "after-commit":
			// The process dies the way a kill -9 or a power cut would leave it: right after
			// its first change's commit point, before anything else of that change is done.
			h.afterCommit = func(context.Context, apphub.Revision) { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		case "stall-after-claims":
			// A booking by the party "stalled" stops for good between its claims and its
			// commit, so that a kill -9 finds its claims taken and never committed.
			h.afterClaims = func(ctx context.Context, _ string) {
				if apphub.PrincipalFromContext(ctx).PartyID == stalledParty {
					select {}
				}
			}
		}
		os.Exit(runMain(h))
	}
	os.Exit(m.Run())
}

// stalledParty is the customer whose bookings the failpoint stall-after-claims stops.
const stalledParty = "stalled"

// testHooks is the program as the tests run it: on the test clock, relaying the changes
// another writer left in flight after a second (instead of five), and with notification leases
// of about 4 s instead of 16 s (a lease lasts the attempt timeout, the backoff and the margin),
// so that a hub takes over the deliveries of a stopped one sooner. The tests' listeners are on
// loopback and their instances share one clock: 2 s per attempt and a 1 s margin are ample.
func testHooks() hooks {
	return hooks{now: testclock.Now, relayAfter: time.Second, notifyTimeout: 2 * time.Second, notifyLeaseMargin: time.Second}
}

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestHelpDocumentsEveryFlagAndVariable(t *testing.T) {
	for _, sub := range []string{"serve", "seed"} {
		t.Run(sub, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{sub, "--help"}, envFunc(nil), io.Discard, &out, testHooks())
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("err = %v, want flag.ErrHelp", err)
			}
			want := []string{"-mongodb-uri", "MONGODB_URI", "-redis-url", "REDIS_URL", "-data-dir", "APPHUB_DATA_DIR",
				"-mongodb-database", "APPHUB_MONGODB_DATABASE", "-log-level", "APPHUB_LOG_LEVEL", "-log-format", "APPHUB_LOG_FORMAT",
				"-ferretdb-log-level", "APPHUB_FERRETDB_LOG_LEVEL", "-embedded-redis-tick", "APPHUB_EMBEDDED_REDIS_TICK",
				"-redis-prefix", "APPHUB_REDIS_PREFIX", "-demo", "APPHUB_DEMO"}
			if sub == "serve" {
				want = append(want, "-addr", "APPHUB_ADDR", `default ":8080"`, "-shutdown-timeout", "APPHUB_SHUTDOWN_TIMEOUT",
					"-hold-ttl", "APPHUB_HOLD_TTL", "-offer-ttl", "APPHUB_OFFER_TTL", "-claim-grace", "APPHUB_CLAIM_GRACE", "-public-url", "APPHUB_PUBLIC_URL",
					"-allowed-origins", "APPHUB_ALLOWED_ORIGINS", "-graphql-max-depth", "APPHUB_GRAPHQL_MAX_DEPTH",
					"-graphql-max-complexity", "APPHUB_GRAPHQL_MAX_COMPLEXITY",
					"-oidc-issuer", "APPHUB_OIDC_ISSUER", "-oidc-audience", "APPHUB_OIDC_AUDIENCE", "-jwks-url", "APPHUB_JWKS_URL",
					"-jwks-file", "APPHUB_JWKS_FILE", "-party-claim", "APPHUB_PARTY_CLAIM", `default "sub"`,
					"-public-availability", "APPHUB_PUBLIC_AVAILABILITY", "-allow-local-key", "APPHUB_ALLOW_LOCAL_KEY",
					"local-key mode", "127.0.0.1:8080",
					"-admin-addr", "APPHUB_ADMIN_ADDR", `default "127.0.0.1:9090"`, "-rate-search", "APPHUB_RATE_SEARCH", "-rate-write", "APPHUB_RATE_WRITE",
					"-trusted-proxies", "APPHUB_TRUSTED_PROXIES", "-read-timeout", "APPHUB_READ_TIMEOUT", "-write-timeout", "APPHUB_WRITE_TIMEOUT",
					"-graphql-introspection", "APPHUB_GRAPHQL_INTROSPECTION", "-graphql-max-body", "APPHUB_GRAPHQL_MAX_BODY", "-graphql-max-tokens", "APPHUB_GRAPHQL_MAX_TOKENS",
					"-ws-max-subscriptions", "APPHUB_WS_MAX_SUBSCRIPTIONS", "-ws-max-connections", "APPHUB_WS_MAX_CONNECTIONS")
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("help does not mention %q:\n%s", w, out.String())
				}
			}
			// Every flag names what it takes (flag's placeholder for a Value it does not know
			// is "value").
			for line := range strings.Lines(out.String()) {
				if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "-") && f[1] == "value" {
					t.Errorf("flag %s has no placeholder", f[0])
				}
			}
		})
	}
	// The subcommands that open no store have flags of their own.
	for sub, want := range map[string][]string{
		"token":  {"-data-dir", "APPHUB_DATA_DIR", "-party", "-role", "-resource", "-place", "-for-party", "-ttl", "default 1h0m0s"},
		"apikey": {"create", "revoke", "list", "-url", "APPHUB_URL", "-token", "APPHUB_TOKEN", "-name", "-role", "-for-party", "-id"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{sub, "--help"}, envFunc(nil), io.Discard, &out, testHooks()); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("%s --help: %v", sub, err)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s help does not mention %q:\n%s", sub, w, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, envFunc(nil), io.Discard, &out, testHooks()); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(out.String(), "serve") || !strings.Contains(out.String(), "seed") || !strings.Contains(out.String(), "token") ||
		!strings.Contains(out.String(), "apikey") {
		t.Fatalf("top-level help: %v\n%s", err, out.String())
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c config) bool {
			return c.addr == ":8080" && c.dataDir == "./data" && c.mongoURI == "" && c.redisURL == "" && c.shutdownTimeout == 15*time.Second
		}},
		{name: "environment", env: map[string]string{"APPHUB_ADDR": "127.0.0.1:9", "MONGODB_URI": "mongodb://db:27017", "REDIS_URL": "redis://r:6379", "APPHUB_SHUTDOWN_TIMEOUT": "3s"},
			check: func(c config) bool {
				return c.addr == "127.0.0.1:9" && c.mongoURI == "mongodb://db:27017" && c.redisURL == "redis://r:6379" && c.shutdownTimeout == 3*time.Second
			}},
		{name: "flag wins over environment", env: map[string]string{"APPHUB_ADDR": "127.0.0.1:9"}, args: []string{"--addr", "127.0.0.1:10"},
			check: func(c config) bool { return c.addr == "127.0.0.1:10" }},
		{name: "bad duration in environment", env: map[string]string{"APPHUB_SHUTDOWN_TIMEOUT": "soon"}, wantErr: "APPHUB_SHUTDOWN_TIMEOUT"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "--log-level"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "--log-format"},
		{name: "no data dir for the embedded store", args: []string{"--data-dir", ""}, wantErr: "--data-dir"},
		{name: "identity defaults: local-key mode, on loopback", check: func(c config) bool {
			return c.localKeyMode() && webAppConfig(c).SignIn == "demo" && c.listenAddr() == "127.0.0.1:8080" && c.partyClaim == "sub" && c.publicAvailability && !c.allowLocalKey
		}},
		{name: "local-key mode keeps an address given by flag", args: []string{"--addr", ":9090"},
			check: func(c config) bool { return c.listenAddr() == ":9090" }},
		{name: "local-key mode keeps an address given by environment", env: map[string]string{"APPHUB_ADDR": ":8080"},
			check: func(c config) bool { return c.listenAddr() == ":8080" }},
		{name: "an identity provider, from the environment", env: map[string]string{"APPHUB_OIDC_ISSUER": "https://idp.example", "APPHUB_OIDC_AUDIENCE": "apphub",
			"APPHUB_JWKS_URL": "https://idp.example/jwks", "APPHUB_PARTY_CLAIM": "party", "APPHUB_PUBLIC_AVAILABILITY": "false",
			"APPHUB_PUBLIC_URL": "https://hub.example"},
			check: func(c config) bool {
				return !c.localKeyMode() && c.listenAddr() == ":8080" && c.oidcIssuer == "https://idp.example" && c.oidcAudience == "apphub" &&
					c.jwksURL == "https://idp.example/jwks" && c.partyClaim == "party" && !c.publicAvailability
			}},
		{name: "an identity provider with a JWKS file", args: []string{"--oidc-issuer", "https://idp.example", "--oidc-audience", "apphub", "--jwks-file", "/etc/jwks.json"},
			check: func(c config) bool { return c.jwksFile == "/etc/jwks.json" }},
		{name: "an issuer without an audience", args: []string{"--oidc-issuer", "https://idp.example", "--jwks-url", "https://idp.example/jwks"}, wantErr: "--oidc-audience"},
		{name: "an issuer without keys", args: []string{"--oidc-issuer", "https://idp.example", "--oidc-audience", "apphub"}, wantErr: "--jwks-url or --jwks-file"},
		{name: "the web app's client at the identity provider, customers without roles", args: []string{"--oidc-issuer", "https://idp.example",
			"--oidc-audience", "apphub", "--jwks-url", "https://idp.example/jwks", "--oidc-client-id", "apphub-web", "--oidc-default-role", "customer"},
			check: func(c config) bool {
				w := webAppConfig(c)
				return w.SignIn == "oidc" && w.OIDC.ClientID == "apphub-web" && w.OIDC.Authority == "https://idp.example" && w.OIDC.Scope == "openid" &&
					c.oidcDefaultRole == "customer"
			}},
		{name: "an identity provider without a client for the web app", args: []string{"--oidc-issuer", "https://idp.example",
			"--oidc-audience", "apphub", "--jwks-url", "https://idp.example/jwks"},
			check: func(c config) bool { return webAppConfig(c).SignIn == "none" }},
		{name: "a default role that grants more than a customer's", args: []string{"--oidc-issuer", "https://idp.example",
			"--oidc-audience", "apphub", "--jwks-url", "https://idp.example/jwks", "--oidc-default-role", "admin"}, wantErr: "--oidc-default-role"},
		{name: "a web client without an issuer", env: map[string]string{"APPHUB_OIDC_CLIENT_ID": "apphub-web"}, wantErr: "--oidc-client-id: given without --oidc-issuer"},
		{name: "keys without an issuer", env: map[string]string{"APPHUB_JWKS_URL": "https://idp.example/jwks"}, wantErr: "--jwks-url: given without --oidc-issuer"},
		{name: "local-key mode behind an https public URL", args: []string{"--public-url", "https://hub.example.com"}, wantErr: "--allow-local-key"},
		{name: "local-key mode behind an https public URL, allowed", args: []string{"--public-url", "https://hub.example.com", "--allow-local-key"},
			check: func(c config) bool { return c.localKeyMode() && c.allowLocalKey }},
		{name: "local-key mode behind an http public URL", env: map[string]string{"APPHUB_PUBLIC_URL": "http://hub.test:8080"},
			check: func(c config) bool { return c.localKeyMode() }},
		{name: "a rate that is not one", args: []string{"--rate-search", "lots"}, wantErr: "--rate-search"},
		{name: "a rate per an unknown unit", env: map[string]string{"APPHUB_RATE_WRITE": "5/fortnight"}, wantErr: "--rate-write"},
		{name: "a proxy by name", args: []string{"--trusted-proxies", "proxy.internal"}, wantErr: "--trusted-proxies"},
		{name: "edge defaults", check: func(c config) bool {
			return c.adminAddr == "127.0.0.1:9090" && c.budgets[resolvers.LimitClassSearch].Rate > 0 && c.budgets[resolvers.LimitClassWrite].Rate > 0 && c.graphqlIntrospection &&
				c.readTimeout == 10*time.Second && len(c.trusted) == 0
		}},
		{name: "edge settings", args: []string{"--rate-search", "off", "--trusted-proxies", "10.0.0.0/8, 192.0.2.1", "--admin-addr", ""},
			check: func(c config) bool {
				return c.budgets[resolvers.LimitClassSearch].Rate == 0 && len(c.trusted) == 2 && c.adminAddr == ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c config
			fs, err := newFlagSet("serve", &c, envFunc(tt.env), io.Discard)
			if err == nil {
				err = fs.Parse(tt.args)
			}
			if err == nil {
				err = c.validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
	if err := run(context.Background(), []string{"bake"}, envFunc(nil), io.Discard, io.Discard, testHooks()); err == nil || !strings.Contains(err.Error(), "unknown subcommand") {
		t.Fatalf("unknown subcommand: %v", err)
	}
}

// syncBuffer collects log output written by the hub's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testHub is a hub served in process on a loopback port.
type testHub struct {
	url   string
	admin string // the admin listener's base URL: /metrics, /debug/pprof/
	dir   string // its data directory, which holds the local key its tokens are signed with
	hub   *hub
	logs  *syncBuffer
	stop  func() error // ends serving (as a signal would) and closes the stores
}

// startHub builds a hub from env and args as the serve subcommand would, and serves it.
// wrap, if not nil, wraps the hub's handler (tests add slow routes with it). Unless env or
// args name one, the hub gets a data directory of its own, so that it has its own local key
// (and never uses ./data).
func startHub(t *testing.T, env map[string]string, wrap func(http.Handler) http.Handler, args ...string) *testHub {
	t.Helper()
	var cfg config
	fs, err := newFlagSet("serve", &cfg, envFunc(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defaults := []string{"--log-format", "json"}
	if env["APPHUB_DATA_DIR"] == "" {
		defaults = append(defaults, "--data-dir", t.TempDir())
	}
	if err := fs.Parse(append(defaults, args...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	cfg.hooks = testHooks()
	testclock.Report(t)
	logs := &syncBuffer{}
	logger := newLogger(logs, cfg.logFormat, cfg.logLevel)
	h, err := newHub(cfg, logger, logs)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		h.handler = wrap(h.handler)
	}
	addr := "127.0.0.1:0"
	if cfg.addrGiven {
		addr = cfg.addr // a hub started again where clients know it
	}
	ln, err := net.Listen("tcp", addr)
	for deadline := time.Now().Add(5 * time.Second); err != nil && cfg.addrGiven && time.Now().Before(deadline); {
		// The address of a hub just stopped: its connections may still be closing.
		time.Sleep(100 * time.Millisecond)
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	admin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.serve(ctx, ln, admin, cfg.shutdownTimeout) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
			if err := h.close(); err != nil && stopErr == nil {
				stopErr = err
			}
		})
		return stopErr
	}
	t.Cleanup(func() { stop() })
	return &testHub{url: "http://" + ln.Addr().String(), admin: "http://" + admin.Addr().String(), dir: cfg.dataDir, hub: h, logs: logs, stop: stop}
}

// token returns a bearer token that h accepts, for party with role; a partner's forParties are
// the customer parties it may act for. Tokens of hubs on one data directory are interchangeable,
// as those of instances of one installation are.
func (h *testHub) token(t *testing.T, party, role string, forParties ...string) string {
	t.Helper()
	return mintToken(t, h.dir, party, role, forParties...)
}

// mintToken signs a token with the local key of the data directory dir, as `apphub token`
// does, valid for an hour of the test clock (the hubs verify on it).
func mintToken(t *testing.T, dir, party, role string, forParties ...string) string {
	t.Helper()
	key, err := identity.OpenLocalKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := key.Mint(identity.TokenRequest{Party: party, Roles: []string{role}, Parties: forParties, TTL: time.Hour, Now: testclock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// adminParty is the party of the operators' tokens the tests use.
const adminParty = "ops-1"

// getJSON GETs url anonymously (as a probe or a browser does) and decodes the answer into out.
func getJSON(t *testing.T, url string, out any) *http.Response {
	t.Helper()
	return getJSONAs(t, url, "", out)
}

// getJSONAs GETs url with the bearer token (none when empty) and decodes the answer into out.
func getJSONAs(t *testing.T, url, token string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, body)
		}
	}
	return resp
}

// postGraphQL posts a document with the bearer token and returns the answer as it came.
func postGraphQL(t *testing.T, base, token, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

type readyBody struct {
	Status  string                 `json:"status"`
	Version string                 `json:"version"`
	Checks  map[string]checkResult `json:"checks"`
}

// waitReady polls /readyz until it reports the wanted HTTP status and overall status.
func waitReady(t *testing.T, base string, wantCode int, wantStatus string, within time.Duration) readyBody {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var rb readyBody
		resp := getJSON(t, base+"/readyz", &rb)
		if resp.StatusCode == wantCode && rb.Status == wantStatus {
			return rb
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz stayed %d %+v, want %d %q", resp.StatusCode, rb, wantCode, wantStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The whole hub on both embedded stores, through HTTP.
func TestServeOnEmbeddedStores(t *testing.T) {
	t.Parallel()
	h := startHub(t, nil, nil, "--data-dir", t.TempDir())
	customer := h.token(t, "cust-1", apphub.RoleCustomer)

	rb := waitReady(t, h.url, 200, "ready", 60*time.Second)
	if rb.Version != version() || rb.Version == "" {
		t.Errorf("/readyz version %q, want %q", rb.Version, version())
	}
	for _, dep := range []string{"mongodb", "redis"} {
		if c := rb.Checks[dep]; c.Status != "up" || c.Mode != "embedded" {
			t.Errorf("%s check %+v, want up and embedded", dep, c)
		}
	}

	if got, want := postGraphQL(t, h.url, customer, "{__typename}"), `{"data":{"__typename":"Query"}}`; got != want {
		t.Fatalf("__typename: %s, want %s", got, want)
	}
	var hub struct {
		Data struct {
			Hub struct{ Version, InstallationID, InstalledAt string }
		}
	}
	if err := json.Unmarshal([]byte(postGraphQL(t, h.url, customer, "{hub{version installationId installedAt}}")), &hub); err != nil {
		t.Fatal(err)
	}
	if hub.Data.Hub.InstallationID == "" || hub.Data.Hub.Version == "" || hub.Data.Hub.InstalledAt == "" {
		t.Fatalf("hub: %+v", hub)
	}
	// GET transport.
	var viaGET map[string]any
	getJSONAs(t, h.url+"/graphql?query=%7B__typename%7D", customer, &viaGET)
	if fmt.Sprint(viaGET) != "map[data:map[__typename:Query]]" {
		t.Fatalf("GET /graphql: %v", viaGET)
	}
	// GraphQL errors carry a code.
	if got := postGraphQL(t, h.url, customer, "{nope}"); !strings.Contains(got, `"code":"GRAPHQL_VALIDATION_FAILED"`) {
		t.Fatalf("invalid query: %s", got)
	}

	// The explorer: GraphiQL for a browser, its assets served by the hub itself.
	req, _ := http.NewRequest("GET", h.url+"/graphql", nil)
	req.Header.Set("Accept", "text/html")
	page, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("explorer page: %d %s", page.StatusCode, page.Header.Get("Content-Type"))
	}
	i := bytes.Index(html, []byte("/graphql/assets/"))
	if i < 0 {
		t.Fatalf("explorer page links no asset:\n%s", html)
	}
	asset := string(html[i:])
	asset = asset[:strings.IndexAny(asset, `"'`)]
	if resp, err := http.Get(h.url + strings.ReplaceAll(asset, "&amp;", "&")); err != nil || resp.StatusCode != 200 {
		t.Fatalf("explorer asset %s: %v %v", asset, err, resp)
	}

	var health map[string]string
	if resp := getJSON(t, h.url+"/healthz", &health); resp.StatusCode != 200 || health["status"] != "alive" {
		t.Fatalf("/healthz %d %v", resp.StatusCode, health)
	}

	var tmfErr map[string]string
	resp := getJSONAs(t, h.url+"/tmf-api/appointment/v4/nothing", h.token(t, "acme", apphub.RolePartner), &tmfErr)
	if resp.StatusCode != 404 || tmfErr["@type"] != "Error" || tmfErr["code"] != "NOT_FOUND" || tmfErr["status"] != "404" {
		t.Fatalf("TMF unknown path: %d %v", resp.StatusCode, tmfErr)
	}

	// Request ids: a caller's plain id is kept, anything else is replaced.
	for _, tc := range []struct{ sent, want string }{{"abc-123", "abc-123"}, {"has spaces", ""}, {strings.Repeat("a", 65), ""}, {"", ""}} {
		req, _ := http.NewRequest("GET", h.url+"/healthz", nil)
		if tc.sent != "" {
			req.Header.Set("X-Request-Id", tc.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if (tc.want != "" && got != tc.want) || (tc.want == "" && (got == "" || got == tc.sent)) {
			t.Errorf("sent X-Request-Id %q, got %q", tc.sent, got)
		}
	}

	// The metrics are on the admin listener only.
	if resp, err := http.Get(h.url + "/metrics"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/metrics on the API listener: %v %v", resp.Status, err)
	}
	resp, err = http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`apphub_http_requests_total{method="POST",route="/graphql",status="200"}`,
		`apphub_http_requests_total{method="GET",route="/tmf-api/appointment/v4/",status="404"}`,
		`apphub_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		`apphub_build_info{go="` + runtime.Version() + `"`,
		"go_goroutines", "process_resident_memory_bytes", "apphub_search_duration_seconds_bucket",
		"apphub_busy_cache_hits_total", "apphub_event_bus_published_total",
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := h.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// One JSON log line per request, with its fields.
	found := false
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "request" {
			continue
		}
		for _, k := range []string{"method", "route", "status", "duration_ms", "request_id"} {
			if _, ok := line[k]; !ok {
				t.Errorf("request log line lacks %q: %s", k, sc.Text())
			}
		}
		if line["request_id"] == "abc-123" && line["route"] == "/healthz" {
			found = true
		}
		// Who called is in the line, by its Ref; the credential never is.
		if line["route"] == "/graphql" && line["method"] == "POST" && line["principal"] != "customer:cust-1" {
			t.Errorf("a GraphQL request's log line names %v, want customer:cust-1: %s", line["principal"], sc.Text())
		}
	}
	if !found {
		t.Errorf("no request log line for request abc-123:\n%s", h.logs.String())
	}
	if strings.Contains(h.logs.String(), customer) {
		t.Error("a bearer token is in the log")
	}
}

// A shutdown lets the requests in flight finish.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(started)
				time.Sleep(700 * time.Millisecond)
				io.WriteString(w, "done")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h := startHub(t, nil, slow, "--data-dir", t.TempDir())
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(h.url + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	if err := h.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: %q, %v; want it answered", r.body, r.err)
	}
	if _, err := http.Get(h.url + "/healthz"); err == nil {
		t.Fatal("the hub still accepts requests after shutdown")
	}
}

// With REDIS_URL at a Redis that is down, the hub serves, reports Redis degraded with 200,
// and turns ready by itself when Redis comes.
func TestReadinessRedisDownThenBack(t *testing.T) {
	// Not parallel: the port the hub is pointed at stays free until Redis starts on it, and
	// another test's listener could take it meanwhile.
	port := storetest.FreePort(t)
	h := startHub(t, map[string]string{"REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d", port)}, nil, "--data-dir", t.TempDir())

	rb := waitReady(t, h.url, 200, "degraded", 30*time.Second)
	if c := rb.Checks["redis"]; c.Status != "down" || c.Mode != "external" || c.Error == "" {
		t.Fatalf("redis check %+v, want down with an error", c)
	}
	if c := rb.Checks["mongodb"]; c.Status != "up" {
		t.Fatalf("mongodb check %+v, want up", c)
	}
	if got := postGraphQL(t, h.url, h.token(t, "cust-1", apphub.RoleCustomer), "{hub{installationId}}"); !strings.Contains(got, "installationId") {
		t.Fatalf("the hub does not serve while Redis is down: %s", got)
	}

	storetest.StartRedisServer(t, port)
	waitReady(t, h.url, 200, "ready", 30*time.Second)
}

// With MONGODB_URI at a dead server, /readyz is 503 naming MongoDB, and recovers by itself
// when the server comes.
func TestReadinessMongoDownThenBack(t *testing.T) {
	// Not parallel: the port the hub is pointed at stays free until MongoDB starts on it, and
	// another test's listener could take it meanwhile.
	port := storetest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// A server selection timeout of 1 s instead of the hub's 5 s (options in the URI win): each
	// request to the dead server waits that long before it is answered UNAVAILABLE.
	h := startHub(t, map[string]string{"MONGODB_URI": "mongodb://" + addr + "/?serverSelectionTimeoutMS=1000"}, nil)
	admin := h.token(t, adminParty, apphub.RoleAdmin)

	rb := waitReady(t, h.url, 503, "unavailable", 30*time.Second)
	if c := rb.Checks["mongodb"]; c.Status != "down" || !c.Required || c.Error == "" {
		t.Fatalf("mongodb check %+v, want down with an error", c)
	}
	if got := postGraphQL(t, h.url, admin, "{hub{installationId}}"); !strings.Contains(got, `"code":"UNAVAILABLE"`) {
		t.Fatalf("query while MongoDB is down: %s, want an UNAVAILABLE error", got)
	}
	var tmfErr map[string]string
	if resp := getJSONAs(t, h.url+"/tmf-api/appointment/v4/appointment", admin, &tmfErr); resp.StatusCode != 503 || tmfErr["@type"] != "Error" || tmfErr["status"] != "503" {
		t.Fatalf("TMF646 list while MongoDB is down: %d %v, want a 503 TMF Error", resp.StatusCode, tmfErr)
	}

	e, err := mongodb.StartEmbedded(t.TempDir(), addr, newLogger(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	// The hub stops first, as it would in a deployment: the embedded server, closed while a
	// client is still connected, takes seconds to end.
	t.Cleanup(func() {
		h.stop()
		e.Close()
	})
	waitReady(t, h.url, 200, "ready", 60*time.Second)
	if resp := getJSONAs(t, h.url+"/tmf-api/appointment/v4/appointment", admin, nil); resp.StatusCode != 200 {
		t.Fatalf("TMF646 list after MongoDB came back: %d", resp.StatusCode)
	}
}

// process is the apphub command running as a child process.
type process struct {
	cmd  *exec.Cmd
	url  string
	dir  string // its --data-dir, which holds the local key its tokens are signed with
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
}

// token returns a bearer token that p accepts, for party with role.
func (p *process) token(t *testing.T, party, role string) string {
	t.Helper()
	if p.dir == "" {
		t.Fatal("the process was started without --data-dir: the test cannot know its key")
	}
	return mintToken(t, p.dir, party, role)
}

// startProcess runs the program with args and an environment that has no store URLs, and
// waits for it to log where it serves (url: a hub's base URL, a store's MongoDB URI).
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	return startProcessEnv(t, nil, args...)
}

// startProcessEnv is startProcess with variables of the test's own (e.g. a failpoint). The
// child's test clock starts where the test's is now.
func startProcessEnv(t *testing.T, extra []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MONGODB_URI=") && !strings.HasPrefix(kv, "REDIS_URL=") && !strings.HasPrefix(kv, "APPHUB_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "APPHUB_TEST_MAIN=1", "APPHUB_LOG_FORMAT=json", "APPHUB_ADMIN_ADDR=127.0.0.1:0", testclock.Env+"="+testclock.Now().Format(time.RFC3339Nano))
	cmd.Env = append(cmd.Env, extra...)
	p := &process{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	for i, a := range args {
		if a == "--data-dir" && i+1 < len(args) {
			p.dir = args[i+1]
		}
	}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(p.logs, pw)
	cmd.Stdout = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line["msg"] {
			case "apphub serving":
				addr <- "http://" + line["addr"].(string)
			case "apphub store serving": // apphub store: its MongoDB URI
				addr <- line["mongodb"].(string)
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case a := <-addr:
		p.url = a
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("apphub did not start within 60s:\n%s", p.logs.String())
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("apphub did not exit within 30s of SIGTERM:\n%s", p.logs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *process) installationID(t *testing.T) string {
	t.Helper()
	var r struct {
		Data struct {
			Hub struct{ InstallationID string }
		}
	}
	if err := json.Unmarshal([]byte(postGraphQL(t, p.url, p.token(t, adminParty, apphub.RoleAdmin), "{hub{installationId}}")), &r); err != nil || r.Data.Hub.InstallationID == "" {
		t.Fatalf("installationId: %v %+v\n%s", err, r, p.logs.String())
	}
	return r.Data.Hub.InstallationID
}

// The real program: it starts on the embedded stores, locks its data directory against a
// second process, exits 0 on SIGTERM and finds its data again on the next start.
func TestProcessLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if first.url == "" {
		t.Fatalf("apphub exited at start:\n%s", first.logs.String())
	}
	waitReady(t, first.url, 200, "ready", 60*time.Second)
	id := first.installationID(t)

	second := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if second.url != "" {
		t.Fatalf("a second hub started on a locked data directory")
	}
	if code := second.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(second.logs.String(), "is in use by another apphub process") {
		t.Fatalf("second hub: exit %d, output:\n%s", code, second.logs.String())
	}

	if code := first.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, first.logs.String())
	}
	if !strings.Contains(first.logs.String(), `"msg":"stopped"`) {
		t.Errorf("no 'stopped' log line:\n%s", first.logs.String())
	}

	again := startProcess(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if again.url == "" {
		t.Fatalf("restart failed:\n%s", again.logs.String())
	}
	waitReady(t, again.url, 200, "ready", 60*time.Second)
	if got := again.installationID(t); got != id {
		t.Fatalf("after restart the installation is %q, want %q: the data was not kept", got, id)
	}
	if code := again.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestSeed(t *testing.T) {
	// Not parallel: run sets go-redis's logger, which is process-wide (rediscache.SetLogger).
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--data-dir", dir, "--log-format", "json"}, envFunc(nil), &out, io.Discard, testHooks()); err != nil {
		t.Fatal(err)
	}
	first := out.String()
	out.Reset()
	if err := run(context.Background(), []string{"seed", "--data-dir", dir, "--log-format", "json"}, envFunc(nil), &out, io.Discard, testHooks()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "installation ") || out.String() != first {
		t.Fatalf("seed is not idempotent: %q then %q", first, out.String())
	}

	// The demo dataset, twice: the second load changes nothing.
	for range 2 {
		out.Reset()
		if err := run(context.Background(), []string{"seed", "--demo", "--data-dir", dir, "--log-format", "json"}, envFunc(nil), &out, io.Discard, testHooks()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "demo data: 81 resources, 5 categories") {
			t.Fatalf("seed --demo said %q", out.String())
		}
	}
	e, err := mongodb.StartEmbedded(dir, "127.0.0.1:0", newLogger(io.Discard, "text", "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	db, err := mongodb.Open(e.URI(), "apphub")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	d, _, err := db.LoadCalendar(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := demo.Data().Len(); d.Len() != want {
		t.Fatalf("after two demo seeds the database holds %d calendar items, want %d", d.Len(), want)
	}
}
