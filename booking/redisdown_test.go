package booking_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// commandCounter counts the commands a client sends, except PING (the probe that watches for
// Redis's return): a command not sent cannot wait for Redis.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "ping" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// downHub is a hub's Redis side on a private server, wired as cmd/apphub does: its client
// (with its commands counted), and one breaker for its cache and its bus.
type downHub struct {
	rdb      *rediscache.Client
	breaker  *rediscache.Breaker
	cache    *rediscache.Cache
	bus      *rediscache.Bus
	commands *commandCounter
}

func newDownHub(t testing.TB, url, prefix string) *downHub {
	t.Helper()
	guard := rediscache.NewRollbackGuard(prefix, nil)
	rdb, err := rediscache.Connect(url, rediscache.ConnectOptions{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	h := &downHub{rdb: rdb, commands: &commandCounter{}}
	rdb.Raw().AddHook(h.commands)
	if h.breaker, err = rediscache.NewBreaker(rdb, nil, rediscache.BreakerOptions{Interval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.breaker.Close)
	if h.cache, err = rediscache.NewCache(rdb, nil, rediscache.CacheOptions{Prefix: prefix, Guard: guard, Breaker: h.breaker,
		RetryInterval: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cache.Close)
	if h.bus, err = rediscache.NewBus(rdb, nil, rediscache.BusOptions{Prefix: prefix, Breaker: h.breaker}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.bus.Close)
	return h
}

// While Redis is down a booking sends nothing to Redis — neither the cache's Touch nor the bus's
// publishes wait for it — and a publish fails at once with UNAVAILABLE. When Redis comes back
// the cache trusts it again by itself, with a new epoch, and searches use it again.
func TestBookingWhileRedisIsDown(t *testing.T) {
	// Not parallel: it starts its redis-server again on the port it had, which another test's
	// listener could take meanwhile.
	port, dir := storetest.FreePort(t), t.TempDir()
	srv := storetest.StartRedisServerIn(t, port, dir)
	const prefix = "hub:"
	h := newDownHub(t, srv.URL(), prefix)
	e := newEnv(t, booking.Options{Cache: h.cache, Answers: h.cache, Publisher: h.bus})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(2 * 24 * time.Hour)}
	if res, err := e.svc.Search(ctx, q); err != nil || res.Version == "" || !offers(res, at("10:00"), "tech-1") {
		t.Fatalf("search with Redis up: %+v, %v", res, err)
	}
	epoch := h.rdb.Raw().Get(ctx, prefix+"busy:epoch").Val()
	// Redis will come back with what it holds now: entries and answers from before the booking.
	if err := h.rdb.Raw().Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Kill()
	// The first search finds Redis down and answers from MongoDB.
	if res, err := e.svc.Search(ctx, q); err != nil || res.Version != "" || !offers(res, at("10:00"), "tech-1") {
		t.Fatalf("search with Redis down: %+v, %v", res, err)
	}
	if !h.breaker.Open() {
		t.Fatal("the breaker is closed after a search found Redis down")
	}
	sent := h.commands.n.Load()
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")}); err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.Search(ctx, q); err != nil || res.Version != "" || offers(res, at("10:00"), "tech-1") {
		t.Fatalf("search with Redis down after the booking: %+v, %v", res, err)
	}
	err := h.bus.PublishEvents(ctx, []apphub.Event{{Kind: apphub.EventCreated, AppointmentID: "a", Version: 1}})
	if apphub.ErrorCode(err) != apphub.EUNAVAILABLE {
		t.Fatalf("publish with Redis down: %v, want UNAVAILABLE", err)
	}
	if n := h.commands.n.Load() - sent; n != 0 {
		t.Fatalf("with Redis known to be down, a booking, a search and a publish sent %d commands to Redis", n)
	}
	if !h.breaker.Open() || !h.cache.Stale() {
		t.Fatalf("during the outage: breaker open %v, cache stale %v; want both", h.breaker.Open(), h.cache.Stale())
	}

	storetest.StartRedisServerIn(t, port, dir)
	deadline := time.Now().Add(10 * time.Second)
	for h.breaker.Open() || h.cache.Stale() {
		if time.Now().After(deadline) {
			t.Fatalf("Redis came back and, by itself, the breaker is still open (%v) or the cache still stale (%v)", h.breaker.Open(), h.cache.Stale())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if now := h.rdb.Raw().Get(ctx, prefix+"busy:epoch").Val(); now == "" || now == epoch {
		t.Fatalf("the epoch is %q after Redis came back, %q before: not replaced", now, epoch)
	}
	res := searchUntilVersioned(t, e.svc, q, at("10:00"))
	if again, err := e.svc.Search(ctx, q); err != nil || !sameAnswer(again, res) {
		t.Fatalf("after Redis came back a search was not served under its version: %p, %v", again, err)
	}
}

// BenchmarkBookRedisDown: the latency of a booking while Redis is down, with the cache and the
// bus wired as in the hub (one breaker). killed: the server is gone (connections refused);
// hung: the process is stopped (SIGSTOP), so connections are accepted and nothing answers, as in
// a partition. The first booking after the outage began, which finds it out, is not timed.
//
//	go test -run '^$' -bench BookRedisDown -benchtime 50x ./booking/
func BenchmarkBookRedisDown(b *testing.B) {
	for _, mode := range []string{"up", "killed", "hung"} {
		b.Run(mode, func(b *testing.B) {
			port := storetest.FreePort(b)
			srv := storetest.StartRedisServerIn(b, port, b.TempDir())
			h := newDownHub(b, srv.URL(), "hub:")
			first := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
			svc := booking.NewService(storetest.Mongo(b), booking.Options{Now: func() time.Time { return first.Add(-24 * time.Hour) },
				Cache: h.cache, Answers: h.cache, Publisher: h.bus})
			ctx := asAdmin()
			if err := svc.SaveCalendar(ctx, benchCalendar(50), nil); err != nil {
				b.Fatal(err)
			}
			book := func(n int) {
				req := booking.NewAppointment{Category: "quick", Resource: fmt.Sprintf("t%03d", n%50), Start: first.Add(time.Duration(n/50) * apphub.Quantum)}
				if _, err := svc.Book(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			book(0) // Redis is reached once
			switch mode {
			case "killed":
				srv.Kill()
			case "hung":
				srv.Pause()
				b.Cleanup(srv.Resume)
			}
			book(1) // finds the outage out, if any
			b.ResetTimer()
			for i := range b.N {
				book(i + 2)
			}
		})
	}
}
