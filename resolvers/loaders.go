package resolvers

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// loaders batch the reads of one response (freshLoaders): fields that each need an appointment or a history
// (aliases of appointment(id), history under every node of a list) are collected for a moment
// and read together, by parallel _id lookups (never an $in scan on a store without pushdown).
type loaders struct {
	appointments *dataloadgen.Loader[string, *apphub.Appointment]
	histories    *dataloadgen.Loader[string, []apphub.Revision]

	svc          Service
	waitlistOnce sync.Once // the waitlist entries the caller may see, read once per response
	waitlistList []booking.WaitlistView
	waitlistErr  error
}

// waitlist reads the waitlist entries the caller may see, once for the response (node(id:)
// of many ids reads them once).
func (l *loaders) waitlist(ctx context.Context) ([]booking.WaitlistView, error) {
	l.waitlistOnce.Do(func() { l.waitlistList, l.waitlistErr = l.svc.WaitlistEntries(ctx) })
	return l.waitlistList, l.waitlistErr
}

type loadersKey struct{}

// batchWait is how long a loader collects keys before it reads.
const batchWait = time.Millisecond

func newLoaders(svc Service) *loaders {
	return &loaders{
		svc: svc,
		appointments: dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]*apphub.Appointment, []error) {
			return parallel(ctx, ids, func(ctx context.Context, id string) (*apphub.Appointment, error) {
				a, err := svc.Appointment(ctx, id)
				if apphub.ErrorCode(err) == apphub.ENOTFOUND {
					return nil, nil
				}
				if err != nil {
					return nil, err
				}
				return &a, nil
			})
		}, dataloadgen.WithWait(batchWait)),
		histories: dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([][]apphub.Revision, []error) {
			return parallel(ctx, ids, svc.History)
		}, dataloadgen.WithWait(batchWait)),
	}
}

// parallel runs fetch for every key at once and returns the values and errors in key order.
func parallel[V any](ctx context.Context, keys []string, fetch func(context.Context, string) (V, error)) ([]V, []error) {
	vals := make([]V, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() { vals[i], errs[i] = fetch(ctx, k) })
	}
	wg.Wait()
	return vals, errs
}

// freshLoaders gives each response loaders of its own. Loaders keep what they read, and a
// subscription's responses come one per change over a websocket or an event stream that may
// live for hours: loaders of the request would show each change the history read for the
// first one.
type freshLoaders struct{ svc Service }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = freshLoaders{}

func (freshLoaders) ExtensionName() string                   { return "FreshLoaders" }
func (freshLoaders) Validate(graphql.ExecutableSchema) error { return nil }

func (l freshLoaders) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(context.WithValue(ctx, loadersKey{}, newLoaders(l.svc)))
}

// loadersFrom returns the response's loaders; a context without them (a test calling a
// resolver directly) gets fresh ones.
func (r *Resolver) loadersFrom(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r.Service)
}
