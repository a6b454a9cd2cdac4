package resolvers

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ravilushqa/otelgqlgen"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The responses of a subscription pass through unchanged, its end (a nil response) too; the
// operation runs with its variables, and its spans hold neither them nor the document's
// literals.
func TestOperationTracingOfASubscription(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	ext := operationTracing{otelgqlgen.Middleware(otelgqlgen.WithTracerProvider(tp))}
	raw := `subscription Changes($party: ID!) { appointmentChanged(partyId: $party) { version appointment { status } } a: appointmentChanged(partyId: "cust-literal") { version } }`
	doc, err := parser.ParseQuery(&ast.Source{Input: raw})
	if err != nil {
		t.Fatal(err)
	}
	oc := &graphql.OperationContext{RawQuery: raw, Doc: doc, Variables: map[string]any{"party": "cust-secret"}}
	ctx := graphql.WithOperationContext(context.Background(), oc)
	tests := []struct {
		name string
		resp *graphql.Response
	}{
		{"an event", &graphql.Response{Data: []byte(`{"appointmentChanged":{"version":1}}`)}},
		{"another", &graphql.Response{Data: []byte(`{"appointmentChanged":{"version":2}}`)}},
		{"the end", nil},
	}
	for _, tt := range tests {
		got := ext.InterceptResponse(ctx, func(ctx context.Context) *graphql.Response {
			if graphql.GetOperationContext(ctx).Variables["party"] != "cust-secret" {
				t.Errorf("%s: the operation runs without its variables", tt.name)
			}
			return tt.resp
		})
		if got != tt.resp {
			t.Errorf("%s: response %v, want %v", tt.name, got, tt.resp)
		}
	}
	spans := exporter.GetSpans().Snapshots()
	if len(spans) != len(tests) {
		t.Fatalf("%d spans, want %d", len(spans), len(tests))
	}
	for _, s := range spans {
		if s.Name() != "Changes" {
			t.Errorf("span %q, want the operation's name", s.Name())
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), "cust-secret") || strings.Contains(a.Value.String(), "cust-literal") {
				t.Errorf("span %q records %s=%s", s.Name(), a.Key, a.Value.String())
			}
		}
	}
}
