package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/rediscache"
)

// config is everything the hub can be told, by flag or by environment variable.
type config struct {
	addr             string
	dataDir          string
	mongoURI         string
	mongoDatabase    string
	redisURL         string
	redisTick        time.Duration
	logLevel         string
	logFormat        string
	ferretDBLogLevel string
	shutdownTimeout  time.Duration
	demo             bool
	holdTTL          time.Duration
	offerTTL         time.Duration
	claimGrace       time.Duration
	redisPrefix      string
	publicURL        string
	allowedOrigins   string
	maxDepth         int
	maxComplexity    int
	notifySecret     string
	notifyAllow      string
	memoryLimit      memoryLimit // the collector's settings: main.go
	// The edge (edge.go).
	adminAddr            string
	readTimeout          time.Duration
	writeTimeout         time.Duration
	trustedProxies       string
	rateSearch           string
	rateWrite            string
	graphqlIntrospection bool
	graphqlMaxBody       int
	graphqlMaxTokens     int
	wsMaxSubscriptions   int
	wsMaxConnections     int
	// Parsed by validate from the settings above.
	trusted []netip.Prefix
	budgets map[string]rediscache.Budget
	// callbackNetworks (--notify-allow): registration (booking) and delivery (notify) must
	// agree on what callbacks may reach.
	callbackNetworks []netip.Prefix
	// addrGiven is whether --addr or APPHUB_ADDR was given: in local-key mode a default
	// address becomes a loopback one, a given one is kept.
	addrGiven bool

	// Identity (serve): with an issuer, bearer tokens of that identity provider; without, the
	// hub's own local key in the data directory (local-key mode).
	serving            bool // the serve subcommand: the identity settings apply
	oidcIssuer         string
	oidcAudience       string
	jwksURL            string
	jwksFile           string
	partyClaim         string
	oidcClientID       string // the web app's public client at the provider: its sign-in
	oidcScope          string
	oidcDefaultRole    string
	publicAvailability bool
	allowLocalKey      bool

	hooks hooks // never a flag: tests set them, the binary runs without
}

// hooks are what tests change in the program: its clock, and faults to inject. The zero value
// is the production program.
type hooks struct {
	// now is the clock of everything a calendar decides; nil is the wall clock.
	now func() time.Time
	// afterClaims runs after a booking inserted its claims, before its commit
	// (booking.Options.AfterClaims).
	afterClaims func(ctx context.Context, appointmentID string)
	// afterCommit runs after each change's commit point (booking.Options.AfterCommit).
	afterCommit func(ctx context.Context, rev apphub.Revision)
	// relayAfter is booking.Options.RelayAfter; zero is its default.
	relayAfter time.Duration
	// notifyTimeout and notifyLeaseMargin are notify.Options.Timeout and LeaseMargin; zero is
	// their default.
	notifyTimeout, notifyLeaseMargin time.Duration
	tracerProvider                   trace.TracerProvider // tests: an in-memory exporter's provider; nil: from OTEL_* variables
}

func (h hooks) clock() func() time.Time {
	if h.now == nil {
		return time.Now
	}
	return h.now
}

// option is one setting: a flag and the environment variable that sets its default.
type option struct {
	flag, env, usage string
	value            flag.Value
}

// newFlagSet declares the options of a subcommand on c. Environment variables are read through
// getenv so that tests control them; a flag given on the command line wins over its variable.
func newFlagSet(name string, c *config, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, error) {
	*c = config{
		addr:             ":8080",
		dataDir:          "./data",
		mongoDatabase:    "apphub",
		redisTick:        time.Second,
		logLevel:         "info",
		logFormat:        "auto",
		ferretDBLogLevel: "error",
		shutdownTimeout:  15 * time.Second,
		holdTTL:          5 * time.Minute,
		offerTTL:         15 * time.Minute,
		claimGrace:       time.Minute,
		redisPrefix:      "apphub:",
		maxDepth:         15,
		maxComplexity:    1000,

		adminAddr:            "127.0.0.1:9090",
		readTimeout:          10 * time.Second,
		writeTimeout:         30 * time.Second,
		rateSearch:           "50/s:100",
		rateWrite:            "10/s:20",
		graphqlIntrospection: true,
		graphqlMaxBody:       64 << 10,
		graphqlMaxTokens:     600,
		wsMaxSubscriptions:   20,
		wsMaxConnections:     10,

		partyClaim:         "sub",
		oidcScope:          "openid",
		publicAvailability: true,
	}
	opts := []option{
		{"mongodb-uri", "MONGODB_URI", "MongoDB connection string (a mongodb:// `URI`); empty starts an embedded FerretDB on --data-dir", (*stringValue)(&c.mongoURI)},
		{"mongodb-database", "APPHUB_MONGODB_DATABASE", "MongoDB database `name`", (*stringValue)(&c.mongoDatabase)},
		{"data-dir", "APPHUB_DATA_DIR", "`directory` of the embedded FerretDB's data (locked against a second process)", (*stringValue)(&c.dataDir)},
		{"redis-url", "REDIS_URL", "Redis `URL` (redis://, rediss://; Sentinel with master_name=, Cluster with addr=); empty starts an embedded Redis", (*stringValue)(&c.redisURL)},
		{"redis-prefix", "APPHUB_REDIS_PREFIX", "`prefix` of every Redis key and stream of this hub (hubs sharing data share it)", (*stringValue)(&c.redisPrefix)},
		{"embedded-redis-tick", "APPHUB_EMBEDDED_REDIS_TICK", "how often the embedded Redis's clock is advanced so that keys expire (a `duration`)", (*durationValue)(&c.redisTick)},
		{"log-level", "APPHUB_LOG_LEVEL", "log `level`: debug, info, warn, error", (*stringValue)(&c.logLevel)},
		{"log-format", "APPHUB_LOG_FORMAT", "log `format`: auto (text on a terminal, JSON otherwise), text, json", (*stringValue)(&c.logFormat)},
		{"ferretdb-log-level", "APPHUB_FERRETDB_LOG_LEVEL", "log `level` of the embedded FerretDB's own messages", (*stringValue)(&c.ferretDBLogLevel)},
		{"memory-limit", "APPHUB_MEMORY_LIMIT", "soft limit of the process's memory (a `size`, e.g. 256MiB, 1GiB; 0: none), which the collector keeps the heap under (GOGC=400 goes with one); default 75% of the cgroup's memory limit if it has one; GOMEMLIMIT, when set, wins", &c.memoryLimit},
	}
	demoUsage := "load the demo dataset (three regions, ~60 technicians, stores, holidays) before serving"
	if name == "seed" {
		demoUsage = "load the demo dataset (three regions, ~60 technicians, stores, holidays); loading it again changes nothing"
	}
	opts = append(opts, option{"demo", "APPHUB_DEMO", demoUsage, (*boolValue)(&c.demo)})
	if name == "serve" {
		c.serving = true
		opts = append(opts,
			option{"addr", "APPHUB_ADDR", "HTTP listen `address` (host:port); in local-key mode (no --oidc-issuer) the default is 127.0.0.1:8080", &givenString{&c.addr, &c.addrGiven}},
			option{"shutdown-timeout", "APPHUB_SHUTDOWN_TIMEOUT", "how long a shutdown waits for in-flight requests (a `duration`)", (*durationValue)(&c.shutdownTimeout)},
			option{"hold-ttl", "APPHUB_HOLD_TTL", "how long a hold keeps its time (a `duration`)", (*durationValue)(&c.holdTTL)},
			option{"offer-ttl", "APPHUB_OFFER_TTL", "how long a waitlist offer keeps its time for its entry (a `duration`)", (*durationValue)(&c.offerTTL)},
			option{"public-url", "APPHUB_PUBLIC_URL", "scheme and host clients reach the hub at (a `URL`, used in TMF646 hrefs); empty: from each request", (*stringValue)(&c.publicURL)},
			option{"allowed-origins", "APPHUB_ALLOWED_ORIGINS", "comma-separated browser `origins` of the channel apps (e.g. https://app.example.com, https://*.example.com; no scheme means https) that may call the APIs (CORS) and open GraphQL websockets besides the hub's own", (*stringValue)(&c.allowedOrigins)},
			option{"graphql-max-depth", "APPHUB_GRAPHQL_MAX_DEPTH", "deepest GraphQL selection accepted (a `depth`, introspection included)", (*intValue)(&c.maxDepth)},
			option{"graphql-max-complexity", "APPHUB_GRAPHQL_MAX_COMPLEXITY", "largest GraphQL operation `complexity` accepted (lists count their size, introspection included)", (*intValue)(&c.maxComplexity)},
			option{"graphql-max-body", "APPHUB_GRAPHQL_MAX_BODY", "largest GraphQL request body and websocket message, in `bytes`", (*intValue)(&c.graphqlMaxBody)},
			option{"graphql-max-tokens", "APPHUB_GRAPHQL_MAX_TOKENS", "most lexical `tokens` in a GraphQL document (validation grows with the square of repeated fields)", (*intValue)(&c.graphqlMaxTokens)},
			option{"graphql-introspection", "APPHUB_GRAPHQL_INTROSPECTION", "answer GraphQL introspection (__schema, __type; the explorer needs it)", (*boolValue)(&c.graphqlIntrospection)},
			option{"ws-max-subscriptions", "APPHUB_WS_MAX_SUBSCRIPTIONS", "most `operations` running at once on one GraphQL websocket", (*intValue)(&c.wsMaxSubscriptions)},
			option{"ws-max-connections", "APPHUB_WS_MAX_CONNECTIONS", "most GraphQL `websockets` one principal (or one address, anonymously) may hold open on this instance", (*intValue)(&c.wsMaxConnections)},
			option{"rate-search", "APPHUB_RATE_SEARCH", "`budget` of reads and searches per principal (per client address when anonymous), shared by every instance: RATE/UNIT[:BURST], e.g. 50/s:100 or 600/m; off for none", (*stringValue)(&c.rateSearch)},
			option{"rate-write", "APPHUB_RATE_WRITE", "`budget` of changes (bookings, holds, cancellations, registrations) per principal, as --rate-search", (*stringValue)(&c.rateWrite)},
			option{"trusted-proxies", "APPHUB_TRUSTED_PROXIES", "comma-separated `CIDRs` of the proxies whose X-Forwarded-For names the client; empty: the peer is the client", (*stringValue)(&c.trustedProxies)},
			option{"read-timeout", "APPHUB_READ_TIMEOUT", "how long a request (headers and body) may take to arrive (a `duration`); streams excepted", (*durationValue)(&c.readTimeout)},
			option{"write-timeout", "APPHUB_WRITE_TIMEOUT", "how long a request may take to be answered (a `duration`), after which its work is cancelled; streams excepted", (*durationValue)(&c.writeTimeout)},
			option{"admin-addr", "APPHUB_ADMIN_ADDR", "listen `address` (host:port) of /metrics and /debug/pprof/ (keep it private); empty: not served", (*stringValue)(&c.adminAddr)},
			option{"notify-secret", "APPHUB_NOTIFY_SECRET", "`secret` that signs TMF646 notifications (X-Hub-Signature-256); empty: unsigned", (*stringValue)(&c.notifySecret)},
			option{"notify-allow", "APPHUB_NOTIFY_ALLOW", "comma-separated `CIDRs` (e.g. 10.20.0.0/16, 127.0.0.1/32) of private networks TMF646 callbacks may reach besides global unicast addresses; empty: global unicast only. A cloud metadata address needs its exact /32 or /128", (*stringValue)(&c.notifyAllow)},
			option{"claim-grace", "APPHUB_CLAIM_GRACE", "how long the reaper leaves uncommitted claims alone (a `duration`; a booking gives up after a third of it)", (*durationValue)(&c.claimGrace)},
			option{"oidc-issuer", "APPHUB_OIDC_ISSUER", "issuer (iss, a `URL`) of the identity provider's bearer tokens; empty: local-key mode, tokens signed by a key in --data-dir (apphub token), for trying the hub out only", (*stringValue)(&c.oidcIssuer)},
			option{"oidc-audience", "APPHUB_OIDC_AUDIENCE", "`audience` (aud) the identity provider's tokens must carry; required with --oidc-issuer", (*stringValue)(&c.oidcAudience)},
			option{"jwks-url", "APPHUB_JWKS_URL", "`URL` of the identity provider's JSON Web Key Set (fetched again when a token names a key it does not hold)", (*stringValue)(&c.jwksURL)},
			option{"jwks-file", "APPHUB_JWKS_FILE", "`file` holding the identity provider's JSON Web Key Set, instead of --jwks-url", (*stringValue)(&c.jwksFile)},
			option{"party-claim", "APPHUB_PARTY_CLAIM", "the identity provider's `claim` that names the caller's party", (*stringValue)(&c.partyClaim)},
			option{"oidc-client-id", "APPHUB_OIDC_CLIENT_ID", "the web app's client `id` at the identity provider (a public client: authorization code with PKCE, no secret, redirect URI <hub>/signin/callback); empty: the web app offers no sign-in", (*stringValue)(&c.oidcClientID)},
			option{"oidc-scope", "APPHUB_OIDC_SCOPE", "`scopes` the web app asks the identity provider for", (*stringValue)(&c.oidcScope)},
			option{"oidc-default-role", "APPHUB_OIDC_DEFAULT_ROLE", "`role` of a valid token that carries none the hub knows: customer where the issuer signs in customers only (a customer identity provider); empty: such tokens are refused", (*stringValue)(&c.oidcDefaultRole)},
			option{"public-availability", "APPHUB_PUBLIC_AVAILABILITY", "let callers without a credential search availability (and read the calendar's pickers)", (*boolValue)(&c.publicAvailability)},
			option{"allow-local-key", "APPHUB_ALLOW_LOCAL_KEY", "start in local-key mode even when --public-url is https (a deployment: whoever reads --data-dir can be anyone)", (*boolValue)(&c.allowLocalKey)},
		)
	}

	return declare(name, "apphub "+name+" [flags]", opts, getenv, stderr)
}

// declare makes the flag set of a subcommand: each option's variable, when set, gives the
// flag's default, and the usage names the variable. An option without a variable is a flag
// only.
func declare(name, usage string, opts []option, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, o := range opts {
		if o.env == "" {
			fs.Var(o.value, o.flag, o.usage)
			continue
		}
		if v := getenv(o.env); v != "" {
			if err := o.value.Set(v); err != nil {
				return nil, fmt.Errorf("environment variable %s=%q: %v", o.env, v, err)
			}
		}
		fs.Var(o.value, o.flag, o.usage+" (env "+o.env+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n\nFlags (a flag that names an environment variable may also be set by it):\n", usage, subcommands[name])
		fs.PrintDefaults()
	}
	return fs, nil
}

func (c *config) validate() error {
	var errs []error
	if _, err := parseLevel(c.logLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if _, err := parseLevel(c.ferretDBLogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--ferretdb-log-level: %w", err))
	}
	switch c.logFormat {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format: %q is not auto, text or json", c.logFormat))
	}
	if c.redisTick <= 0 {
		errs = append(errs, errors.New("--embedded-redis-tick: must be positive"))
	}
	if c.holdTTL <= 0 {
		errs = append(errs, errors.New("--hold-ttl: must be positive"))
	}
	if c.offerTTL <= 0 {
		errs = append(errs, errors.New("--offer-ttl: must be positive"))
	}
	if c.claimGrace < 3*time.Second {
		errs = append(errs, errors.New("--claim-grace: must be at least 3s"))
	}
	if c.shutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout: must be positive"))
	}
	if c.serving {
		errs = append(errs, c.validateEdge()...)
	}
	if c.mongoURI == "" && c.dataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty when --mongodb-uri is"))
	}
	if c.serving {
		errs = append(errs, c.validateIdentity()...)
	}
	return errors.Join(errs...)
}

// validateIdentity checks the identity settings. A half-configured identity provider is an
// error rather than local-key mode, which would accept other tokens than the ones meant.
func (c *config) validateIdentity() []error {
	var errs []error
	if c.oidcIssuer != "" {
		if c.oidcAudience == "" {
			errs = append(errs, errors.New("--oidc-audience: required with --oidc-issuer"))
		}
		switch {
		case c.jwksURL == "" && c.jwksFile == "":
			errs = append(errs, errors.New("--jwks-url or --jwks-file: one is required with --oidc-issuer"))
		case c.jwksURL != "" && c.jwksFile != "":
			errs = append(errs, errors.New("--jwks-url and --jwks-file: give one, not both"))
		}
		if c.partyClaim == "" {
			errs = append(errs, errors.New("--party-claim: must not be empty"))
		}
		// A default role stands in for what the provider did not say; only the least of them
		// may: a token that grants more must say so itself.
		if c.oidcDefaultRole != "" && c.oidcDefaultRole != apphub.RoleCustomer {
			errs = append(errs, fmt.Errorf("--oidc-default-role: %q; only %q may be a default (agents, partners and admins must be named by their tokens)", c.oidcDefaultRole, apphub.RoleCustomer))
		}
		return errs
	}
	for _, o := range []struct{ name, value string }{{"--oidc-audience", c.oidcAudience}, {"--jwks-url", c.jwksURL}, {"--jwks-file", c.jwksFile},
		{"--oidc-client-id", c.oidcClientID}, {"--oidc-default-role", c.oidcDefaultRole}} {
		if o.value != "" {
			errs = append(errs, fmt.Errorf("%s: given without --oidc-issuer", o.name))
		}
	}
	if c.dataDir == "" {
		errs = append(errs, errors.New("--data-dir: must not be empty without --oidc-issuer (the local key is kept there)"))
	}
	// An https public URL is a deployment that others reach; the local key makes whoever can
	// read the data directory anyone, which is for trying the hub out only.
	if u, err := url.Parse(c.publicURL); err == nil && strings.EqualFold(u.Scheme, "https") && !c.allowLocalKey {
		errs = append(errs, errors.New("--public-url is https but no identity provider is configured (--oidc-issuer): "+
			"the hub would accept the tokens of a key kept in its data directory; configure --oidc-issuer, --oidc-audience and --jwks-url, "+
			"or pass --allow-local-key to run so anyway"))
	}
	return errs
}

// validateEdge checks the edge's settings and keeps them parsed.
func (c *config) validateEdge() []error {
	var errs []error
	if c.readTimeout <= 0 || c.writeTimeout <= 0 {
		errs = append(errs, errors.New("--read-timeout and --write-timeout: must be positive"))
	}
	var err error
	if c.trusted, err = parseCIDRs("--trusted-proxies", splitList(c.trustedProxies)); err != nil {
		errs = append(errs, err)
	}
	if c.callbackNetworks, err = apphub.ParseAllowedNetworks(splitList(c.notifyAllow)); err != nil {
		errs = append(errs, fmt.Errorf("--notify-allow: %s", apphub.ErrorMessage(err)))
	}
	c.budgets = map[string]rediscache.Budget{}
	for _, o := range []struct{ flag, class, value string }{
		{"--rate-search", resolvers.LimitClassSearch, c.rateSearch}, {"--rate-write", resolvers.LimitClassWrite, c.rateWrite},
	} {
		b, err := rediscache.ParseBudget(o.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.flag, err))
		}
		c.budgets[o.class] = b
	}
	return errs
}

// localKeyMode reports whether the hub signs its own tokens (no identity provider).
func (c *config) localKeyMode() bool { return c.oidcIssuer == "" }

// listenAddr is the address to listen on. In local-key mode a default address is bound to
// loopback only, so that a hub tried out on a laptop is not reachable by its network with
// tokens anyone with the data directory can mint; an address given explicitly is kept.
func (c *config) listenAddr() string {
	if !c.localKeyMode() || c.addrGiven {
		return c.addr
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil || host != "" {
		return c.addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

type stringValue string

// givenString is a string setting that remembers whether it was set (by its flag or its
// variable) rather than left at its default.
type givenString struct {
	s     *string
	given *bool
}

func (g *givenString) String() string {
	if g.s == nil {
		return `""`
	}
	return strconv.Quote(*g.s)
}

func (g *givenString) Set(v string) error {
	*g.s, *g.given = strings.TrimSpace(v), true
	return nil
}

func (s *stringValue) String() string     { return strconv.Quote(string(*s)) }
func (s *stringValue) Set(v string) error { *s = stringValue(strings.TrimSpace(v)); return nil }

type intValue int

func (i *intValue) String() string { return strconv.Itoa(int(*i)) }
func (i *intValue) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return errors.New("not a positive whole number")
	}
	*i = intValue(n)
	return nil
}

type boolValue bool

func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(v string) error {
	p, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("not true or false")
	}
	*b = boolValue(p)
	return nil
}

// listValue is a flag that may be given more than once, each time with one value or several
// separated by commas.
type listValue []string

func (l *listValue) String() string { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Set(v string) error {
	p, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("not a duration such as 500ms, 15s or 2m")
	}
	*d = durationValue(p)
	return nil
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
