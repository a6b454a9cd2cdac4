package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/apidocs"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/identity"
	"github.com/apphub/apphub/notify"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/resolvers/explorer"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/tmfrest"
	"github.com/apphub/apphub/tracing"
	"github.com/apphub/apphub/webapp"
)

// hub is one running hub: its stores and its HTTP handler.
type hub struct {
	stores  *stores
	svc     *booking.Service
	breaker *rediscache.Breaker
	cache   *rediscache.Cache
	bus     *rediscache.Bus
	limits  *rediscache.RateLimiter
	handler http.Handler
	// admin serves the metrics and the profiler, on a listener of its own (--admin-addr).
	admin http.Handler
	// notifier delivers TMF646 hub notifications.
	notifier *notify.Notifier
	// instance names this process in the notification leases it takes, so that an operator
	// (or a test) can tell whose leases another instance took over; logged at start.
	instance string
	// publicURL is --public-url; empty, the listening address is used for notification hrefs.
	publicURL string
	listenURL string
	// reapInterval is how often the reaper frees abandoned time.
	reapInterval time.Duration
	logger       *slog.Logger
	// streams ends when the shutdown begins (endStreams): subscriptions never finish by
	// themselves, and http.Server.Shutdown does not end hijacked connections.
	streams    context.Context
	endStreams context.CancelFunc
	// shutdownTracing flushes the spans not yet exported and stops the exporter (close).
	shutdownTracing func(context.Context) error
}

// newHub opens the stores and wires the transports to the booking service.
func newHub(cfg config, logger *slog.Logger, stderr io.Writer) (_ *hub, err error) {
	// The tokens' verifier first: it needs no store, and a bad identity setting should stop the
	// hub before it starts anything.
	tokens, err := newTokenVerifier(cfg, logger)
	if err != nil {
		return nil, err
	}
	// The OTEL_* variables are the process's, like GOMEMLIMIT (main.go): read where they apply.
	tp, propagator, shutdownTracing, err := setupTracing(context.Background(), cfg.hooks, os.Getenv)
	if err != nil {
		return nil, err
	}
	held := false // once the hub holds the provider, its close shuts it down
	defer func() {
		if err != nil && !held {
			shutdownTracing(context.Background())
		}
	}()
	// The stores' commands are traced only inside a trace: see tracing.WithinTraces.
	var storeTP trace.TracerProvider
	if tp != nil {
		storeTP = tracing.WithinTraces(tp)
		logger.Info("tracing on: spans are exported by OTLP over HTTP, as the OTEL_* variables say")
	}
	ferretLogger := newLogger(stderr, cfg.logFormat, cfg.ferretDBLogLevel).With("component", "ferretdb")
	st, err := openTracedStores(cfg, ferretLogger, logger, storeTP)
	if err != nil {
		return nil, err
	}
	auth := identity.NewAuthenticator(tokens, identity.NewKeys(st.mongo, identity.KeysOptions{Now: cfg.hooks.clock(), Logger: logger}))
	reg := prometheus.NewRegistry()
	metrics := newHTTPMetrics(reg)
	// One breaker for the client: once the cache or the bus finds Redis down, neither waits for
	// it until it answers again.
	breaker, err := rediscache.NewBreaker(st.redis, reg, rediscache.BreakerOptions{Logger: logger})
	if err != nil {
		st.close(context.Background())
		return nil, err
	}
	cache, err := rediscache.NewCache(st.redis, reg, rediscache.CacheOptions{Prefix: cfg.redisPrefix, Logger: logger,
		Breaker: breaker, Guard: st.redisGuard})
	if err != nil {
		breaker.Close()
		st.close(context.Background())
		return nil, err
	}
	// The service publishes on the bus; the bus fills gaps from the service's revisions once it
	// runs (serve).
	bus, err := rediscache.NewBus(st.redis, reg, rediscache.BusOptions{Prefix: cfg.redisPrefix, Logger: logger, Breaker: breaker})
	if err != nil {
		cache.Close()
		breaker.Close()
		st.close(context.Background())
		return nil, err
	}
	// Waitlist offers go to the hub registrations through the notifier, made after the service
	// it reads: the offers wait for it (none is made before serve starts the waitlist's passes).
	var notifier *notify.Notifier
	svc := booking.NewService(st.mongo, booking.Options{Logger: logger, Now: cfg.hooks.clock(), HoldTTL: cfg.holdTTL, OfferTTL: cfg.offerTTL, Grace: cfg.claimGrace,
		AfterClaims: cfg.hooks.afterClaims, AfterCommit: cfg.hooks.afterCommit, RelayAfter: cfg.hooks.relayAfter, PublicAvailability: cfg.publicAvailability,
		CallbackNetworks: cfg.callbackNetworks, Cache: cache, Answers: cache, Publisher: bus, Observe: newSearchObserver(reg),
		OfferMade: func(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) { notifier.Offer(ctx, e, o) }})
	bus.OnCalendarChanged(svc.CalendarChanged)
	timed := newTimedService(svc, reg)
	h := &hub{stores: st, svc: svc, breaker: breaker, cache: cache, bus: bus, logger: logger, publicURL: cfg.publicURL,
		reapInterval: min(cfg.claimGrace/2, 10*time.Second), instance: strings.ToLower(rand.Text()[:10]),
		shutdownTracing: shutdownTracing}
	held = true
	h.notifier, err = notify.New(st.mongo, notify.Options{
		Subscriptions: svc.Subscriptions,
		Render: func(ctx context.Context, a apphub.Appointment) (json.RawMessage, error) {
			cal, err := svc.Calendar(ctx)
			if err != nil {
				return nil, err
			}
			return tmfrest.AppointmentJSON(h.publicBase(), a, cal)
		},
		RenderOffer: func(ctx context.Context, e apphub.WaitlistEntry, o apphub.WaitlistOffer) (json.RawMessage, error) {
			cal, err := svc.Calendar(ctx)
			if err != nil {
				return nil, err
			}
			return tmfrest.WaitlistOfferJSON(e, o, cal)
		},
		Match: tmfrest.MatchQuery, Resync: svc.Events, MayRead: svc.MayRead,
		Secret: []byte(cfg.notifySecret), AllowedNetworks: cfg.callbackNetworks,
		Timeout: cfg.hooks.notifyTimeout, LeaseMargin: cfg.hooks.notifyLeaseMargin, TracerProvider: tp,
		Registerer: reg, Logger: logger, Now: cfg.hooks.clock(), Instance: h.instance})
	if err != nil {
		h.close()
		return nil, err
	}
	notifier = h.notifier
	deps := []dependency{
		{name: "mongodb", mode: st.mongoMode, required: true, ping: st.mongo.Ping},
		{name: "redis", mode: st.redisMode, ping: func(ctx context.Context) error {
			if err := rediscache.Ping(ctx, st.redis); err != nil {
				return err
			}
			if cache.Stale() {
				return apphub.Errorf(apphub.EUNAVAILABLE, "Redis answers again; the availability cache is not trusted until it is marked stale")
			}
			return nil
		}},
	}

	limits, err := newRateLimiter(st, reg, breaker, cfg, logger)
	if err != nil {
		h.close()
		return nil, err
	}
	h.limits = limits
	origins := originPatterns(splitList(cfg.allowedOrigins))

	h.streams, h.endStreams = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	gqlOpts := resolvers.Options{Shutdown: h.streams, MaxDepth: cfg.maxDepth, MaxComplexity: cfg.maxComplexity, MaxBodyBytes: int64(cfg.graphqlMaxBody), MaxTokens: cfg.graphqlMaxTokens,
		DisableIntrospection: !cfg.graphqlIntrospection, AllowedOrigins: origins,
		MaxSubscriptionsPerConnection: cfg.wsMaxSubscriptions, MaxConnectionsPerPrincipal: cfg.wsMaxConnections,
		QueryCache: rediscache.NewQueryCache(st.redis, cfg.redisPrefix, 24*time.Hour), Authenticate: auth.Authenticate, Now: cfg.hooks.clock(),
		Limit: func(ctx context.Context, class string) error { return limits.Allow(ctx, class, rateKey(ctx)) }}
	gqlOpts.TracerProvider = tp
	mux.Handle("/graphql", resolvers.NewHandler(&resolvers.Resolver{Service: timed, Version: version(), Events: bus, PublicURL: cfg.publicURL}, logger, gqlOpts))
	mux.Handle("GET "+explorer.AssetsPath, explorer.Assets())
	mux.Handle(tmfrest.BasePath, tmfrest.NewHandler(timed, logger, tmfrest.Options{PublicURL: cfg.publicURL}))
	mux.Handle("GET "+resolvers.CalendarPath+"{file}", calendarFile(svc, requestBase(cfg.publicURL)))
	mux.HandleFunc("GET /healthz", healthHandler)
	mux.Handle("GET /readyz", readyHandler(deps, 2*time.Second))
	mux.Handle("/", webapp.Handler(webAppConfig(cfg)))
	docs := apidocs.Handler()
	mux.Handle(apidocs.Path, docs)
	mux.Handle(apidocs.Path+"/", docs)
	if cfg.localKeyMode() {
		key, err := identity.OpenLocalKey(cfg.dataDir)
		if err != nil {
			h.close()
			return nil, err
		}
		mux.Handle("POST /demo/sign-in", demoSignIn(key, cfg.hooks.clock(), limits))
	}

	h.handler = withDeadlines(&edge{mux: mux, authenticate: auth.Authenticate, limits: limits, cors: newCORS(origins),
		trusted: cfg.trusted, logger: logger, metrics: metrics}, cfg.readTimeout, cfg.writeTimeout)
	if tp != nil {
		h.handler = traceRequests(h.handler, mux, tp, propagator)
	}
	h.admin = adminHandler(reg)
	return h, nil
}

// webAppConfig tells the web app how to sign people in: the demo sign-in in local-key mode, the
// identity provider's when the app has a client there, else none.
func webAppConfig(cfg config) webapp.Config {
	switch {
	case cfg.localKeyMode():
		return webapp.Config{SignIn: webapp.SignInDemo}
	case cfg.oidcClientID != "":
		return webapp.Config{SignIn: webapp.SignInOIDC, OIDC: &webapp.OIDCConfig{Authority: cfg.oidcIssuer, ClientID: cfg.oidcClientID, Scope: cfg.oidcScope}}
	}
	return webapp.Config{SignIn: webapp.SignInNone}
}

// newTokenVerifier returns the verifier of bearer tokens: the identity provider's with
// --oidc-issuer, else the hub's own local key in the data directory (local-key mode), which it
// announces with a warning, since whoever can read that directory can be anyone.
func newTokenVerifier(cfg config, logger *slog.Logger) (*identity.Verifier, error) {
	if !cfg.localKeyMode() {
		// The key set is fetched in the background of requests, with this context: it must
		// outlive any one of them, and a provider that hangs must not hang every verification.
		ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 10 * time.Second})
		v, err := identity.NewVerifier(ctx, identity.Config{Issuer: cfg.oidcIssuer, Audience: cfg.oidcAudience,
			JWKSURL: cfg.jwksURL, JWKSFile: cfg.jwksFile, PartyClaim: cfg.partyClaim, DefaultRole: cfg.oidcDefaultRole, Now: cfg.hooks.clock()})
		if err != nil {
			return nil, err
		}
		logger.Info("bearer tokens of an identity provider", "issuer", cfg.oidcIssuer, "audience", cfg.oidcAudience,
			"jwks", cmp.Or(cfg.jwksURL, cfg.jwksFile), "partyClaim", cfg.partyClaim, "defaultRole", cfg.oidcDefaultRole, "webClientID", cfg.oidcClientID)
		return v, nil
	}
	key, err := identity.OpenLocalKey(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	kc := key.Config()
	kc.Now = cfg.hooks.clock()
	v, err := identity.NewVerifier(context.Background(), kc)
	if err != nil {
		return nil, err
	}
	logger.Warn("local-key mode: no identity provider is configured (--oidc-issuer), so bearer tokens are signed by a key in the data directory, "+
		"and whoever can read it can be anyone: for trying the hub out only",
		"key", identity.LocalKeyPath(cfg.dataDir), "mint", "apphub token --data-dir "+cfg.dataDir+" --party ops --role admin")
	return v, nil
}

// serve answers requests on ln (and the operators' on admin, when not nil) until ctx ends,
// then stops accepting, waits up to shutdownTimeout for the requests in flight and returns.
func (h *hub) serve(ctx context.Context, ln, admin net.Listener, shutdownTimeout time.Duration) error {
	// Event streams' contexts end when the shutdown begins (websockets watch h.streams
	// themselves: they outlive their requests). Other requests keep theirs and are drained.
	defer h.endStreams()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStream(r) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(h.streams, cancel)()
			r = r.WithContext(ctx)
		}
		h.handler.ServeHTTP(w, r)
	})
	// The request's own deadlines are set per request (withDeadlines), since streams must have
	// none; the headers have theirs here, and a bounded size (a GET's query string included).
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn),
	}
	var adminSrv *http.Server
	if admin != nil {
		adminSrv = &http.Server{Handler: h.admin, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(h.logger.Handler(), slog.LevelWarn)}
		go adminSrv.Serve(admin)
		defer adminSrv.Close()
	}
	// Background work: the reaper, the relay of changes left in flight, the waitlist's offers,
	// the bus's reader that brings other instances' events, and the notifier, subscribed
	// before the first request and the relay's first pass so that it misses no event.
	h.listenURL = baseURL(ln.Addr())
	background, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	events := h.bus.Subscribe(background)
	wg.Go(func() { h.svc.RunReaper(background, h.reapInterval) })
	wg.Go(func() { h.svc.RunRelay(background, time.Second) })
	wg.Go(func() { h.svc.RunWaitlist(background, h.reapInterval) })
	wg.Go(func() { h.bus.Run(background, h.svc.Events) })
	wg.Go(func() { h.notifier.Run(background) })
	wg.Go(func() { h.notifier.Consume(background, events) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer func() {
		stopBackground()
		wg.Wait()
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	h.logger.Info("shutting down", "timeout", shutdownTimeout)
	h.endStreams()
	h.bus.Close() // ends the subscriptions' event channels
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		h.logger.Warn("requests still running at the end of the shutdown timeout were cut", "err", err)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (h *hub) close() error {
	if h.limits != nil {
		h.limits.Close()
	}
	h.bus.Close()
	h.cache.Close()
	h.breaker.Close()
	err := h.stores.close(context.Background())
	// Last, so that the spans of the shutdown are exported too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if terr := h.shutdownTracing(ctx); terr != nil {
		h.logger.Warn("tracing: spans not exported at shutdown", "err", terr)
	}
	return err
}

// setupTracing returns the hub's tracer provider — the tests' own (hooks), else the one the
// OTEL_* variables read through getenv ask for — or nil when tracing is off, with the
// propagator of trace context and the function that flushes the provider on exit.
func setupTracing(ctx context.Context, hk hooks, getenv func(string) string) (trace.TracerProvider, propagation.TextMapPropagator, func(context.Context) error, error) {
	if hk.tracerProvider != nil {
		// The test flushes and stops its own provider.
		return hk.tracerProvider, tracing.Propagator(), func(context.Context) error { return nil }, nil
	}
	tp, propagator, shutdown, err := tracing.Setup(ctx, getenv, "apphub", version())
	if err != nil {
		return nil, nil, nil, err
	}
	if !tracing.Enabled(tp) {
		// Nothing is instrumented then: a hub without tracing does no tracing work.
		tp = nil
	}
	return tp, propagator, shutdown, nil
}

// traceRequests makes every request but the probes' a server span of tp (otelhttp), named
// "METHOD route" after the pattern of mux that serves it, as a child of the caller's span when
// the request carries a W3C traceparent.
func traceRequests(next http.Handler, mux *http.ServeMux, tp trace.TracerProvider, propagator propagation.TextMapPropagator) http.Handler {
	return otelhttp.NewHandler(next, "apphub", otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return routeSpanName(mux, r) }),
		// Probes come every few seconds and say nothing about a request: a trace each would
		// bury the others.
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/healthz" && r.URL.Path != "/readyz" }))
}

// routeSpanName is "METHOD route": the request's method and the pattern of mux that serves it
// (a pattern that names its method is used as it is), or the method alone when none does. The
// path itself never names a span: it holds ids, and span names must stay few.
func routeSpanName(mux *http.ServeMux, r *http.Request) string {
	_, pattern := mux.Handler(r)
	switch {
	case pattern == "":
		return r.Method
	case strings.HasPrefix(pattern, "/"):
		return r.Method + " " + pattern
	default:
		return pattern
	}
}

// serve is the serve subcommand.
func serve(ctx context.Context, cfg config, logger *slog.Logger, stderr io.Writer) error {
	h, err := newHub(cfg, logger, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if err := h.close(); err != nil {
			logger.Warn("closing the stores", "err", err)
		}
		logger.Info("stopped")
	}()
	if cfg.demo {
		if err := loadDemo(ctx, h.svc, logger, nil); err != nil {
			return err
		}
	}
	addr := cfg.listenAddr()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	var admin net.Listener
	if cfg.adminAddr != "" {
		if admin, err = net.Listen("tcp", cfg.adminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("--admin-addr: listen on %s: %w", cfg.adminAddr, err)
		}
	}
	base := baseURL(ln.Addr())
	logger.Info("apphub serving",
		"version", version(),
		"instance", h.instance,
		"addr", ln.Addr().String(),
		"graphql", base+"/graphql",
		"tmf646", base+tmfrest.BasePath,
		"healthz", base+"/healthz",
		"readyz", base+"/readyz",
		"admin", listenerURL(admin),
		"mongodb", describeStore(h.stores.mongoMode, "FerretDB 1.24.2 (SQLite) in "+cfg.dataDir, h.stores.mongoURI),
		"redis", describeStore(h.stores.redisMode, "miniredis", h.stores.redisURL),
		"identity", describeIdentity(cfg),
	)
	return h.serve(ctx, ln, admin, cfg.shutdownTimeout)
}

// publicBase is the scheme and host in the hrefs of notifications.
func (h *hub) publicBase() string {
	if h.publicURL != "" {
		return strings.TrimRight(h.publicURL, "/")
	}
	return h.listenURL
}

// isStream reports whether r opens a subscription: a websocket upgrade or an event stream.
func isStream(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// baseURL is the URL a local client uses to reach addr: a wildcard host becomes localhost.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func describeIdentity(cfg config) string {
	if cfg.localKeyMode() {
		return "local key in " + cfg.dataDir
	}
	return "identity provider " + cfg.oidcIssuer
}

func describeStore(mode, embedded, uri string) string {
	if mode == "embedded" {
		return "embedded " + embedded + " at " + redactURL(uri)
	}
	return "external " + redactURL(uri)
}
