package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/notify"
)

// A notification carries the trace of the request that made the change: the request's own
// traceparent without tracing, its delivery span's (a child of the request's) with it, and,
// without tracing, none when the change was made outside any trace.
func TestNotificationsCarryTheTrace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		inTrace   bool // the booking is made inside a span
		traceNote bool // the notifier has a tracer provider
	}{
		{name: "without tracing", inTrace: true},
		{name: "traced", inTrace: true, traceNote: true},
		{name: "a change outside any trace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exporter := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
			defer tp.Shutdown(context.Background())

			var mu sync.Mutex
			var headers []string
			l := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				headers = append(headers, r.Header.Get("traceparent"))
				mu.Unlock()
				w.WriteHeader(http.StatusCreated)
			}))
			defer l.Close()
			got := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), headers...)
			}

			e := newEnv(t)
			e.subscribe(l.URL, "")
			n, _ := e.notifier(e.options(func(o *notify.Options) {
				if tt.traceNote {
					o.TracerProvider = tp
				}
			}))
			e.consume(n)

			ctx := asAdmin()
			var request trace.SpanContext
			if tt.inTrace {
				var span trace.Span
				ctx, span = tp.Tracer("test").Start(ctx, "request")
				request = span.SpanContext()
				defer span.End()
			}
			start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
			if _, err := e.svc.Book(ctx, booking.NewAppointment{Start: start, End: start.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the notification", func() bool { return len(got()) == 1 })
			header := got()[0]

			switch {
			case !tt.inTrace:
				if header != "" {
					t.Fatalf("traceparent %q, want none", header)
				}
			case !tt.traceNote:
				if want := "00-" + request.TraceID().String() + "-" + request.SpanID().String() + "-01"; header != want {
					t.Fatalf("traceparent %q, want the request's %q", header, want)
				}
			default:
				parts := strings.Split(header, "-")
				if len(parts) != 4 || parts[1] != request.TraceID().String() {
					t.Fatalf("traceparent %q, want one of trace %s", header, request.TraceID())
				}
				var delivery sdktrace.ReadOnlySpan
				eventually(t, 5*time.Second, "the delivery's span", func() bool {
					for _, s := range exporter.GetSpans().Snapshots() {
						if s.SpanContext().SpanID().String() == parts[2] {
							delivery = s
							return true
						}
					}
					return false
				})
				if delivery.Name() != "notify appointmentCreateEvent" || delivery.SpanKind() != trace.SpanKindClient ||
					delivery.Parent().SpanID() != request.SpanID() {
					t.Fatalf("delivery span %q kind %v parent %v, want a client span under the request %v",
						delivery.Name(), delivery.SpanKind(), delivery.Parent().SpanID(), request.SpanID())
				}
			}
		})
	}
}
