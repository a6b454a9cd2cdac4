package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/ravilushqa/otelgqlgen"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/graph"
	"github.com/apphub/apphub/resolvers/explorer"
)

// NewHandler returns the GraphQL endpoint: POST and GET transports, introspection, limits of
// size, depth, cost, websocket use and rate (opts; the zero Options gives the defaults, see
// limits.go and edge.go), a bounded request body, domain errors presented with their code in
// `extensions.code`, panics turned into INTERNAL errors, and the explorer page for a browser's
// GET (its assets are served by explorer.Assets). Requests call as the principal in their
// context; websockets as the one their connection_init names (auth.go). The subscribers of
// one slot grid that sent the same document share its responses (gridresponses.go).
//
// What a document costs before it runs is bounded in this order: the body (MaxBodyBytes), the
// parser (MaxTokens), validation (quadratic at worst, small under the token limit), then
// operationLimits (linear), gqlgen's complexity walk (bounded by operationLimits), and only
// then a persisted query is kept, the caller's budget spent (Limit) and the operation run.
func NewHandler(r *Resolver, logger *slog.Logger, opts Options) http.Handler {
	opts = opts.withDefaults()
	if r.Logger == nil {
		r.Logger = logger
	}
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r, Complexity: fieldCosts()}))
	// Subscriptions: websocket (graphql-transport-ws and the legacy graphql-ws, negotiated by
	// subprotocol) and server-sent events. coder/websocket refuses cross-origin upgrades unless
	// the origin is allowed.
	srv.AddTransport(wsTransport{
		origins:      opts.AllowedOrigins,
		init:         websocketInit(opts.Authenticate, opts.Now, logger),
		keepAlive:    opts.KeepAlive,
		initTimeout:  opts.InitTimeout,
		readLimit:    opts.MaxBodyBytes,
		writeTimeout: opts.WebsocketWriteTimeout,
		conns:        newConnCounter(),
		maxConns:     opts.MaxConnectionsPerPrincipal,
		shutdown:     opts.Shutdown,
	})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(specGET{})
	srv.AddTransport(specPOST{})
	srv.SetParserTokenLimit(opts.MaxTokens)
	if !opts.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	if tp := opts.TracerProvider; tp != nil {
		// First, so that its span covers every operation, refused ones too.
		srv.Use(operationTracing{otelgqlgen.Middleware(otelgqlgen.WithTracerProvider(tp))})
	}
	// The extensions that may refuse an operation run in this order (operationGate last: the
	// websocket slot it takes is given back only by an operation that runs).
	srv.Use(&operationLimits{maxDepth: opts.MaxDepth, maxComplexity: opts.MaxComplexity,
		disableIntrospection: opts.DisableIntrospection})
	if opts.QueryCache != nil {
		srv.Use(persistedQueries{cache: opts.QueryCache, maxBytes: opts.MaxPersistedQueryBytes})
	}
	srv.Use(operationGate{limit: opts.Limit, maxOps: opts.MaxSubscriptionsPerConnection})
	srv.Use(freshLoaders{svc: r.Service})
	responses := newResponseCache(r.Service, opts.Limit, opts.ResponseCacheBytes)
	srv.Use(responses)
	srv.Use(gridResponses{})
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
		if !checkRequest(w, req, body) {
			return
		}
		ctx := req.Context()
		if (transport.SSE{}).Supports(req) {
			// A stream ends when the credential it was opened with does.
			var stop context.CancelFunc
			ctx, stop = untilExpiry(ctx, apphub.PrincipalFromContext(ctx), opts.Now)
			defer stop()
		}
		if !(wsTransport{}).Supports(req) {
			refused := &refusalState{}
			ctx = context.WithValue(ctx, refusalKey{}, refused)
			w = &refusalWriter{ResponseWriter: w, refused: refused}
		}
		if key, cacheable := requestKey(req, body); cacheable {
			if responses.serve(w, req, key) {
				return
			}
			ctx = context.WithValue(ctx, requestKeyKey{}, key)
			dw := &directWriter{ResponseWriter: w}
			w, ctx = dw, context.WithValue(ctx, directWriterKey{}, dw)
		}
		srv.ServeHTTP(w, req.WithContext(ctx))
	})
}

// remoteHost is the host of req's RemoteAddr (the client's address, as the edge sets it).
func remoteHost(req *http.Request) string {
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		return host
	}
	return req.RemoteAddr
}

// readBody reads req's body, up to limit bytes, and puts it back for gqlgen. gqlgen reads the
// body itself, but a body cut by http.MaxBytesReader there becomes a 200 with an uncoded
// "could not read request body" error; here it is a 413 with REQUEST_TOO_LARGE. It reports
// whether the request may go on.
func readBody(w http.ResponseWriter, req *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeRequestError(w, req, http.StatusRequestEntityTooLarge, apphub.ETOOLARGE,
			fmt.Sprintf("request body is larger than the limit of %d bytes", tooLarge.Limit))
		return nil, false
	}
	if err != nil {
		writeRequestError(w, req, http.StatusBadRequest, apphub.EINVALID, "could not read the request body")
		return nil, false
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, true
}

// writeRequestError answers a request refused before gqlgen sees it, as a GraphQL response in
// the media type the request accepts.
func writeRequestError(w http.ResponseWriter, req *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", ResponseMediaType(req))
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": code},
	}}})
}

// presentError is the one place where domain errors become GraphQL errors.
func presentError(ctx context.Context, err error, logger *slog.Logger) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if _, ok := errors.AsType[*apphub.Error](err); !ok {
		if gqlErr.Err == nil {
			// gqlgen's own parse and validation errors, and the limits' refusals: they
			// already carry their code.
			return gqlErr
		}
		if field, ok := argumentError(ctx, gqlErr); ok {
			// A value gqlgen's validation lets through but its scalar does not read (a Time
			// that is not RFC 3339, a number for a Time): the client's mistake.
			logger.DebugContext(ctx, "GraphQL argument refused", "path", gqlErr.Path.String(), "err", gqlErr.Err)
			err = apphub.FieldError(field, "%s", gqlErr.Err.Error())
		}
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

// argumentError reports whether gqlErr failed the reading of its field's arguments, and names
// the argument (e.g. "input.from"). gqlgen reads them before the field's resolver runs and
// keeps them in the field's context only once all could be read, so a field that takes
// arguments and has none there failed there; its error's path continues the field's into the
// argument.
func argumentError(ctx context.Context, gqlErr *gqlerror.Error) (string, bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Args != nil || fc.Field.Field == nil || fc.Field.Definition == nil || len(fc.Field.Definition.Arguments) == 0 {
		return "", false
	}
	field := fc.Path()
	if len(gqlErr.Path) <= len(field) {
		return "", true
	}
	return gqlErr.Path[len(field):].String(), true
}
