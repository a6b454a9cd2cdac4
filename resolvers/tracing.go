package resolvers

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/ravilushqa/otelgqlgen"
)

// operationTracing is otelgqlgen's extension (v0.4.1, its one release on the module proxy)
// made fit for the hub: its spans, names and attributes, but
//   - never the variables, nor the document, which hold what callers send (personal data, as
//     variables or as literals): otelgqlgen records both, so it is shown the operation
//     without them — its name and its parsed form, which it names the span after;
//   - a span for the root fields only, not for every field: an availability grid has
//     thousands;
//   - no crash when a subscription ends: its response handler then returns nil, whose errors
//     otelgqlgen reads unchecked.
type operationTracing struct{ otel otelgqlgen.Tracer }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = operationTracing{}

func (t operationTracing) ExtensionName() string                     { return t.otel.ExtensionName() }
func (t operationTracing) Validate(s graphql.ExecutableSchema) error { return t.otel.Validate(s) }

func (t operationTracing) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	shown := &graphql.OperationContext{OperationName: oc.OperationName, Doc: oc.Doc, Operation: oc.Operation, Stats: oc.Stats}
	ended := false
	resp := t.otel.InterceptResponse(graphql.WithOperationContext(ctx, shown), func(ctx context.Context) *graphql.Response {
		r := next(graphql.WithOperationContext(ctx, oc))
		if r == nil {
			ended = true
			return &graphql.Response{}
		}
		return r
	})
	if ended {
		return nil
	}
	return resp
}

func (t operationTracing) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	switch fc := graphql.GetFieldContext(ctx); {
	case fc == nil, fc.Object != "Query" && fc.Object != "Mutation" && fc.Object != "Subscription":
		return next(ctx)
	}
	return t.otel.InterceptField(ctx, next)
}
