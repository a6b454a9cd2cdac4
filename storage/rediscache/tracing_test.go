package rediscache_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// With a tracer provider, the client's commands and pipelines — the cache's touch among them —
// are client spans of the caller's trace, on a single server and on a Cluster alike, and never
// hold the commands' arguments.
func TestTracing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"a single server", func(*testing.T) string { return storetest.RedisURL() }},
		{"a Cluster", func(t *testing.T) string {
			if testing.Short() {
				t.Skip("starts a Redis Cluster")
			}
			return storetest.StartRedisCluster(t, 3, 0).URL()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := tt.url(t)
			_, prefix := storetest.Redis(t) // a prefix of this test's, cleaned up on the single server
			exporter := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
			defer tp.Shutdown(context.Background())
			c, err := rediscache.Connect(url, rediscache.ConnectOptions{TracerProvider: tp})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cache := storetest.Cache(t, c, prefix)
			ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
			day := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
			cache.Touch(ctx, []apphub.ResourceDay{{Resource: "tech-secret", Day: day}}, []apphub.ZoneDay{{Zone: "zone-secret", Day: day}})
			if err := c.Raw().Set(ctx, prefix+"k", "value-secret", time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			parent.End()

			spans := exporter.GetSpans().Snapshots()
			var names []string
			for _, s := range spans {
				names = append(names, s.Name())
			}
			for _, want := range []string{"evalsha", "set"} {
				i := slices.IndexFunc(spans, func(s sdktrace.ReadOnlySpan) bool {
					return strings.Contains(s.Name(), want) && s.Parent().SpanID() == parent.SpanContext().SpanID()
				})
				if i < 0 {
					t.Errorf("no %s span under the caller's among %v", want, names)
					continue
				}
				if spans[i].SpanKind() != trace.SpanKindClient {
					t.Errorf("%s: span kind %v", spans[i].Name(), spans[i].SpanKind())
				}
			}
			for _, s := range spans {
				for _, a := range s.Attributes() {
					if v := a.Value.String(); strings.Contains(v, "secret") || a.Key == "db.statement" || a.Key == "db.query.text" || a.Key == "code.filepath" {
						t.Errorf("span %q records %s=%s", s.Name(), a.Key, v)
					}
				}
			}
		})
	}
}

// An event's traceparent crosses the stream to the other instances.
func TestBusCarriesTraceParent(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	a, _ := newBus(t, rdb, rediscache.BusOptions{Prefix: prefix}, nil)
	b, _ := newBus(t, client(t, ""), rediscache.BusOptions{Prefix: prefix}, nil)
	connected(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	onB := b.Subscribe(ctx)
	tests := []struct{ id, traceParent string }{
		{"ap-traced", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		{"ap-untraced", ""},
	}
	for _, tt := range tests {
		if err := a.PublishEvents(ctx, []apphub.Event{{Kind: apphub.EventCreated, AppointmentID: tt.id, Version: 1, TraceParent: tt.traceParent}}); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, onB); ev.AppointmentID != tt.id || ev.TraceParent != tt.traceParent {
			t.Fatalf("b received %s with traceparent %q, want %s with %q", ev.AppointmentID, ev.TraceParent, tt.id, tt.traceParent)
		}
	}
}
