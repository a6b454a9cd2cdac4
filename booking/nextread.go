package booking

import (
	"context"
	"sync"
)

// nextRead shares reads among the callers that need them at the same time, without ever
// giving a caller a read that began before it called: a caller that arrives while a read
// runs waits for the next one, which begins when the running one ends and serves every
// caller that arrived meanwhile. So a burst of callers costs two reads at a time at most
// (one running, one gathering) rather than one each, and each caller still sees every write
// that committed before it called.
//
// It is what lets thousands of live subscriptions start at once: each reads the
// appointments it watches first, and the embedded store answers a read of appointments by
// decoding all of them.
type nextRead[T any] struct {
	mu      sync.Mutex
	running bool
	next    *readCall[T] // the read that begins when the running one ends; nil: none asked
}

// readCall is one read and its result, shared by its callers.
type readCall[T any] struct {
	done chan struct{} // closed when v and err are set
	v    T
	err  error
}

// do returns the result of a read (by read) that began after it was called. Callers share
// the result: they must not change it. The read runs with ctx's values, not its
// cancellation (other callers wait for it); a caller whose ctx ends stops waiting.
func (n *nextRead[T]) do(ctx context.Context, read func(context.Context) (T, error)) (T, error) {
	n.mu.Lock()
	if n.next == nil {
		n.next = &readCall[T]{done: make(chan struct{})}
	}
	call := n.next
	if !n.running {
		n.running, n.next = true, nil
		go n.run(context.WithoutCancel(ctx), read, call)
	}
	n.mu.Unlock()
	select {
	case <-call.done:
		return call.v, call.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// run reads for call, then for the callers that arrived meanwhile, until none did.
func (n *nextRead[T]) run(ctx context.Context, read func(context.Context) (T, error), call *readCall[T]) {
	for call != nil {
		call.v, call.err = read(ctx)
		close(call.done)
		n.mu.Lock()
		call, n.next = n.next, nil
		n.running = call != nil
		n.mu.Unlock()
	}
}

// nextReads are nextRead's by name, each kept while it has callers.
type nextReads[T any] struct {
	mu    sync.Mutex
	byKey map[string]*namedRead[T]
}

type namedRead[T any] struct {
	nextRead[T]
	callers int // under nextReads.mu
}

// do is nextRead.do for the reads named name.
func (n *nextReads[T]) do(ctx context.Context, name string, read func(context.Context) (T, error)) (T, error) {
	n.mu.Lock()
	r := n.byKey[name]
	if r == nil {
		if n.byKey == nil {
			n.byKey = make(map[string]*namedRead[T])
		}
		r = &namedRead[T]{}
		n.byKey[name] = r
	}
	r.callers++
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		if r.callers--; r.callers == 0 {
			delete(n.byKey, name)
		}
		n.mu.Unlock()
	}()
	return r.do(ctx, read)
}
