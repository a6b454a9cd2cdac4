package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// collector is an OTLP/HTTP endpoint that keeps what it receives.
type collector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	paths    []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.requests = append(c.requests, &req)
	c.paths = append(c.paths, r.URL.Path)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(nil)
}

// spans returns "service.name/span name" for every span received.
func (c *collector) spans() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, req := range c.requests {
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, a := range rs.Resource.GetAttributes() {
				if a.Key == "service.name" {
					service = a.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, service+"/"+s.Name)
				}
			}
		}
	}
	return out
}

// Which variables turn the exporter on, and where its spans go: one span started and flushed
// reaches the collector exactly when tracing is on.
func TestSetup(t *testing.T) {
	tests := []struct {
		name     string
		env      func(url string) map[string]string
		want     string // the span received, "service/name"; "" for none
		wantPath string
		wantErr  string
	}{
		{name: "no variables", env: func(string) map[string]string { return nil }},
		{name: "an endpoint", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url}
		}, want: "apphub/op", wantPath: "/v1/traces"},
		{name: "a traces endpoint, used as it is", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": url + "/custom"}
		}, want: "apphub/op", wantPath: "/custom"},
		{name: "otlp asked for, a service name given", env: func(url string) map[string]string {
			return map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": url + "/", "OTEL_SERVICE_NAME": "hub-eu"}
		}, want: "hub-eu/op", wantPath: "/v1/traces"},
		{name: "an endpoint, the exporter none", env: func(url string) map[string]string {
			return map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": url}
		}},
		{name: "an endpoint, the SDK disabled", env: func(url string) map[string]string {
			return map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": url}
		}},
		{name: "an endpoint, sampled out", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_TRACES_SAMPLER": "always_off"}
		}},
		{name: "another exporter", env: func(url string) map[string]string {
			return map[string]string{"OTEL_TRACES_EXPORTER": "console"}
		}, wantErr: "OTEL_TRACES_EXPORTER"},
		{name: "grpc", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
		}, wantErr: "http/protobuf"},
		{name: "an unknown sampler", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_TRACES_SAMPLER": "sometimes"}
		}, wantErr: "OTEL_TRACES_SAMPLER"},
		{name: "a ratio that is not one", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}
		}, wantErr: "OTEL_TRACES_SAMPLER_ARG"},
		{name: "resource attributes that are not key=value", env: func(url string) map[string]string {
			return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_RESOURCE_ATTRIBUTES": "env"}
		}, wantErr: "OTEL_RESOURCE_ATTRIBUTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{}
			srv := httptest.NewServer(c)
			defer srv.Close()
			tp, propagator, shutdown, err := Setup(context.Background(), envOf(tt.env(srv.URL)), "apphub", "v1.2.3")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if propagator == nil || !strings.Contains(strings.Join(propagator.Fields(), ","), "traceparent") {
				t.Fatalf("propagator %v", propagator)
			}
			if got, want := Enabled(tp), tt.wantPath != "" || strings.Contains(tt.name, "sampled out"); got != want {
				t.Fatalf("Enabled = %v, want %v (%T)", got, want, tp)
			}
			_, span := tp.Tracer("test").Start(context.Background(), "op")
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := c.spans()
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("spans exported: %v", got)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.want || c.paths[0] != tt.wantPath {
				t.Fatalf("exported %v to %v, want [%s] to %s", got, c.paths, tt.want, tt.wantPath)
			}
		})
	}
}

func TestTraceID(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"no span", context.Background(), ""},
		{"a span", ctx, span.SpanContext().TraceID().String()},
	}
	for _, tt := range tests {
		if got := TraceID(tt.ctx); got != tt.want || (tt.want != "" && len(got) != 32) {
			t.Errorf("%s: TraceID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// WithinTraces starts spans inside a trace (local or remote parent) and none outside.
func TestWithinTraces(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	parentCtx, parent := tp.Tracer("test").Start(context.Background(), "request")
	defer parent.End()
	remote := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true}))
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"outside any trace", context.Background(), false},
		{"under a local span", parentCtx, true},
		{"under a remote span", remote, true},
	}
	tracer := WithinTraces(tp).Tracer("store")
	for _, tt := range tests {
		exporter.Reset()
		_, span := tracer.Start(tt.ctx, "command")
		span.End()
		if got := len(exporter.GetSpans()) == 1; got != tt.want {
			t.Errorf("%s: span recorded %v, want %v", tt.name, got, tt.want)
		}
	}
}
