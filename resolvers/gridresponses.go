package resolvers

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/apphub/apphub/graph/model"
)

// gridResponses builds the response to a grid once for all the subscribers of its watcher
// that sent the same document and variables: gqlgen would marshal the grid (thousands of
// objects) again for each of them, at every change. The response depends on the document,
// the variables and the grid only: who subscribes decides whether they may, which their own
// search checks when they subscribe, not what they get.
//
// gqlgen reads a subscription's next value inside the handler a ResponseInterceptor wraps,
// and marshals it there. So the availabilityChanged resolver hands gqlgen a channel of its
// own (gridOp), and InterceptResponse takes the subscriber's grid from the watcher itself:
// when the response to it is kept, it is answered without calling gqlgen, whose channel then
// stays empty; otherwise the grid is put in gqlgen's channel and gqlgen builds the response
// to exactly that grid.
type gridResponses struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = gridResponses{}

func (gridResponses) ExtensionName() string                   { return "GridResponses" }
func (gridResponses) Validate(graphql.ExecutableSchema) error { return nil }

type gridOpKey struct{}

// gridOp is one subscription operation, as its availabilityChanged resolver left it.
type gridOp struct {
	doc string // the document, operation and variables; "" when they cannot be told apart

	// Set by the resolver, which gqlgen runs before it asks for the first response, in the
	// goroutine that asks for them all.
	w   *gridWatcher
	in  <-chan *model.Availability // the subscriber's grids, from the watcher
	out chan *model.Availability   // what gqlgen reads: a grid whose response it must build
}

// watch makes the operation follow ch, the grids of w, and returns the channel for gqlgen.
func (op *gridOp) watch(w *gridWatcher, ch <-chan *model.Availability) <-chan *model.Availability {
	op.w, op.in, op.out = w, ch, make(chan *model.Availability, 1)
	return op.out
}

func (gridResponses) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	return next(context.WithValue(ctx, gridOpKey{}, &gridOp{doc: documentKey(oc)}))
}

// documentKey names what, besides the grid, a response depends on. encoding/json writes a
// map's keys in order, so equal variables give equal keys.
func documentKey(oc *graphql.OperationContext) string {
	vars, err := json.Marshal(oc.Variables)
	if err != nil || oc.RawQuery == "" {
		return ""
	}
	return oc.RawQuery + "\x00" + oc.OperationName + "\x00" + string(vars)
}

func (gridResponses) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	op, _ := ctx.Value(gridOpKey{}).(*gridOp)
	if op == nil || op.w == nil {
		return next(ctx)
	}
	select {
	case g, ok := <-op.in:
		if !ok {
			// The subscriber left: gqlgen ends the stream when its channel closes.
			close(op.out)
			return next(ctx)
		}
		return op.w.response(op.doc, g, func() *graphql.Response {
			if data, ok := op.encode(ctx, g); ok {
				return &graphql.Response{Data: data}
			}
			op.out <- g
			return next(ctx)
		})
	case <-ctx.Done():
		return next(ctx) // gqlgen's channel is empty: it ends the stream
	}
}

// encode writes the response to g with a gridEncoder, when the operation is one
// availabilityChanged field and g is its watcher's grid.
func (op *gridOp) encode(ctx context.Context, g *model.Availability) ([]byte, bool) {
	oc := graphql.GetOperationContext(ctx)
	f := onlyField(oc, ast.Subscription, "availabilityChanged")
	if f == nil {
		return nil, false
	}
	res, cal, ok := op.w.source(g)
	if !ok {
		return nil, false
	}
	return encodeAvailability(oc, f, cal, res, nil, op.w.rank)
}

// gridEncoding is the response to one grid for one document, shared by its subscribers.
type gridEncoding struct {
	grid *model.Availability
	done chan struct{}     // closed once resp is set
	resp *graphql.Response // nil when the response built could not be shared
}

// response returns the response to g for doc: the one kept, or one built by build (which
// hands g to gqlgen) and kept when g is the latest grid. Subscribers that ask while it is
// built wait for it rather than build their own.
func (w *gridWatcher) response(doc string, g *model.Availability, build func() *graphql.Response) *graphql.Response {
	w.mu.Lock()
	e := w.encoded[doc]
	if e != nil && e.grid == g {
		w.mu.Unlock()
		<-e.done
		if e.resp != nil {
			return &graphql.Response{Data: e.resp.Data}
		}
	} else if doc != "" && g == w.latest {
		e = &gridEncoding{grid: g, done: make(chan struct{})}
		if w.encoded == nil {
			w.encoded = make(map[string]*gridEncoding)
		}
		w.encoded[doc] = e
		w.mu.Unlock()
		defer close(e.done)
		w.r.live.encodings.Add(1)
		resp := build()
		// A field error or an extension is the subscriber's own: only plain data is shared.
		if resp != nil && len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.Data != nil {
			// gqlgen builds every response of an operation in one buffer.
			e.resp = &graphql.Response{Data: bytes.Clone(resp.Data)}
		}
		return resp
	} else {
		// An older grid, taken before the latest was handed out: its response is no one
		// else's.
		w.mu.Unlock()
	}
	w.r.live.encodings.Add(1)
	return build()
}
