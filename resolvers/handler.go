package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/graph"
	"github.com/apphub/apphub/resolvers/explorer"
)

// NewHandler returns the GraphQL endpoint: POST and GET transports, introspection, depth and
// complexity limits (opts; the zero Options gives the defaults), a bounded request body,
// domain errors presented with their code in `extensions.code`, panics turned into INTERNAL
// errors, and the explorer page for a browser's GET (its assets are served by
// explorer.Assets). Requests call as the principal in their context; websockets as the one
// their connection_init names (auth.go).
func NewHandler(r *Resolver, logger *slog.Logger, opts Options) http.Handler {
	opts = opts.withDefaults()
	if r.Logger == nil {
		r.Logger = logger
	}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r, Complexity: fieldCosts()}))
	// Subscriptions: websocket (graphql-transport-ws and the legacy graphql-ws, negotiated by
	// subprotocol) and server-sent events. coder/websocket refuses cross-origin upgrades unless
	// the origin is allowed.
	srv.AddTransport(transport.Websocket{
		Implementation: sessionWebsocket{transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: opts.AllowedOrigins}}},
		InitFunc:              websocketInit(opts.Authenticate, opts.Now, logger),
		KeepAlivePingInterval: opts.KeepAlive,
		InitTimeout:           opts.InitTimeout,
		PayloadReadLimit:      &opts.MaxBodyBytes,
	})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	if opts.QueryCache != nil {
		srv.Use(extension.AutomaticPersistedQuery{Cache: opts.QueryCache})
	}
	// operationLimits first: it refuses what is too deep, and what is so big that gqlgen's
	// complexity walk would take too long, in time linear in the document.
	srv.Use(operationLimits{maxDepth: opts.MaxDepth, maxComplexity: opts.MaxComplexity})
	srv.Use(extension.FixedComplexityLimit(opts.MaxComplexity))
	responses := newResponseCache(r.Service)
	srv.Use(responses)
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		return presentError(ctx, err, logger)
	})
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		logger.ErrorContext(ctx, "panic in GraphQL resolver", "panic", v, "stack", string(debug.Stack()))
		return apphub.Errorf(apphub.EINTERNAL, "internal error")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet {
			// The same URL answers HTML or JSON depending on Accept.
			w.Header().Add("Vary", "Accept")
			if explorer.Wants(req) {
				explorer.ServePage(w)
				return
			}
		}
		var body []byte
		if req.Method == http.MethodPost {
			var ok bool
			if body, ok = readBody(w, req, opts.MaxBodyBytes); !ok {
				return
			}
		}
		ctx := req.Context()
		switch {
		case (transport.Websocket{}).Supports(req):
			// The connection's credential is known at connection_init, after the upgrade.
			s := &wsSession{}
			defer s.stop()
			ctx = context.WithValue(ctx, wsSessionKey{}, s)
		case (transport.SSE{}).Supports(req):
			// A stream ends when the credential it was opened with does.
			var stop context.CancelFunc
			ctx, stop = untilExpiry(ctx, apphub.PrincipalFromContext(ctx), opts.Now)
			defer stop()
		}
		if key, cacheable := requestKey(req, body); cacheable {
			if responses.serve(w, req, key) {
				return
			}
			ctx = context.WithValue(ctx, requestKeyKey{}, key)
		}
		srv.ServeHTTP(w, req.WithContext(withLoaders(ctx, r.Service)))
	})
}

// readBody reads req's body, up to limit bytes, and puts it back for gqlgen. gqlgen reads the
// body itself, but a body cut by http.MaxBytesReader there becomes a 200 with an uncoded
// "could not read request body" error; here it is a 413 with REQUEST_TOO_LARGE. It reports
// whether the request may go on.
func readBody(w http.ResponseWriter, req *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeRequestError(w, http.StatusRequestEntityTooLarge, apphub.ETOOLARGE,
			fmt.Sprintf("request body is larger than the limit of %d bytes", tooLarge.Limit))
		return nil, false
	}
	if err != nil {
		writeRequestError(w, http.StatusBadRequest, apphub.EINVALID, "could not read the request body")
		return nil, false
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// writeRequestError answers a request refused before gqlgen sees it, as a GraphQL response.
func writeRequestError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": code},
	}}})
}

// presentError is the one place where domain errors become GraphQL errors.
func presentError(ctx context.Context, err error, logger *slog.Logger) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if _, ok := errors.AsType[*apphub.Error](err); !ok && gqlErr.Err == nil {
		// gqlgen's own parse and validation errors, and the limits' refusals: they already
		// carry their code.
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
