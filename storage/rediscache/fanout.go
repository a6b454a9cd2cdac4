package rediscache

import (
	"context"
	"sync"
)

// fanout hands values to the channels subscribed in this process. A subscriber whose buffer
// is full misses the value (send counts it). Channels close when their context ends or the
// fanout is closed.
type fanout[T any] struct {
	mu     sync.Mutex
	closed bool
	subs   map[chan T]func() bool // the channel → unregisters its context.AfterFunc
}

func (f *fanout[T]) subscribe(ctx context.Context, buffer int) <-chan T {
	ch := make(chan T, buffer)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		close(ch)
		return ch
	}
	if f.subs == nil {
		f.subs = make(map[chan T]func() bool)
	}
	// Under the lock, so that close finds the AfterFunc registered.
	f.subs[ch] = context.AfterFunc(ctx, func() { f.unsubscribe(ch) })
	return ch
}

func (f *fanout[T]) unsubscribe(ch chan T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[ch]; ok {
		delete(f.subs, ch)
		close(ch)
	}
}

// send hands v to every subscriber that has room and returns how many had none.
func (f *fanout[T]) send(v T) (dropped int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- v:
		default:
			dropped++
		}
	}
	return dropped
}

// close ends every subscription, and those made afterwards at once.
func (f *fanout[T]) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch, stop := range f.subs {
		stop()
		delete(f.subs, ch)
		close(ch)
	}
}
