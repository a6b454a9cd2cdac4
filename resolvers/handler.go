package resolvers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/graph"
)

// maxBodyBytes bounds a GraphQL request body; channel apps send small documents.
const maxBodyBytes = 1 << 20

// NewHandler returns the GraphQL endpoint: POST and GET transports, introspection, domain
// errors presented with their code in `extensions.code`, panics turned into INTERNAL errors.
func NewHandler(r *Resolver, logger *slog.Logger) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r}))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		return presentError(ctx, err, logger)
	})
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		logger.ErrorContext(ctx, "panic in GraphQL resolver", "panic", v, "stack", string(debug.Stack()))
		return apphub.Errorf(apphub.EINTERNAL, "internal error")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = http.MaxBytesReader(w, req.Body, maxBodyBytes)
		srv.ServeHTTP(w, req)
	})
}

// presentError is the one place where domain errors become GraphQL errors.
func presentError(ctx context.Context, err error, logger *slog.Logger) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if _, ok := errors.AsType[*apphub.Error](err); !ok && gqlErr.Err == nil {
		// gqlgen's own parse and validation errors: they already carry their code.
		return gqlErr
	}
	code := apphub.ErrorCode(err)
	if code == apphub.EINTERNAL {
		logger.ErrorContext(ctx, "GraphQL resolver failed", "path", gqlErr.Path.String(), "err", err)
	}
	gqlErr.Message = apphub.ErrorMessage(err)
	if gqlErr.Extensions == nil {
		gqlErr.Extensions = map[string]any{}
	}
	gqlErr.Extensions["code"] = code
	if e, ok := errors.AsType[*apphub.Error](err); ok && e.Field != "" {
		gqlErr.Extensions["field"] = e.Field
	}
	return gqlErr
}
