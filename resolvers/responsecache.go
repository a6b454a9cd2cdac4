package resolvers

import (
	"context"
	"mime"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/maypok86/otter/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"golang.org/x/sync/singleflight"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/graph/model"
)

// responseCache answers a request that asks for availability and nothing else with the bytes
// of the last response to the very same request (method, URL query and body), as long as the
// availability's version is the same: a slot grid is thousands of objects, and building its
// response again each time would cost far more than the search. The search itself still runs
// for every request (the service answers it from the answer it keeps under the same version),
// so a response is never served past a change of the data it was built from. A request is
// learnt when gqlgen has executed it (so it passed parsing, validation and the limits, which
// depend on the request alone); only requests answered as application/json take part. The
// rank and preferredTimes an input asks for are in the request too, so a ranked request and an
// unranked one of the same window never share a response.
type responseCache struct {
	svc     Service
	limit   func(ctx context.Context, class string) error // Options.Limit; nil: none
	flight  singleflight.Group                            // responses being built, by request and version
	entries *otter.Cache[string, *cachedResponse]         // by request
	budget  int                                           // bytes, as cachedResponse.size counts them
	days    *dayFragments                                 // for the responses it writes
}

// newResponseCache keeps responses within budget bytes. otter evicts as soon as the weights
// pass the budget, and admits a new response in place of one kept only when its request comes
// more often (W-TinyLFU), so that requests seen once do not push out those every channel app
// repeats.
func newResponseCache(svc Service, limit func(context.Context, string) error, budget int) *responseCache {
	return &responseCache{svc: svc, limit: limit, budget: budget, days: newDayFragments(dayFragmentBytes), entries: otter.Must(&otter.Options[string, *cachedResponse]{
		MaximumWeight: uint64(budget),
		Weigher:       func(_ string, e *cachedResponse) uint32 { return e.size },
	})}
}

type cachedResponse struct {
	query   booking.SlotQuery // the search the request asks for
	version string
	body    []byte
	size    uint32 // what it weighs against the budget
}

// keep keeps e as the response to the request key, unless it alone is over the budget.
func (c *responseCache) keep(key string, e *cachedResponse) {
	// The key is the request, its body included (up to MaxBodyBytes); 200 bytes are the
	// entry, the query's strings and the cache's node.
	size := len(key) + len(e.body) + len(e.version) + 200
	if size > c.budget {
		c.entries.Invalidate(key)
		return
	}
	e.size = uint32(size)
	c.entries.Set(key, e)
}

// requestKey names a request in the cache, and reports whether it may take part: a GET or a
// JSON POST (whose body the caller has read) that accepts application/json.
func requestKey(req *http.Request, body []byte) (string, bool) {
	if accept := req.Header.Get("Accept"); accept != "" && accept != "*/*" && accept != "application/json" {
		return "", false // gqlgen picks the content type: leave it to it
	}
	if req.Header.Get("Upgrade") != "" {
		return "", false
	}
	switch req.Method {
	case http.MethodGet:
		return "GET?" + req.URL.RawQuery, true
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			return "", false
		}
		return "POST?" + req.URL.RawQuery + "\n" + string(body), true
	}
	return "", false
}

// serve writes the response kept for key if it is still current, and reports whether it did.
// It is a search like any other: it spends the caller's budget (a refusal is left to gqlgen,
// whose operationGate asks again and answers it).
func (c *responseCache) serve(w http.ResponseWriter, req *http.Request, key string) bool {
	e, found := c.entries.GetIfPresent(key)
	if !found {
		return false
	}
	if current, err := c.svc.IsCurrent(req.Context(), e.query, e.version); err != nil || !current {
		return false
	}
	if c.limit != nil && c.limit(req.Context(), LimitClassSearch) != nil {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(e.body)
	return true
}

type requestKeyKey struct{}

var (
	_ graphql.HandlerExtension     = (*responseCache)(nil)
	_ graphql.OperationInterceptor = (*responseCache)(nil)
)

func (*responseCache) ExtensionName() string                          { return "AvailabilityResponseCache" }
func (*responseCache) Validate(schema graphql.ExecutableSchema) error { return nil }

// InterceptOperation answers the operations that ask for availability only: it runs their
// search (handing the answer to the resolver), writes the response with a gridEncoder (gqlgen
// executes what the encoder does not write), and keeps the response of a request that may
// take part under the answer's version.
func (c *responseCache) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	f, input, ok := availabilityOnly(oc)
	if !ok {
		return next(ctx)
	}
	rk, err := rankingOf(input)
	if err != nil {
		return next(ctx) // the resolver reports it
	}
	q := slotQuery(input)
	res, err := c.svc.Search(ctx, q)
	if err != nil {
		return next(ctx) // the resolver searches again and reports the error
	}
	ctx = withAnswer(ctx, q, res)
	respond := func() *graphql.Response {
		if cal, _, err := c.svc.CalendarAndVersion(ctx); err == nil {
			if data, ok := encodeAvailability(oc, f, cal, res, c.days, rk); ok {
				return &graphql.Response{Data: data}
			}
		}
		return next(ctx)(ctx)
	}
	key, cacheable := ctx.Value(requestKeyKey{}).(string)
	if !cacheable || res.Version == "" {
		return graphql.OneShot(respond())
	}
	// The same request arriving again while its response is built (right after a booking
	// changed the version) waits for that response instead of building its own.
	v, _, _ := c.flight.Do(key+"\x00"+res.Version, func() (any, error) {
		b := &builtResponse{resp: respond()}
		if r := b.resp; r != nil && len(r.Errors) == 0 && len(r.Extensions) == 0 && r.Data != nil {
			// What gqlgen's transport writes for a response of data alone.
			b.body = make([]byte, 0, len(r.Data)+10)
			b.body = append(append(append(b.body, `{"data":`...), r.Data...), '}')
			c.keep(key, &cachedResponse{query: q, version: res.Version, body: b.body})
		}
		return b, nil
	})
	b := v.(*builtResponse)
	if w, ok := ctx.Value(directWriterKey{}).(*directWriter); ok && b.body != nil {
		w.send(b.body)
		return graphql.OneShot(&graphql.Response{}) // what gqlgen writes of it is dropped
	}
	return graphql.OneShot(b.resp)
}

type builtResponse struct {
	resp *graphql.Response
	body []byte // the response as gqlgen's transport writes it; nil when it is not data alone
}

type directWriterKey struct{}

// directWriter lets the response cache write the bytes of a response it built: gqlgen's
// transport marshals a response with encoding/json, which checks and compacts data that is
// JSON already, at more cost than the encoding of the grid itself. Once the cache has written,
// the transport's own header and body are dropped. Only requests that take part in the cache
// (requestKey: answered as application/json, with status 200) get one.
type directWriter struct {
	http.ResponseWriter
	sent bool
}

func (w *directWriter) send(body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.ResponseWriter.Write(body)
	w.sent = true
}

func (w *directWriter) WriteHeader(status int) {
	if !w.sent {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *directWriter) Write(b []byte) (int, error) {
	if w.sent {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *directWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// availabilityOnly returns the field and the input of an operation that is a query of one
// availability field and nothing else, without directives, whose arguments could be read
// (its rank and preferredTimes included: they change the response, not the search).
func availabilityOnly(oc *graphql.OperationContext) (*ast.Field, model.AvailabilityInput, bool) {
	var in model.AvailabilityInput
	f := onlyField(oc, ast.Query, "availability")
	if f == nil {
		return nil, in, false
	}
	// The operation is valid, so the input has the schema's types; gqlgen's own scalar
	// functions read them as the resolver would get them.
	m, _ := f.ArgumentMap(oc.Variables)["input"].(map[string]any)
	if m == nil {
		return nil, in, false
	}
	optional := func(name string, unmarshal func(any) (string, error)) (*string, error) {
		if m[name] == nil {
			return nil, nil
		}
		s, err := unmarshal(m[name])
		return &s, err
	}
	var errs [5]error
	in.Category, errs[0] = graphql.UnmarshalID(m["category"])
	in.Place, errs[1] = optional("place", graphql.UnmarshalString)
	in.Resource, errs[2] = optional("resource", graphql.UnmarshalID)
	var from, to time.Time
	from, errs[3] = graphql.UnmarshalTime(m["from"])
	to, errs[4] = graphql.UnmarshalTime(m["to"])
	in.From, in.To = &from, &to
	return f, in, errs == [5]error{} && rankingInput(m, &in)
}

// onlyField returns the field of an operation of kind op whose one selection is the field
// name, without directives; nil for any other operation.
func onlyField(oc *graphql.OperationContext, op ast.Operation, name string) *ast.Field {
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != op || len(oc.Operation.SelectionSet) != 1 {
		return nil
	}
	if f, isField := oc.Operation.SelectionSet[0].(*ast.Field); isField && f.Name == name && len(f.Directives) == 0 {
		return f
	}
	return nil
}

// slotQuery is the search an availability input asks for.
func slotQuery(in model.AvailabilityInput) booking.SlotQuery {
	return booking.SlotQuery{Category: in.Category, Place: deref(in.Place), Resource: deref(in.Resource), From: deref(in.From), To: deref(in.To)}
}

type answerKey struct{}

type precomputed struct {
	query booking.SlotQuery
	res   *booking.SlotResult
}

// withAnswer hands the availability resolver the search the interceptor already ran.
func withAnswer(ctx context.Context, q booking.SlotQuery, res *booking.SlotResult) context.Context {
	return context.WithValue(ctx, answerKey{}, precomputed{q, res})
}

// search runs q, or takes the answer the interceptor found for the same query.
func (r *queryResolver) search(ctx context.Context, q booking.SlotQuery) (*booking.SlotResult, error) {
	if p, ok := ctx.Value(answerKey{}).(precomputed); ok && p.query == q {
		return p.res, nil
	}
	return r.Service.Search(ctx, q)
}
