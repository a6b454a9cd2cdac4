package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/testclock"
)

// startTracedHub is startHub with tp as the hub's tracer provider.
func startTracedHub(t *testing.T, env map[string]string, tp trace.TracerProvider) *testHub {
	t.Helper()
	var cfg config
	fs, err := newFlagSet("serve", &cfg, envFunc(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	cfg.hooks = testHooks()
	cfg.hooks.tracerProvider = tp
	testclock.Report(t)
	logs := &syncBuffer{}
	h, err := newHub(cfg, newLogger(logs, cfg.logFormat, cfg.logLevel), logs)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.serve(ctx, ln, nil, cfg.shutdownTimeout) }()
	stop := sync.OnceValue(func() error {
		cancel()
		err := <-done
		if cerr := h.close(); err == nil {
			err = cerr
		}
		return err
	})
	t.Cleanup(func() { stop() })
	return &testHub{url: "http://" + ln.Addr().String(), dir: cfg.dataDir, hub: h, logs: logs, stop: stop}
}

// traceparents is a TMF646 listener that keeps the traceparent header of each event.
type traceparents struct {
	mu  sync.Mutex
	got map[string]string // event name → traceparent
}

func (l *traceparents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.got[strings.TrimPrefix(r.URL.Path, "/listener/")] = r.Header.Get("traceparent")
	l.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (l *traceparents) of(event string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tp, ok := l.got[event]
	return tp, ok
}

// A booking sent with a W3C traceparent is one trace, from the request (otelhttp) through the
// GraphQL operation (otelgqlgen) to the MongoDB inserts (the command monitor) and the Redis
// touch (redisotel), and its hub notification carries that trace on to the listener.
func TestTracingOneTracePerBooking(t *testing.T) {
	t.Parallel()
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })

	env := sharedStores(t)
	env["APPHUB_NOTIFY_ALLOW"] = "127.0.0.1/32" // the listener is on loopback
	h := startTracedHub(t, env, tp)
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	l := &traceparents{got: map[string]string{}}
	partner := httptest.NewServer(l)
	defer partner.Close()
	admin := h.token(t, adminParty, apphub.RoleAdmin)
	if code, out := tmf(t, admin, "POST", h.url+"/tmf-api/appointment/v4/hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL)); code != http.StatusCreated {
		t.Fatalf("hub registration: %d %v", code, out)
	}
	start, tech, _ := firstSlot(t, h)

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body, _ := json.Marshal(map[string]any{"query": `mutation Book($s: Time!, $r: ID!) {
		bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) { appointment { id } error { code message } } }`,
		"variables": map[string]any{"s": start, "r": tech}})
	req, _ := http.NewRequest("POST", h.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token(t, "traced-1", apphub.RoleCustomer))
	req.Header.Set("traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(answer), `"appointment":{"id":`) {
		t.Fatalf("booking: %s", answer)
	}

	// The notification: its traceparent is of the same trace, from the delivery's own span.
	var sent string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var ok bool
		if sent, ok = l.of("appointmentCreateEvent"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no appointmentCreateEvent reached the listener")
		}
	}
	parts := strings.Split(sent, "-")
	if len(parts) != 4 || parts[1] != traceID {
		t.Fatalf("the notification's traceparent is %q, want one of trace %s", sent, traceID)
	}

	// The spans of the trace; the server's span ends after the answer was sent.
	type want struct {
		what  string
		match func(sdktrace.ReadOnlySpan) bool
	}
	scope := func(s sdktrace.ReadOnlySpan) string { return s.InstrumentationScope().Name }
	wants := []want{
		{"the request's server span (otelhttp), a child of the caller's", func(s sdktrace.ReadOnlySpan) bool {
			return strings.HasSuffix(scope(s), "/otelhttp") && s.SpanKind() == trace.SpanKindServer && s.Name() == "POST /graphql" &&
				s.Parent().SpanID().String() == callerSpan
		}},
		{"the GraphQL operation's span (otelgqlgen)", func(s sdktrace.ReadOnlySpan) bool {
			return scope(s) == "github.com/ravilushqa/otelgqlgen" && s.Name() == "Book"
		}},
		{"a MongoDB insert (the command monitor)", func(s sdktrace.ReadOnlySpan) bool {
			return scope(s) == "github.com/apphub/apphub/storage/mongodb" && strings.HasPrefix(s.Name(), "insert ") &&
				hasAttr(s, "db.operation.name", "insert") && hasAttr(s, "db.system", "mongodb") && s.SpanKind() == trace.SpanKindClient
		}},
		{"the Redis touch (redisotel): its pipeline of scripts", func(s sdktrace.ReadOnlySpan) bool {
			return strings.HasPrefix(scope(s), "github.com/redis/go-redis/extra/redisotel") && strings.HasPrefix(s.Name(), "redis.pipeline ") &&
				strings.Contains(s.Name(), "evalsha")
		}},
		{"the notification's client span, the one the listener was told of", func(s sdktrace.ReadOnlySpan) bool {
			return s.Name() == "notify appointmentCreateEvent" && s.SpanKind() == trace.SpanKindClient && s.SpanContext().SpanID().String() == parts[2]
		}},
	}
	var spans []sdktrace.ReadOnlySpan
	missing := wants
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		spans = spans[:0]
		for _, s := range exporter.GetSpans().Snapshots() {
			if s.SpanContext().TraceID().String() == traceID {
				spans = append(spans, s)
			}
		}
		missing = slices.DeleteFunc(slices.Clone(wants), func(w want) bool { return slices.ContainsFunc(spans, w.match) })
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, w := range missing {
		t.Errorf("no span in the trace is %s", w.what)
	}
	// Every span of the store clients descends from the request's: one trace, not pieces.
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "insert ") && !strings.HasPrefix(s.Name(), "redis.pipeline ") {
			continue
		}
		p, ok := s, true
		for ok && !(p.SpanKind() == trace.SpanKindServer && strings.HasSuffix(scope(p), "/otelhttp")) {
			p, ok = byID[p.Parent().SpanID()]
		}
		if !ok {
			t.Errorf("span %q does not descend from the request's span", s.Name())
		}
	}
	// What is never recorded: Redis commands' arguments, GraphQL variables.
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if a.Key == "db.statement" || a.Key == "db.query.text" || strings.HasPrefix(string(a.Key), "gql.request.variables") {
				t.Errorf("span %q records %s = %q", s.Name(), a.Key, a.Value.String())
			}
		}
	}
	if t.Failed() {
		for _, s := range spans {
			t.Logf("span %q kind %v scope %s parent %s", s.Name(), s.SpanKind(), scope(s), s.Parent().SpanID())
		}
	}
}

func hasAttr(s sdktrace.ReadOnlySpan, key, value string) bool {
	return slices.Contains(s.Attributes(), attribute.String(key, value))
}

// Tracing is off unless the OTEL_* variables ask for an exporter: there is no provider then,
// so nothing is instrumented. A setting the hub cannot honour stops it.
func TestTracingSetup(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr string
	}{
		{name: "no OTEL_* variables", env: nil},
		{name: "an endpoint, the exporter off", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "an endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, on: true},
		{name: "otlp, the default endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{name: "an exporter the hub lacks", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, propagator, shutdown, err := setupTracing(context.Background(), hooks{}, envFunc(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown(context.Background())
			if (tp != nil) != tt.on {
				t.Fatalf("provider %T, want tracing on: %v", tp, tt.on)
			}
			if !slices.Contains(propagator.Fields(), "traceparent") {
				t.Fatalf("the propagator's fields are %v", propagator.Fields())
			}
		})
	}
	// The tests' provider wins over the environment.
	own := sdktrace.NewTracerProvider()
	defer own.Shutdown(context.Background())
	if tp, _, _, err := setupTracing(context.Background(), hooks{tracerProvider: own}, envFunc(nil)); err != nil || tp != trace.TracerProvider(own) {
		t.Fatalf("with a provider in hooks: %v, %v", tp, err)
	}
}

// A request's span is named after the route that serves it, never its path.
func TestTracingRouteSpanName(t *testing.T) {
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/graphql", ok)
	mux.Handle("/tmf-api/appointment/v4/", ok)
	mux.Handle("GET /healthz", ok)
	tests := []struct{ method, path, want string }{
		{"POST", "/graphql", "POST /graphql"},
		{"GET", "/tmf-api/appointment/v4/appointment/42", "GET /tmf-api/appointment/v4/"},
		{"GET", "/healthz", "GET /healthz"},
		{"DELETE", "/healthz", "DELETE"},
		{"GET", "/nothing/here", "GET"},
	}
	for _, tt := range tests {
		if got := routeSpanName(mux, httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
