package resolvers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/apphub/apphub/resolvers"
)

// With a tracer provider, an operation is a span named after it, under the request's span,
// with one child per root field and none for the fields below; without one, none.
func TestOperationSpans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		traced bool
		want   []string
	}{
		{name: "traced", traced: true, want: []string{"Hub", "Query/hub"}},
		{name: "not traced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exporter := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
			defer tp.Shutdown(context.Background())
			var opts resolvers.Options
			if tt.traced {
				opts.TracerProvider = tp
			}
			h := resolvers.WithPrincipal(resolvers.NewHandler(&resolvers.Resolver{Service: fakeHub{}, Version: "test"}, slog.New(slog.DiscardHandler),
				opts), admin)
			ctx, request := tp.Tracer("test").Start(context.Background(), "request")
			req := httptest.NewRequestWithContext(ctx, "POST", "/graphql", strings.NewReader(`{"query":"query Hub { hub { version installationId } }"}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			request.End()
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"installationId":"i"`) {
				t.Fatalf("answer %d %s", rec.Code, rec.Body)
			}
			var got []string
			for _, s := range exporter.GetSpans().Snapshots() {
				if s.Name() == "request" {
					continue
				}
				got = append(got, s.Name())
				if s.SpanContext().TraceID() != request.SpanContext().TraceID() {
					t.Errorf("span %q is not in the request's trace", s.Name())
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("spans %v, want %v", got, tt.want)
			}
		})
	}
}
