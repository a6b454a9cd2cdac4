// Package tracing provides the hub's OpenTelemetry tracer provider and propagator, configured
// by the standard OTEL_* environment variables. Tracing is off unless an exporter is asked for:
// the provider is then a no-op one and nothing is exported. When it is on, spans go by OTLP
// over HTTP, batched.
//
// Nothing here is global: the provider is handed to each instrumented package, and
// otel.SetTracerProvider is never called.
package tracing

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Setup returns the tracer provider the OTEL_* variables (read through getenv) ask for, the
// propagator of trace context (W3C traceparent and baggage) and the function that flushes and
// stops the provider on exit. serviceName is the service's name unless OTEL_SERVICE_NAME gives
// one; version is service.version.
//
// Tracing is on when OTEL_TRACES_EXPORTER is otlp, or when it is not set and an OTLP endpoint
// is (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); none, or
// OTEL_SDK_DISABLED=true, turns it off. Off, the provider is a no-op one and shutdown does
// nothing. A setting the hub cannot honour (another exporter, the grpc protocol, an unknown
// sampler) is an error rather than traces silently lost.
//
// The endpoint, the protocol, the sampler (OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG,
// parentbased_always_on by default) and the resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES) are read through getenv; the exporter's other settings (headers,
// certificates, timeout, compression) and the batch processor's (OTEL_BSP_*) are read by the
// OpenTelemetry SDK from the process's environment itself.
func Setup(ctx context.Context, getenv func(string) string, serviceName, version string) (
	provider trace.TracerProvider, propagator propagation.TextMapPropagator, shutdown func(context.Context) error, err error) {
	propagator = Propagator()
	off := func(context.Context) error { return nil }
	on, err := exporting(getenv)
	if err != nil || !on {
		return noop.NewTracerProvider(), propagator, off, err
	}
	sampler, err := samplerOf(getenv)
	if err != nil {
		return noop.NewTracerProvider(), propagator, off, err
	}
	res, err := resourceOf(getenv, serviceName, version)
	if err != nil {
		return noop.NewTracerProvider(), propagator, off, err
	}
	var opts []otlptracehttp.Option
	if endpoint := endpointOf(getenv); endpoint != "" {
		// Given explicitly, so that getenv decides where spans go as it decides whether they go.
		opts = append(opts, otlptracehttp.WithEndpointURL(endpoint))
	}
	exporter, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return noop.NewTracerProvider(), propagator, off, fmt.Errorf("tracing: the OTLP exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	return tp, propagator, tp.Shutdown, nil
}

// Propagator is the hub's propagator of trace context: W3C traceparent and tracestate, and
// W3C baggage.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Enabled reports whether tp records spans: it is neither nil nor a no-op provider. Callers
// instrument nothing when it does not, so that a hub without tracing does no tracing work.
func Enabled(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, off := tp.(noop.TracerProvider)
	return !off
}

// exporting decides from the environment whether spans are exported.
func exporting(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	on := endpointOf(getenv) != ""
	if v := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); v != "" {
		on = false
		// The specification allows a list; the hub has the OTLP exporter only.
		for e := range strings.SplitSeq(v, ",") {
			switch e = strings.ToLower(strings.TrimSpace(e)); e {
			case "otlp":
				on = true
			case "none":
				return false, nil
			default:
				return false, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q: the hub exports traces by otlp only (or none)", v)
			}
		}
	}
	if !on {
		return false, nil
	}
	protocol := cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	if strings.TrimSpace(protocol) != "http/protobuf" {
		return false, fmt.Errorf("tracing: OTLP protocol %q: the hub sends traces by http/protobuf only", protocol)
	}
	return true, nil
}

// endpointOf is the URL spans are sent to, "" for the exporter's default
// (http://localhost:4318/v1/traces). A signal-specific endpoint is used as it is; the general
// one gets the traces path appended, as the specification says.
func endpointOf(getenv func(string) string) string {
	if e := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); e != "" {
		return e
	}
	if e := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); e != "" {
		return strings.TrimRight(e, "/") + "/v1/traces"
	}
	return ""
}

// samplerOf reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
func samplerOf(getenv func(string) string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		arg := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", arg)
		}
		return r, nil
	}
	switch name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))); name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("tracing: OTEL_TRACES_SAMPLER=%q is not a sampler the hub knows", name)
	}
}

// resourceOf describes the process: the SDK's defaults, OTEL_RESOURCE_ATTRIBUTES, then
// service.name (OTEL_SERVICE_NAME, else serviceName) and service.version.
func resourceOf(getenv func(string) string, serviceName, version string) (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	if v := strings.TrimSpace(getenv("OTEL_RESOURCE_ATTRIBUTES")); v != "" {
		for pair := range strings.SplitSeq(v, ",") {
			k, val, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("tracing: OTEL_RESOURCE_ATTRIBUTES: %q is not key=value", pair)
			}
			// Values are percent-encoded (the specification's W3C Baggage format).
			if u, err := url.PathUnescape(strings.TrimSpace(val)); err == nil {
				val = u
			}
			attrs = append(attrs, attribute.String(k, val))
		}
	}
	attrs = append(attrs, attribute.String("service.name", cmp.Or(strings.TrimSpace(getenv("OTEL_SERVICE_NAME")), serviceName)))
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	return resource.Merge(resource.Default(), resource.NewSchemaless(attrs...))
}

// TraceID is the trace id of the span in ctx, for log lines; "" when there is none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// WithinTraces returns a provider whose tracers start spans only for callers already in a
// trace (a span, local or remote, in their context), and otherwise return that context's
// no-op span. The hub gives it to the store clients: their polling loops (the bus's reader
// blocks on Redis every second, the relay lists pending changes every second) run outside any
// request, and would otherwise each make a trace of one span every second.
func WithinTraces(tp trace.TracerProvider) trace.TracerProvider {
	return withinTraces{tp}
}

type withinTraces struct{ trace.TracerProvider }

func (p withinTraces) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return withinTracer{p.TracerProvider.Tracer(name, opts...)}
}

type withinTracer struct{ trace.Tracer }

func (t withinTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.Tracer.Start(ctx, name, opts...)
}
