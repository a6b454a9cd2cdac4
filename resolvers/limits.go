package resolvers

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/trace"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/slots"
)

// Defaults of Options. A zero field in Options takes its default.
const (
	// DefaultMaxDepth fits GraphiQL's introspection query, the deepest document the hub must
	// accept: __schema › types › fields › args › type › ofType ×9 › kind is exactly 15 fields.
	DefaultMaxDepth = 15
	// DefaultMaxComplexity bounds the work of one operation, as gqlgen counts it: every field
	// costs 1 plus its children, unless fieldCosts says otherwise.
	DefaultMaxComplexity = 1000
	// DefaultMaxBodyBytes bounds a GraphQL request body and a websocket message; channel apps
	// send small documents (GraphiQL's introspection query is 2 kB).
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxTokens bounds the lexical tokens of a document. Validation compares the fields
	// of a selection set that share a response name pairwise (gqlparser's
	// OverlappingFieldsCanBeMerged), so its time grows with the square of the document: the
	// worst document of 600 tokens takes about 30 ms to validate, of 1000 up to 140 ms, of 8000
	// seconds (BenchmarkHostileDocuments). Channel apps send far less (GraphiQL's introspection
	// query has 184 tokens).
	DefaultMaxTokens = 600
	// DefaultMaxPersistedQueryBytes bounds the documents kept as automatic persisted queries.
	DefaultMaxPersistedQueryBytes = 16 << 10
	// DefaultMaxSubscriptionsPerConnection bounds the operations running at once on one
	// websocket.
	DefaultMaxSubscriptionsPerConnection = 20
	// DefaultMaxConnectionsPerPrincipal bounds the websockets one caller keeps open on one
	// instance.
	DefaultMaxConnectionsPerPrincipal = 10
	// DefaultResponseCacheBytes bounds the availability responses kept: a 14-day grid is
	// 28 KB, 100 KB with every slot's resources, so 16 MiB keeps hundreds. Half the search
	// answers' budget (booking.DefaultAnswerCacheBytes): a response is served only after its
	// search, which the answers kept make cheap, and building it again costs a few ms.
	DefaultResponseCacheBytes = 16 << 20
)

// Error codes (extensions.code) of the operations and requests the limits refuse.
const (
	// CodeDepthLimit is this package's own code, named after gqlgen's complexity code.
	CodeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	// CodeComplexityLimit is the code gqlgen's extension.ComplexityLimit sets (an unexported
	// constant there; TestComplexityLimit checks that it has not changed).
	CodeComplexityLimit = "COMPLEXITY_LIMIT_EXCEEDED"
)

func init() {
	// A refused operation is never executed, like one that fails validation: register both
	// limit codes as protocol errors so that gqlgen answers them as it answers validation
	// errors (HTTP 422 for application/json, 400 for application/graphql-response+json)
	// rather than 200. gqlgen documents 422 for its complexity limit but does not register
	// the code itself.
	errcode.RegisterErrorType(CodeDepthLimit, errcode.KindProtocol)
	errcode.RegisterErrorType(CodeComplexityLimit, errcode.KindProtocol)
	// The same for the refusals of edge.go: a malformed persisted query (VALIDATION), the
	// rate limit and the websocket's operation limit (RATE_LIMITED; over HTTP the status
	// becomes 429). Only errors before execution take this path: a VALIDATION error of a
	// resolver is still part of a 200 response.
	errcode.RegisterErrorType(apphub.EINVALID, errcode.KindProtocol)
	errcode.RegisterErrorType(apphub.ERATELIMITED, errcode.KindProtocol)
}

// Options configures NewHandler. The zero value gives the defaults above.
type Options struct {
	// MaxDepth is the deepest chain of nested fields an operation may select, counted in
	// fields (`{ hub { version } }` is 2) through fragments, introspection included.
	MaxDepth int
	// MaxComplexity is the largest complexity of an operation: gqlgen's count, with the field
	// costs of fieldCosts, plus the cost of its introspection (introspectionCost).
	MaxComplexity int
	// MaxBodyBytes is the largest request body accepted, and the largest websocket message.
	// Default DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// MaxTokens is the most lexical tokens a document may have; the parser stops at the next
	// one (GRAPHQL_PARSE_FAILED). Default DefaultMaxTokens.
	MaxTokens int
	// DisableIntrospection refuses, before execution, every operation that selects __schema or
	// __type (GRAPHQL_VALIDATION_FAILED); __typename stays. The explorer cannot show the
	// schema then.
	DisableIntrospection bool
	// AllowedOrigins are the host patterns (path.Match syntax, e.g. "*.example.com") of the
	// browser origins that may open a websocket besides the hub's own host.
	AllowedOrigins []string
	// KeepAlive is how often a websocket is pinged. Default 15s.
	KeepAlive time.Duration
	// InitTimeout is how long a websocket may take to send its connection_init. Default 10s.
	InitTimeout time.Duration
	// WebsocketWriteTimeout is how long a websocket client may take to accept one message;
	// one that takes longer (it stopped reading) is cut off, and its subscriptions end.
	// Default 10s.
	WebsocketWriteTimeout time.Duration
	// TracerProvider, when set, makes every GraphQL operation a span (otelgqlgen), named after
	// the operation, with one child span per root field, as children of the request's span.
	TracerProvider trace.TracerProvider
	// Shutdown ends when the hub shuts down: its websockets then close with 1001 (going
	// away). A websocket outlives the request that opened it. Nil: never.
	Shutdown context.Context
	// QueryCache, when set, enables automatic persisted queries (clients send a document's
	// SHA-256 instead of the document once it is registered); the hub keeps them in Redis. A
	// document is registered only once it parsed, validated and passed the limits.
	QueryCache graphql.Cache[string]
	// MaxPersistedQueryBytes is the largest document registered as a persisted query; a larger
	// one runs but is not kept. Default DefaultMaxPersistedQueryBytes (16 KiB).
	MaxPersistedQueryBytes int
	// MaxSubscriptionsPerConnection is the most operations (subscriptions, and queries and
	// mutations sent over the socket) running at once on one websocket; the next one is
	// refused with an error message for its id (RATE_LIMITED) until one completes.
	// Default DefaultMaxSubscriptionsPerConnection.
	MaxSubscriptionsPerConnection int
	// MaxConnectionsPerPrincipal is the most websockets one principal (Principal.Ref; an
	// anonymous caller by the host of the request's RemoteAddr) keeps open on this instance;
	// the next is closed after its connection_init with CloseTooManyRequests.
	// Default DefaultMaxConnectionsPerPrincipal.
	MaxConnectionsPerPrincipal int
	// Limit, when set, is asked once per operation, after parsing, validation and the limits
	// above and before execution, whether the caller in ctx may run it: class is "write" for a
	// mutation, "search" for a query or a subscription (once, when it starts). A nil error lets
	// it run; any other refuses it with the error's code. RATE_LIMITED is answered over HTTP
	// with 429 and Retry-After (the error's RetryAfter, in whole seconds, at least 1),
	// UNAVAILABLE with 503; over a websocket as an error message for the operation.
	Limit func(ctx context.Context, class string) error
	// Authenticate verifies the credential a websocket sends in its connection_init payload:
	// the token of "Authorization: Bearer <token>" (a JWT or an API key), without the scheme.
	// It returns an EUNAUTHENTICATED error for a credential that is not valid (the socket is
	// closed with 4401), an EUNAVAILABLE one when it cannot tell now (closed with 1013); any
	// other failure closes it with 1011 and is logged.
	// Without it, a websocket that sends a credential is refused with 4401; one that sends
	// none calls as the upgrade request's principal.
	Authenticate func(ctx context.Context, credential string) (apphub.Principal, error)
	// Now is the clock credentials expire by (the one that verified them); default time.Now.
	Now func() time.Time
	// ResponseCacheBytes bounds the memory of the availability responses kept (responsecache.go),
	// counting each one's request and body. Default DefaultResponseCacheBytes.
	ResponseCacheBytes int
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxComplexity <= 0 {
		o.MaxComplexity = DefaultMaxComplexity
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = DefaultMaxTokens
	}
	if o.MaxPersistedQueryBytes <= 0 {
		o.MaxPersistedQueryBytes = DefaultMaxPersistedQueryBytes
	}
	if o.MaxSubscriptionsPerConnection <= 0 {
		o.MaxSubscriptionsPerConnection = DefaultMaxSubscriptionsPerConnection
	}
	if o.MaxConnectionsPerPrincipal <= 0 {
		o.MaxConnectionsPerPrincipal = DefaultMaxConnectionsPerPrincipal
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	if o.WebsocketWriteTimeout <= 0 {
		o.WebsocketWriteTimeout = 10 * time.Second
	}
	if o.InitTimeout <= 0 {
		o.InitTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ResponseCacheBytes <= 0 {
		o.ResponseCacheBytes = DefaultResponseCacheBytes
	}
	return o
}

// fieldCosts returns the complexity of the fields that cost more than gqlgen's default of
// 1 + the complexity of their children. Introspection is costed by operationLimits.
//
// A cost should not be below 1 + childComplexity: operationLimits refuses, before gqlgen's
// walk, an operation that selects more than ten times the limit in fields, on the premise that
// each field costs at least 1 and its children. A list field multiplies its children by the
// number of items it may return; for a Relay connection, the page size it asks for, e.g.
//
// appointments multiplies by its page size; availability by the days of its window, whose
// slots are the list that grows.
func fieldCosts() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Appointments = func(childComplexity int, _ *model.AppointmentFilter, first *int, _ *string, last *int, _ *string) int {
		n := defaultPage
		if first != nil || last != nil {
			n = max(deref(first), deref(last))
		}
		return 1 + childComplexity*n
	}
	c.Query.Nodes = func(childComplexity int, ids []string) int { return 1 + childComplexity*len(ids) }
	c.Query.Availability = func(childComplexity int, input model.AvailabilityInput) int {
		window := booking.DefaultSearchWindow
		if input.From != nil && input.To != nil {
			window = input.To.Sub(*input.From)
		} else if input.To != nil {
			window = slots.MaxSearchWindow // from now: whatever the end says, at most this
		}
		days := int(window.Hours()/24) + 1
		return 1 + childComplexity*min(max(days, 1), 31)
	}
	// Availability.recommended costs as one object, as a day's slots do: at most 50 of them
	// (fewer than a day's slots), and within the availability's cost, which its days multiply.
	return c
}

// Introspection costs. gqlgen's complexity walk skips __schema altogether and counts __type as
// any field; here both cost like any field (1 + their children, through fragments) except that
// the field itself costs more: whatever it selects, it walks the whole schema (__schema) or a
// whole type (__type), and its lists grow with the schema, not with the selection. At the
// default limit GraphiQL's introspection query costs about 300, and a document can hold at most
// 9 aliases of __schema.
const (
	schemaCost = 100
	typeCost   = 10
)

// operationLimits checks an operation after validation and before anything else looks at it:
//
//   - introspection, when it is disabled: gqlgen would only fail the fields at execution, with
//     an uncoded error;
//   - its depth: gqlgen has no depth limit of its own, and complexity alone lets a narrow but
//     very deep document through (each level costs 1);
//   - its size once fragments are expanded: gqlgen's complexity walk expands every fragment
//     spread anew, so a document of a few kilobytes whose fragments each spread the next one
//     twice costs it 2^n steps (minutes at n=30, and it cannot be cancelled). This guard
//     counts the expanded fields in linear time and refuses an operation that selects more
//     than complexityGuardFactor times the complexity limit. Every field costs at least 1,
//     so the complexity check would refuse it too: the guard only spares the walk;
//   - its complexity: gqlgen's walk (complexity.Calculate, with fieldCosts) for everything but
//     introspection, plus the introspection's cost measured here.
type operationLimits struct {
	maxDepth             int
	maxComplexity        int
	disableIntrospection bool
	es                   graphql.ExecutableSchema // set by Validate
}

// complexityGuardFactor sets the guard from the complexity limit: high enough that the
// complexity check decides every operation it can measure quickly, low enough that gqlgen's
// walk stays short (10 000 field visits at the default limit).
const complexityGuardFactor = 10

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*operationLimits)(nil)

func (*operationLimits) ExtensionName() string { return "OperationLimits" }

func (l *operationLimits) Validate(es graphql.ExecutableSchema) error {
	if l.maxDepth < 1 || l.maxComplexity < 1 {
		return errors.New("operation limits must be at least 1")
	}
	l.es = es
	return nil
}

// ignoreIntrospection leaves __type to measureOperation (gqlgen skips __schema by itself).
var ignoreIntrospection = complexity.WithIgnoreFields(map[string]struct{}{"Query.__type": {}})

// MutateOperationContext runs after parsing and validation, before execution, for every
// transport (POST, GET, websocket).
func (l *operationLimits) MutateOperationContext(ctx context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	s := measureOperation(opCtx.Doc, opCtx.Operation)
	if l.disableIntrospection && s.introspects {
		err := gqlerror.Errorf("introspection is disabled on this hub: the operation selects __schema or __type")
		errcode.Set(err, errcode.ValidationFailed)
		return err
	}
	if s.depth > l.maxDepth {
		err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", s.depth, l.maxDepth)
		errcode.Set(err, CodeDepthLimit)
		return err
	}
	if s.fields > min(l.maxComplexity, fieldsCap)*complexityGuardFactor {
		err := gqlerror.Errorf("operation has complexity of at least %d, which exceeds the limit of %d",
			s.fields, l.maxComplexity)
		errcode.Set(err, CodeComplexityLimit)
		return err
	}
	if holdsNUL(opCtx.Doc, opCtx.Variables) {
		err := gqlerror.Errorf("a string of the operation holds the character U+0000 (NUL), which no field may hold")
		errcode.Set(err, apphub.EINVALID)
		return err
	}
	c := complexity.Calculate(ctx, l.es, opCtx.Operation, opCtx.Variables, ignoreIntrospection)
	if c = min(c+s.introspection, fieldsCap); c > l.maxComplexity {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", c, l.maxComplexity)
		errcode.Set(err, CodeComplexityLimit)
		return err
	}
	return nil
}

// shape is what operationLimits measures of a selection set.
type shape struct {
	depth         int  // the longest chain of nested fields; fragments add no depth of their own
	fields        int  // fields selected once fragments are expanded
	introspection int  // the cost of its __schema and __type fields (schemaCost, typeCost)
	introspects   bool // whether it selects __schema or __type
}

// measureOperation returns the shape of op, following fragment spreads and inline fragments.
func measureOperation(doc *ast.QueryDocument, op *ast.OperationDefinition) shape {
	if op == nil {
		return shape{}
	}
	m := meter{doc: doc, fragments: map[string]*shape{}}
	return m.selectionSet(op.SelectionSet)
}

// meter measures selection sets. It remembers the shape of each named fragment, which does
// not depend on where the fragment is spread, so each is walked once however many times it
// is spread.
type meter struct {
	doc       *ast.QueryDocument
	fragments map[string]*shape // fragment name → its shape; nil while it is being walked
}

// fieldsCap bounds the counts of a shape: expanded sizes grow exponentially with nested
// spreads, and the counts only have to be compared with a limit.
const fieldsCap = 1 << 40

func (m *meter) selectionSet(set ast.SelectionSet) shape {
	var total shape
	for _, sel := range set {
		var s shape
		switch sel := sel.(type) {
		case *ast.Field:
			s = m.selectionSet(sel.SelectionSet)
			switch sel.Name {
			case "__schema":
				s.introspection, s.introspects = min(schemaCost+s.fields, fieldsCap), true
			case "__type":
				s.introspection, s.introspects = min(typeCost+s.fields, fieldsCap), true
			}
			s.depth++
			s.fields++
		case *ast.InlineFragment:
			s = m.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			s = m.fragment(sel.Name)
		}
		total.depth = max(total.depth, s.depth)
		total.fields = min(total.fields+s.fields, fieldsCap)
		total.introspection = min(total.introspection+s.introspection, fieldsCap)
		total.introspects = total.introspects || s.introspects
	}
	return total
}

func (m *meter) fragment(name string) shape {
	if s, ok := m.fragments[name]; ok {
		if s == nil {
			// A cycle. Validation (NoFragmentCycles) refuses cycles before extensions run;
			// this only makes sure one could never loop.
			return shape{}
		}
		return *s
	}
	def := m.doc.Fragments.ForName(name)
	if def == nil {
		return shape{} // validation refuses unknown fragments
	}
	m.fragments[name] = nil
	s := m.selectionSet(def.SelectionSet)
	m.fragments[name] = &s
	return s
}

// holdsNUL reports whether a string the operation gives — in its variables or written in its
// document — holds U+0000. No field has a use for it, and a store on PostgreSQL cannot keep it
// (jsonb refuses it): refused here, on every store alike, before anything runs.
func holdsNUL(doc *ast.QueryDocument, vars map[string]any) bool {
	if anyHoldsNUL(vars) {
		return true
	}
	var inSet func(ast.SelectionSet) bool
	inValue := func(v *ast.Value) bool {
		var walk func(*ast.Value) bool
		walk = func(v *ast.Value) bool {
			if v == nil {
				return false
			}
			if strings.Contains(v.Raw, "\x00") {
				return true
			}
			for _, c := range v.Children {
				if walk(c.Value) {
					return true
				}
			}
			return false
		}
		return walk(v)
	}
	inSet = func(set ast.SelectionSet) bool {
		for _, sel := range set {
			switch sel := sel.(type) {
			case *ast.Field:
				for _, a := range sel.Arguments {
					if inValue(a.Value) {
						return true
					}
				}
				if inSet(sel.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if inSet(sel.SelectionSet) {
					return true
				}
			}
		}
		return false
	}
	for _, op := range doc.Operations {
		for _, d := range op.VariableDefinitions {
			if inValue(d.DefaultValue) {
				return true
			}
		}
		if inSet(op.SelectionSet) {
			return true
		}
	}
	for _, f := range doc.Fragments {
		if inSet(f.SelectionSet) {
			return true
		}
	}
	return false
}

// anyHoldsNUL reports whether decoded JSON holds a string (or an object's name) with U+0000.
func anyHoldsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if anyHoldsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || anyHoldsNUL(e) {
				return true
			}
		}
	}
	return false
}
