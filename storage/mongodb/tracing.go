package mongodb

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// OpenOption adds to what Open sets up.
type OpenOption func(*openConfig)

type openConfig struct {
	tracerProvider trace.TracerProvider
}

// WithTracerProvider makes every command the client sends a client span of tp, named
// "<command> <collection>" (e.g. "insert revisions"), as a child of the span in the command's
// context. A nil tp traces nothing.
func WithTracerProvider(tp trace.TracerProvider) OpenOption {
	return func(c *openConfig) { c.tracerProvider = tp }
}

// tracerName is the instrumentation scope of the command spans.
const tracerName = "github.com/apphub/apphub/storage/mongodb"

// commandTracer turns the driver's command events into spans. There is no maintained
// OpenTelemetry instrumentation for mongo-driver v2, so this is the command monitor such an
// instrumentation installs. It records what a command is and where it went, never the
// command's body nor the reply: they hold appointments, which are personal data.
type commandTracer struct {
	tracer trace.Tracer
	spans  sync.Map // spanKey → trace.Span, from Started to Succeeded or Failed
}

// spanKey identifies a command in flight: request ids are unique per process, and the
// connection keeps them apart should they ever repeat.
type spanKey struct {
	conn    string
	request int64
}

func newCommandMonitor(tp trace.TracerProvider) *event.CommandMonitor {
	t := &commandTracer{tracer: tp.Tracer(tracerName)}
	return &event.CommandMonitor{Started: t.started, Succeeded: t.succeeded, Failed: t.failed}
}

func (t *commandTracer) started(ctx context.Context, ev *event.CommandStartedEvent) {
	collection := commandCollection(ev)
	name := ev.CommandName
	attrs := []attribute.KeyValue{
		attribute.String("db.system", "mongodb"),
		attribute.String("db.system.name", "mongodb"),
		attribute.String("db.operation.name", ev.CommandName),
		attribute.String("db.namespace", ev.DatabaseName),
	}
	if collection != "" {
		name += " " + collection
		attrs = append(attrs, attribute.String("db.collection.name", collection))
	}
	if host, port, ok := serverOf(ev.ConnectionID); ok {
		attrs = append(attrs, attribute.String("server.address", host), attribute.Int("server.port", port))
	}
	_, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if !span.IsRecording() {
		return
	}
	t.spans.Store(spanKey{ev.ConnectionID, ev.RequestID}, span)
}

func (t *commandTracer) succeeded(_ context.Context, ev *event.CommandSucceededEvent) {
	// A write refused for a duplicate _id succeeds as a command (the refusal is in the reply's
	// writeErrors): that is how the hub decides exclusive facts, not a failure of the span.
	if span, ok := t.spans.LoadAndDelete(spanKey{ev.ConnectionID, ev.RequestID}); ok {
		span.(trace.Span).End()
	}
}

func (t *commandTracer) failed(_ context.Context, ev *event.CommandFailedEvent) {
	s, ok := t.spans.LoadAndDelete(spanKey{ev.ConnectionID, ev.RequestID})
	if !ok {
		return
	}
	span := s.(trace.Span)
	// A server's message may quote the command (a duplicate key, a document that failed
	// validation): only its code and code name are kept. Other failures (network, timeouts)
	// are the driver's own words.
	desc := ev.Failure.Error()
	var de driver.Error
	if errors.As(ev.Failure, &de) && de.Code != 0 {
		desc = strings.TrimSpace("code " + strconv.Itoa(int(de.Code)) + " " + de.Name)
		span.SetAttributes(attribute.String("db.response.status_code", strconv.Itoa(int(de.Code))))
	}
	span.SetStatus(codes.Error, desc)
	span.End()
}

// commandCollection is the collection a command works on: the value of its first element for
// the commands on one collection (insert, find, update, delete, aggregate, count…), the
// collection field of a getMore; "" for the others.
func commandCollection(ev *event.CommandStartedEvent) string {
	if ev.CommandName == "getMore" {
		if v, err := ev.Command.LookupErr("collection"); err == nil {
			s, _ := v.StringValueOK()
			return s
		}
		return ""
	}
	elem, err := ev.Command.IndexErr(0)
	if err != nil {
		return ""
	}
	s, ok := elem.Value().StringValueOK()
	if !ok || elem.Key() != ev.CommandName {
		return ""
	}
	return s
}

// serverOf reads the server's host and port from a driver connection id ("host:port[-n]").
func serverOf(connectionID string) (string, int, bool) {
	addr, _, _ := strings.Cut(connectionID, "[")
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, false
	}
	return host, port, true
}
