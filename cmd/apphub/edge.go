package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/cors"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/tmfrest"
)

// The edge: what every request meets before an API sees it. Who the client is (its address
// behind trusted proxies), what it may spend (rate limits), how long it may take (deadlines),
// which browser origins may call (CORS), and the headers every answer carries.

// limiter spends a caller's budget (rediscache.RateLimiter): nil, or an ERATELIMITED error
// with RetryAfter.
type limiter interface {
	Allow(ctx context.Context, class, key string) error
}

// clientIPKey is the context key of the client's address, for the rate limits of anonymous
// callers.
type clientIPKey struct{}

// rateKey is whose budget a request spends: its principal's, or for an anonymous caller its
// address's.
func rateKey(ctx context.Context) string {
	if p := apphub.PrincipalFromContext(ctx); !p.Anonymous() {
		return p.Ref()
	}
	ip, _ := ctx.Value(clientIPKey{}).(netip.Addr)
	return "ip:" + ip.String()
}

// parseCIDRs parses a list of CIDR prefixes or single addresses (--trusted-proxies).
func parseCIDRs(flagName string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is neither an IP address nor a CIDR prefix", flagName, s)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

func containsIP(nets []netip.Prefix, ip netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP is the address of the client that sent r: the peer's, unless the peer is a trusted
// proxy, in which case the right-most address of X-Forwarded-For that is not a trusted proxy
// itself (the left-most ones are whatever the client wrote). Without trusted proxies the
// header is ignored: anyone could write it.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if !containsIP(trusted, ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a malformed hop: the last address we can vouch for
		}
		ip = hop.Unmap()
		if !containsIP(trusted, ip) {
			return ip
		}
	}
	return ip
}

// rateClass is the budget a TMF646 request spends: reads and searchTimeSlot tasks are
// searches, the other writes are writes (a caller's budget for reads and searches is separate
// from its budget for changes, so that browsing cannot starve booking). GraphQL requests are classed by their operation,
// once parsed (resolvers.Options.Limit).
func rateClass(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return resolvers.LimitClassSearch
	case r.Method == http.MethodPost && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/searchTimeSlot"):
		return resolvers.LimitClassSearch
	case r.Method == http.MethodOptions:
		return ""
	}
	return resolvers.LimitClassWrite
}

// apiPath reports whether path belongs to one of the APIs (personal data, CORS).
func apiPath(path string) bool {
	return path == "/graphql" || strings.HasPrefix(path, tmfrest.BasePath)
}

// knownMethods bound the method label of the metrics: any other method is OTHER, so that a
// caller cannot create series at will.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "OTHER"
}

// newCORS allows the channel origins to call the APIs from a browser. Credentials are bearer
// tokens in the Authorization header, never cookies, so credentialed CORS stays off. With no
// origin configured, it answers nothing: browsers then refuse cross-origin calls.
func newCORS(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept", "If-Match", "Idempotency-Key", "X-Request-Id"},
		ExposedHeaders: []string{"Location", "ETag", "Retry-After", "X-Request-Id", "X-Total-Count", "X-Result-Count", "Content-Range"},
		MaxAge:         600,
	})
}

// originPatterns turns --allowed-origins into origins: an entry without a scheme is an https
// origin (browsers send the scheme; a channel app is served over https).
func originPatterns(list []string) []string {
	out := make([]string, 0, len(list))
	for _, o := range list {
		if !strings.Contains(o, "://") {
			o = "https://" + o
		}
		out = append(out, strings.TrimRight(strings.ToLower(o), "/"))
	}
	return out
}

// withDeadlines bounds the time a request may take to be read (its body included: a client
// that sends one byte at a time is cut off) and to be answered, and cancels the work when the
// answer is due. Streams (websockets, server-sent events) have neither: they last as long as
// their credential, and the transports ping them.
func withDeadlines(next http.Handler, read, write time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if isStream(r) {
			// A keep-alive connection may carry a stream after an ordinary request: the
			// deadlines set for that one must not cut the stream.
			rc.SetReadDeadline(time.Time{})
			rc.SetWriteDeadline(time.Time{})
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		rc.SetReadDeadline(now.Add(read))
		rc.SetWriteDeadline(now.Add(write))
		ctx, cancel := context.WithDeadline(r.Context(), now.Add(write))
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// adminHandler serves what only operators should reach: the metrics and the profiler.
func adminHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(reg))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", healthHandler)
	return mux
}

// listenerURL is the base URL of a listener, or "" when there is none.
func listenerURL(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return baseURL(ln.Addr())
}

// maxHeaderBytes bounds a request's headers, a GET's query string included: a GraphQL
// document sent by GET is bounded like one sent by POST.
const maxHeaderBytes = 64 << 10

// newRateLimiter is the budgets of --rate-search and --rate-write, kept in Redis.
func newRateLimiter(st *stores, reg prometheus.Registerer, breaker *rediscache.Breaker, cfg config, logger *slog.Logger) (*rediscache.RateLimiter, error) {
	return rediscache.NewRateLimiter(st.redis, reg, rediscache.RateLimitOptions{Prefix: cfg.redisPrefix, Budgets: cfg.budgets,
		Breaker: breaker, Logger: logger})
}
