package resolvers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/apphub/apphub"
)

// What the hub refuses at its edge, before an operation runs: requests no transport takes or
// whose JSON does not decode (checkRequest), persisted queries that would keep junk
// (persistedQueries), and operations over the caller's budget or over its websocket's
// (operationGate). The size, depth and cost of documents are in limits.go.

// CodePersistedQueryNotFound answers a persisted query's hash that the hub does not know: the
// client sends the document with it again (Apollo's protocol, gqlgen's code).
const CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

// Classes of operations, as Options.Limit is asked about them.
const (
	LimitClassWrite  = "write"  // a mutation
	LimitClassSearch = "search" // a query, or the start of a subscription
)

// checkRequest answers a request that gqlgen would refuse without an error code (a method or a
// content type no transport takes, JSON that does not decode, a batch) and reports whether
// the request may go on. gqlgen decodes the same bytes the same way again; that costs far less
// than its answer, which echoes the whole body back.
func checkRequest(w http.ResponseWriter, req *http.Request, body []byte) bool {
	switch req.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil {
			writeRequestError(w, req, http.StatusBadRequest, apphub.EINVALID, "the URL's query string cannot be decoded")
			return false
		}
		for _, name := range []string{"variables", "extensions"} {
			var v map[string]any
			if s := q.Get(name); s != "" && decodeJSON([]byte(s), &v) != nil {
				writeRequestError(w, req, http.StatusBadRequest, apphub.EINVALID, name+" must be a JSON object")
				return false
			}
		}
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeRequestError(w, req, http.StatusUnsupportedMediaType, apphub.EINVALID, "a GraphQL request is sent as Content-Type: application/json")
			return false
		}
		var p graphql.RawParams
		if err := decodeJSON(body, &p); err != nil {
			writeRequestError(w, req, http.StatusBadRequest, apphub.EINVALID, describeJSONError(err))
			return false
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeRequestError(w, req, http.StatusMethodNotAllowed, apphub.EINVALID, "a GraphQL request is a GET or a POST")
		return false
	}
	return true
}

// decodeJSON decodes as gqlgen's transports do: the first JSON value, numbers kept as written.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// describeJSONError says what is wrong with a request body, without repeating it.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the request body is empty: send a JSON object with the query"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body is not valid JSON: it ends too early"
	case errors.As(err, &syntax):
		return fmt.Sprintf("the request body is not valid JSON: %s (at byte %d)", syntax, syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "" && typ.Value == "array":
		return "batched operations (a JSON array) are not supported: send one operation per request"
	case errors.As(err, &typ) && typ.Field == "":
		return "the request body must be a JSON object with the query, not a JSON " + typ.Value
	case errors.As(err, &typ):
		return fmt.Sprintf("%s in the request body must not be a JSON %s", typ.Field, typ.Value)
	}
	return "the request body is not a GraphQL request"
}

// persistedQueries is gqlgen's extension.AutomaticPersistedQuery, except that a document is
// registered only once it has parsed, validated and passed the limits, and only up to a size:
// gqlgen's stores whatever comes with a matching hash, junk included, before parsing it.
// MutateOperationParameters runs before parsing (it looks the document up or checks its
// hash), MutateOperationContext after the limits (it registers the document); NewHandler
// adds it after operationLimits. Its statistics are gqlgen's (extension.GetApqStats).
type persistedQueries struct {
	cache    graphql.Cache[string]
	maxBytes int
}

// apqStatsKey is where gqlgen's extension keeps its extension.ApqStats.
const apqStatsKey = "APQ"

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = persistedQueries{}

func (persistedQueries) ExtensionName() string { return "AutomaticPersistedQuery" }

func (p persistedQueries) Validate(graphql.ExecutableSchema) error {
	if p.cache == nil {
		return errors.New("persisted queries need a cache")
	}
	return nil
}

func (p persistedQueries) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	ext, ok := raw.Extensions["persistedQuery"]
	if !ok || ext == nil {
		return nil
	}
	hash, err := persistedQueryHash(ext)
	if err != nil {
		return err
	}
	stats := &extension.ApqStats{Hash: hash, SentQuery: raw.Query != ""}
	if raw.Query == "" {
		q, ok := p.cache.Get(ctx, hash)
		if !ok {
			// The message is the protocol's: clients match it, or the code, to send the
			// document again.
			err := gqlerror.Errorf("PersistedQueryNotFound")
			errcode.Set(err, CodePersistedQueryNotFound)
			return err
		}
		raw.Query = q
	} else if sum := sha256.Sum256([]byte(raw.Query)); hex.EncodeToString(sum[:]) != hash {
		return requestError("extensions.persistedQuery.sha256Hash is not the SHA-256 of the query")
	}
	graphql.GetOperationContext(ctx).Stats.SetExtension(apqStatsKey, stats)
	return nil
}

func (p persistedQueries) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if s, ok := opCtx.Stats.GetExtension(apqStatsKey).(*extension.ApqStats); ok && s.SentQuery && len(opCtx.RawQuery) <= p.maxBytes {
		p.cache.Add(ctx, s.Hash, opCtx.RawQuery)
	}
	return nil
}

// persistedQueryHash reads the persistedQuery extension: version 1 and a SHA-256 in lowercase
// hex, as Apollo's clients send it.
func persistedQueryHash(ext any) (string, *gqlerror.Error) {
	m, ok := ext.(map[string]any)
	if !ok {
		return "", requestError("extensions.persistedQuery must be an object")
	}
	switch v := m["version"].(type) {
	case json.Number:
		ok = v.String() == "1"
	case float64:
		ok = v == 1
	default:
		ok = false
	}
	if !ok {
		return "", requestError("extensions.persistedQuery.version must be 1")
	}
	hash, _ := m["sha256Hash"].(string)
	if len(hash) != sha256.Size*2 || strings.Trim(hash, "0123456789abcdef") != "" {
		return "", requestError("extensions.persistedQuery.sha256Hash must be a SHA-256 in lowercase hex")
	}
	return hash, nil
}

// requestError is a refusal of a malformed request before parsing: VALIDATION, registered as
// a protocol error (422).
func requestError(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, apphub.EINVALID)
	return err
}

// operationGate admits an operation that passed every check of its document: it holds one of
// its websocket's operation slots, and Options.Limit lets it spend the caller's budget. It is
// the last extension that can refuse an operation: a slot it takes is given back when the
// operation's context ends, which InterceptOperation arranges, and only an operation that
// was admitted gets there.
type operationGate struct {
	limit  func(ctx context.Context, class string) error
	maxOps int // per websocket
}

// wsSlotKey marks, in the operation's statistics, the websocket whose slot it holds.
const wsSlotKey = "WebsocketOperationSlot"

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.OperationInterceptor
} = operationGate{}

func (operationGate) ExtensionName() string                   { return "OperationGate" }
func (operationGate) Validate(graphql.ExecutableSchema) error { return nil }

func (g operationGate) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	s, _ := ctx.Value(wsSessionKey{}).(*wsSession)
	if s != nil && !s.startOperation(g.maxOps) {
		return refusal(ctx, apphub.Errorf(apphub.ERATELIMITED,
			"this websocket already runs %d operations, the most it may: complete one first", g.maxOps))
	}
	if g.limit != nil {
		class := LimitClassSearch
		if opCtx.Operation.Operation == ast.Mutation {
			class = LimitClassWrite
		}
		if err := g.limit(ctx, class); err != nil {
			if s != nil {
				s.endOperation()
			}
			return refusal(ctx, err)
		}
	}
	if s != nil {
		opCtx.Stats.SetExtension(wsSlotKey, s)
	}
	return nil
}

func (operationGate) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if s, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(wsSlotKey).(*wsSession); ok {
		// The websocket transport cancels an operation's context when it completes, is
		// stopped, fails, or its connection closes.
		context.AfterFunc(ctx, s.endOperation)
	}
	return next(ctx)
}

// refusal is the error of an operation the gate refused, with err's code; over HTTP it also
// tells refusalWriter the status to answer with.
func refusal(ctx context.Context, err error) *gqlerror.Error {
	if r, ok := ctx.Value(refusalKey{}).(*refusalState); ok {
		r.err = err
	}
	gqlErr := &gqlerror.Error{Message: apphub.ErrorMessage(err), Err: err, Extensions: map[string]any{"code": apphub.ErrorCode(err)}}
	if e, ok := errors.AsType[*apphub.Error](err); ok && e.RetryAfter > 0 {
		// A websocket has no header to say it.
		gqlErr.Extensions["retryAfter"] = apphub.RetryAfterSeconds(e.RetryAfter)
	}
	return gqlErr
}

type refusalKey struct{}

// refusalState is what the gate refused in an HTTP request.
type refusalState struct{ err error }

// refusalWriter answers an HTTP request whose operation the gate refused with the status of
// the refusal's code, which gqlgen knows nothing of: 429 and Retry-After for RATE_LIMITED,
// 503 for UNAVAILABLE. gqlgen decides the status once it has the operation's errors, so the
// refusal is known by the time it writes it.
type refusalWriter struct {
	http.ResponseWriter
	refused     *refusalState
	wroteHeader bool
}

func (w *refusalWriter) WriteHeader(status int) {
	if !w.wroteHeader && w.refused.err != nil {
		var after time.Duration
		if e, ok := errors.AsType[*apphub.Error](w.refused.err); ok {
			after = e.RetryAfter
		}
		switch apphub.ErrorCode(w.refused.err) {
		case apphub.ERATELIMITED:
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(apphub.RetryAfterSeconds(after)))
		case apphub.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
			if after > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(apphub.RetryAfterSeconds(after)))
			}
		}
	}
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(status)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets the SSE transport stream through the writer.
func (w *refusalWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
