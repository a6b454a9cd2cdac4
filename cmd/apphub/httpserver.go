package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/apphub/apphub"
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
	return m
}

// plainID accepts an id a caller sends (X-Request-Id, X-Party-Id) only when it is short and
// plain, so that it can go into logs, headers and keys as it is.
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

// instrument gives every request an id (the caller's X-Request-Id when valid), answers it in
// X-Request-Id, puts the principal (X-Party-Id) in the context, and records one log line
// and the metrics once the request is answered. The route is the ServeMux pattern that
// matched, so that metric labels stay few.
func instrument(next http.Handler, logger *slog.Logger, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !plainID(id) {
			id = rand.Text()[:20]
		}
		w.Header().Set("X-Request-Id", id)
		// Authentication is a gateway's job here: it names the caller in X-Party-Id. The party
		// scopes idempotency keys and is recorded on what the caller books.
		var party string
		if p := r.Header.Get("X-Party-Id"); plainID(p) {
			party = p
		}
		ctx := apphub.NewContextWithPrincipal(r.Context(), apphub.Principal{PartyID: party})
		r = r.WithContext(ctx)

		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)

		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		status := sw.statusCode()
		elapsed := time.Since(start)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
		logger.LogAttrs(ctx, slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("bytes", sw.bytes),
			slog.String("request_id", id),
			slog.String("remote", r.RemoteAddr),
		)
	})
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
	Status string                 `json:"status"` // ready, degraded or unavailable
	Checks map[string]checkResult `json:"checks"`
}

// readyHandler pings every dependency at once. Only a required dependency that is down makes
// the hub unavailable (503); any other makes it degraded, still 200, because the hub still
// serves (docs/design.md: without Redis, searches read MongoDB).
func readyHandler(deps []dependency, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res := readiness{Status: "ready", Checks: make(map[string]checkResult, len(deps))}
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
