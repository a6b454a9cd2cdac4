package rediscache_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// sent counts the commands a client sends, but the breaker's PINGs.
type sent struct{ n atomic.Int64 }

func (s *sent) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *sent) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "ping" {
			s.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (s *sent) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		s.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// TestBreakerOpensOnlyForOutages: replies of a live server, and callers that gave up, leave the
// breaker closed; a failure to reach Redis opens it.
func TestBreakerOpensOnlyForOutages(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	b, err := rediscache.NewBreaker(rdb, nil, rediscache.BreakerOptions{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx := context.Background()
	rdb.Raw().Set(ctx, prefix+"s", "x", time.Minute)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
	}{
		{"no error", ctx, nil},
		{"key not found", ctx, rdb.Raw().Get(ctx, prefix+"missing").Err()},
		{"server reply", ctx, rdb.Raw().HGet(ctx, prefix+"s", "f").Err()}, // WRONGTYPE
		{"caller gone", gone, context.Canceled},
	} {
		b.Fail(tc.ctx, tc.err)
		if b.Open() || b.Allow() != nil {
			t.Fatalf("%s (%v) opened the breaker", tc.name, tc.err)
		}
	}
	b.Fail(ctx, context.DeadlineExceeded)
	if err := b.Allow(); !b.Open() || apphub.ErrorCode(err) != apphub.EUNAVAILABLE || !errors.Is(err, rediscache.ErrRedisDown) {
		t.Fatalf("after a timeout: open %v, Allow %v", b.Open(), err)
	}
}

// TestBreakerSharedByCacheAndBus: once the cache finds Redis down, neither it nor the bus sends
// anything to Redis — Busy loads from MongoDB, Version fails, Touch marks the cache stale,
// answers are neither read nor stored, publishes fail with UNAVAILABLE — and once Redis
// answers again the breaker closes by itself and the cache replaces the epoch.
func TestBreakerSharedByCacheAndBus(t *testing.T) {
	// Not parallel: its proxy listens again on the port it had, which another test's listener
	// could take meanwhile.
	_, prefix := storetest.Redis(t)
	p := newProxy(t, redisAddr(t))
	rdb := client(t, p.addr)
	counted := &sent{}
	rdb.Raw().AddHook(counted)
	b, err := rediscache.NewBreaker(rdb, nil, rediscache.BreakerOptions{Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	// A Redis that is gone costs the first call its timeout (go-redis redials meanwhile), and
	// none after.
	c, reg := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix, Breaker: b, RetryInterval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond})
	bus, err := rediscache.NewBus(rdb, nil, rediscache.BusOptions{Prefix: prefix, Breaker: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.Close)
	ctx := context.Background()
	db := newClaimsDB()
	k := key("tech-1")
	keys := []apphub.ResourceDay{k}
	busy(t, c, db, k)
	epoch := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val()

	p.stop()
	if _, err := joinedVersions(ctx, c, keys, nil); !errors.Is(err, rediscache.ErrNoVersion) || !b.Open() {
		t.Fatalf("Version with Redis gone: %v, breaker open %v", err, b.Open())
	}
	before, loads := counted.n.Load(), db.loadCount()
	db.book("tech-1", quantum(36), 0)
	c.Touch(ctx, keys, []apphub.ZoneDay{zone("paris-11")})
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) || db.loadCount() != loads+1 {
		t.Fatalf("Busy with the breaker open: %v after %d loads", got[k], db.loadCount()-loads)
	}
	if _, err := joinedVersions(ctx, c, keys, nil); !errors.Is(err, rediscache.ErrNoVersion) {
		t.Fatalf("Version with the breaker open: %v", err)
	}
	c.StoreAnswers(ctx, []string{"q"}, [][]byte{[]byte("{}")})
	if data := c.LoadAnswers(ctx, []string{"q"}); data[0] != nil {
		t.Fatalf("LoadAnswers with the breaker open: %q", data[0])
	}
	if err := bus.PublishEvents(ctx, []apphub.Event{{Kind: apphub.EventCreated, AppointmentID: "a", Version: 1}}); apphub.ErrorCode(err) != apphub.EUNAVAILABLE {
		t.Fatalf("PublishEvents with the breaker open: %v", err)
	}
	bus.PublishAvailabilityChanged(ctx, []apphub.ZoneDay{zone("paris-11")})
	bus.PublishCalendarChanged(ctx, "v2")
	if n := counted.n.Load() - before; n != 0 || !c.Stale() {
		t.Fatalf("with the breaker open %d commands were sent (want 0); stale %v", n, c.Stale())
	}
	if counter(t, reg, "apphub_busy_cache_touch_failures_total") != 1 {
		t.Fatal("the Touch not sent is not counted as failed")
	}

	p.start()
	eventually(t, "the breaker to close and the epoch to be replaced", func() bool { return !b.Open() && !c.Stale() })
	if now := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val(); now == epoch || now == "" {
		t.Fatalf("epoch %q after Redis came back, %q before", now, epoch)
	}
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("after Redis came back: %v", got[k])
	}
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) || counter(t, reg, "apphub_busy_cache_hits_total") != 1 {
		t.Fatalf("after Redis came back the cache is not used: %v, hits %v", got[k], counter(t, reg, "apphub_busy_cache_hits_total"))
	}
}
