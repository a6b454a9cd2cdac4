package rediscache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
)

// ErrRedisDown is what a call gets while the breaker is open: Redis was found down and has not
// answered since, so the call was not sent.
var ErrRedisDown = apphub.Errorf(apphub.EUNAVAILABLE, "Redis is down: not tried until it answers again")

// Breaker is a circuit breaker for one Redis client, shared by the cache and the bus that use
// it. Once a call fails for want of Redis (no connection, a timeout) the breaker is open: the
// calls that ask it first (Allow) fail at once instead of each waiting for its timeout, so that
// bookings go at MongoDB's speed while Redis is away. A probe then PINGs Redis every interval
// and closes the breaker as soon as Redis answers. Replies from a live server (a script
// missing, a wrong type, a key not found) do not open it.
type Breaker struct {
	rdb      redis.UniversalClient
	interval time.Duration
	logger   *slog.Logger
	opened   prometheus.Counter
	state    prometheus.Gauge

	open atomic.Bool

	mu      sync.Mutex
	probing bool
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// BreakerOptions tune a Breaker; the zero value of a field means its default.
type BreakerOptions struct {
	// Interval is how often the probe PINGs Redis while the breaker is open, and how long it
	// waits for the answer. Default 500ms.
	Interval time.Duration
	Logger   *slog.Logger
}

// NewBreaker returns a closed breaker for c. Its metrics (apphub_redis_breaker_*) are
// registered with reg when reg is not nil. Close stops its probe.
func NewBreaker(c *Client, reg prometheus.Registerer, opts BreakerOptions) (*Breaker, error) {
	b := &Breaker{rdb: c.rdb, interval: opts.Interval, logger: opts.Logger, done: make(chan struct{}),
		opened: prometheus.NewCounter(prometheus.CounterOpts{Name: "apphub_redis_breaker_opened_total",
			Help: "Times Redis was found down: its calls then failed at once until it answered a PING."}),
		state: prometheus.NewGauge(prometheus.GaugeOpts{Name: "apphub_redis_breaker_open",
			Help: "1 while Redis is known to be down and not called, 0 otherwise."})}
	if b.interval <= 0 {
		b.interval = 500 * time.Millisecond
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{b.opened, b.state} {
			if err := reg.Register(col); err != nil {
				return nil, apphub.WrapError(apphub.EINTERNAL, err, "register the Redis breaker metrics")
			}
		}
	}
	return b, nil
}

// Allow returns nil while the breaker is closed, ErrRedisDown while it is open.
func (b *Breaker) Allow() error {
	if b.open.Load() {
		return ErrRedisDown
	}
	return nil
}

// Open reports whether the breaker is open: Redis is known to be down.
func (b *Breaker) Open() bool { return b.open.Load() }

// Fail records the outcome of a call made under ctx, the caller's context: an error that
// says Redis cannot be reached opens the breaker. An error of the caller's own making (its
// context ended) or a reply of the server does not.
func (b *Breaker) Fail(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || errors.Is(err, redis.Nil) {
		return
	}
	if _, isReply := errors.AsType[redis.Error](err); isReply {
		return
	}
	if !b.open.CompareAndSwap(false, true) {
		return
	}
	b.opened.Inc()
	b.state.Set(1)
	b.logger.WarnContext(ctx, "Redis is down: its calls fail at once until it answers again", "err", describe(err))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.probing || b.closed {
		return
	}
	b.probing = true
	b.wg.Go(b.probe)
}

// probe PINGs Redis every interval until it answers, then closes the breaker.
func (b *Breaker) probe() {
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.interval)
		err := b.rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			continue
		}
		// probing is cleared before the breaker closes: a failure that opens it again must find
		// no probe running, or it would stay open for good.
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
		b.open.Store(false)
		b.state.Set(0)
		b.logger.Info("Redis answers again")
		return
	}
}

// Close stops the probe; an open breaker stays open.
func (b *Breaker) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.done)
	b.mu.Unlock()
	b.wg.Wait()
}
