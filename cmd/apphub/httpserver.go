package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/tmfrest"
)

// httpMetrics are the per-request Prometheus metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apphub_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apphub_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerBuildInfo(reg, readBuild())
	return m
}

// plainID accepts an id a caller sends (X-Request-Id) only when it is short and plain, so that
// it can go into logs and headers as it is.
func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// authenticateFunc tells who sent a credential (identity.Authenticator.Authenticate).
type authenticateFunc func(ctx context.Context, credential string) (apphub.Principal, error)

// edge is the hub's outermost handler. It gives every request an id (the caller's
// X-Request-Id when valid), answered in X-Request-Id; finds the client's address (behind
// --trusted-proxies); authenticates the Authorization header; answers CORS for the channel
// origins on the APIs; spends the caller's TMF646 budget (GraphQL operations spend theirs once
// parsed, in resolvers); and records one log line and the metrics once the request is
// answered.
//
// A request with a credential that is not valid is answered 401 at once, in the format of the
// API it was sent to: a caller that sent a credential meant to be someone, and serving it as
// nobody would only confuse it. Otherwise the principal (anonymous without a credential) goes
// into the request's context, where booking decides what it may do. The route is the ServeMux
// pattern that matched, and the method a known one or OTHER, so that metric labels stay few.
type edge struct {
	mux          *http.ServeMux
	authenticate authenticateFunc
	limits       limiter // nil: no budgets
	cors         *cors.Cors
	trusted      []netip.Prefix // --trusted-proxies
	logger       *slog.Logger
	metrics      *httpMetrics
}

func (e *edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !plainID(id) {
		id = rand.Text()[:20]
	}
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	ip := clientIP(r, e.trusted)
	p, authErr := e.authenticate(r.Context(), r.Header.Get("Authorization"))
	ctx := context.WithValue(apphub.NewContextWithPrincipal(withRequestID(r.Context(), id), p), clientIPKey{}, ip)
	r = r.WithContext(ctx)
	if ip.IsValid() {
		// What the handlers see as the remote address is the client's, not the proxy's (the
		// websocket transport counts connections per address).
		r.RemoteAddr = netip.AddrPortFrom(ip, 0).String()
	}

	sw := &statusWriter{ResponseWriter: w}
	api := apiPath(r.URL.Path)
	if api {
		// Appointments are personal data: no cache may keep them.
		sw.Header().Set("Cache-Control", "no-store")
	}
	var route string
	switch {
	case api && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "":
		e.cors.HandlerFunc(sw, r) // a preflight: answered here, never by the APIs
	case authErr != nil:
		if api {
			e.cors.HandlerFunc(sw, r)
		}
		refuseCredential(sw, r, authErr, e.logger)
	default:
		if api {
			e.cors.HandlerFunc(sw, r)
		}
		if err := e.spend(r); err != nil {
			if api {
				tmfrest.WriteError(sw, err)
			} else { // a calendar file, fetched by a calendar app: plain text
				if re, ok := errors.AsType[*apphub.Error](err); ok && re.RetryAfter > 0 {
					sw.Header().Set("Retry-After", strconv.Itoa(apphub.RetryAfterSeconds(re.RetryAfter)))
				}
				http.Error(sw, apphub.ErrorMessage(err), http.StatusTooManyRequests)
			}
			break
		}
		e.mux.ServeHTTP(sw, r)
		route = r.Pattern
	}
	if route == "" {
		_, route = e.mux.Handler(r)
	}
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path // "GET /readyz": the method is a label of its own
	}
	if route == "" {
		route = "unmatched"
	}
	status := sw.statusCode()
	elapsed := time.Since(start)
	method := methodLabel(r.Method)
	e.metrics.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	e.metrics.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", elapsed),
		slog.Int64("bytes", sw.bytes),
		slog.String("remote", ip.String()),
		// Who called, by its Ref (e.g. "partner:acme"), never by its credential.
		slog.String("principal", p.Ref()),
	}
	if authErr != nil {
		attrs = append(attrs, slog.String("auth_error", apphub.ErrorMessage(authErr)))
	}
	e.logger.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

// spend takes a request's cost from its caller's budget: a TMF646 request's, and a calendar
// file's, which anyone holding its link may fetch (by address, anonymously) until it expires.
// GraphQL operations spend theirs once parsed (resolvers).
func (e *edge) spend(r *http.Request) error {
	if e.limits == nil || !strings.HasPrefix(r.URL.Path, tmfrest.BasePath) && !strings.HasPrefix(r.URL.Path, resolvers.CalendarPath) {
		return nil
	}
	class := rateClass(r)
	if class == "" {
		return nil
	}
	return e.limits.Allow(r.Context(), class, rateKey(r.Context()))
}

// wwwAuthenticate is the challenge of a 401 (RFC 6750): the credential sent is not valid.
const wwwAuthenticate = `Bearer realm="apphub", error="invalid_token"`

// refuseCredential answers a request whose credential could not be verified: 401 for a
// credential that is not valid (UNAUTHENTICATED), 503 when it cannot be checked now (an API
// key's store is unreachable). The body is the API's own error format: a TMF Error on the
// TMF646 API, a GraphQL error with extensions.code on /graphql, plain text elsewhere.
func refuseCredential(w http.ResponseWriter, r *http.Request, err error, logger *slog.Logger) {
	status, code, message := http.StatusUnauthorized, apphub.EUNAUTHENTICATED, apphub.ErrorMessage(err)
	switch apphub.ErrorCode(err) {
	case apphub.EUNAUTHENTICATED:
		w.Header().Set("WWW-Authenticate", wwwAuthenticate)
	case apphub.EUNAVAILABLE:
		status, code = http.StatusServiceUnavailable, apphub.EUNAVAILABLE
	default:
		logger.ErrorContext(r.Context(), "verifying a credential", "err", err)
		status, code, message = http.StatusInternalServerError, apphub.EINTERNAL, "internal error"
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case strings.HasPrefix(r.URL.Path, tmfrest.BasePath):
		tmfrest.WriteError(w, &apphub.Error{Code: code, Message: message})
	case r.URL.Path == "/graphql":
		// A GraphQL-over-HTTP error: the request never reached an operation, so there is no data.
		body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": message, "extensions": map[string]string{"code": code}}}})
		w.Header().Set("Content-Type", resolvers.ResponseMediaType(r))
		w.WriteHeader(status)
		w.Write(append(body, '\n'))
	default:
		http.Error(w, message, status)
	}
}

// statusWriter remembers the status and size of a response. It passes flushing and hijacking
// through, so that streaming and websocket transports work behind it.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// dependency is a store that readiness checks.
type dependency struct {
	name     string
	mode     string // embedded or external
	required bool   // the hub cannot serve without it
	ping     func(ctx context.Context) error
}

type checkResult struct {
	Status    string  `json:"status"` // up or down
	Mode      string  `json:"mode"`
	Required  bool    `json:"required"`
	LatencyMS float64 `json:"latencyMs"`
	Error     string  `json:"error,omitempty"`
}

type readiness struct {
	Status  string                 `json:"status"` // ready, degraded or unavailable
	Version string                 `json:"version"`
	Checks  map[string]checkResult `json:"checks"`
}

// readyHandler pings every dependency at once. Only a required dependency that is down makes
// the hub unavailable (503); any other makes it degraded, still 200, because the hub still
// serves (docs/design.md: without Redis, searches read MongoDB).
func readyHandler(deps []dependency, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res := readiness{Status: "ready", Version: version(), Checks: make(map[string]checkResult, len(deps))}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, d := range deps {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(r.Context(), timeout)
				defer cancel()
				start := time.Now()
				err := d.ping(ctx)
				c := checkResult{Status: "up", Mode: d.mode, Required: d.required,
					LatencyMS: float64(time.Since(start).Microseconds()) / 1000}
				if err != nil {
					c.Status, c.Error = "down", apphub.ErrorMessage(err)
				}
				mu.Lock()
				defer mu.Unlock()
				res.Checks[d.name] = c
				switch {
				case err == nil:
				case d.required:
					res.Status = "unavailable"
				case res.Status == "ready":
					res.Status = "degraded"
				}
			})
		}
		wg.Wait()
		status := http.StatusOK
		if res.Status == "unavailable" {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, res)
	}
}

func healthHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
