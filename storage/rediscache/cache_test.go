package rediscache_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

func newCache(t testing.TB, rdb *rediscache.Client, opts rediscache.CacheOptions) (*rediscache.Cache, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Timeout == 0 {
		// Generous: the tests count hits and misses exactly, also on a loaded machine under
		// the race detector. A Redis that is down refuses connections at once anyway.
		opts.Timeout = 5 * time.Second
	}
	c, err := rediscache.NewCache(rdb, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, reg
}

func busy(t testing.TB, c *rediscache.Cache, db *claimsDB, keys ...apphub.ResourceDay) map[apphub.ResourceDay][]apphub.Claim {
	t.Helper()
	got, err := c.Busy(context.Background(), keys, db.load)
	if err != nil {
		t.Fatalf("Busy: %v", err)
	}
	return got
}

func TestCacheHitsMissesAndClaims(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	c, reg := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	db := newClaimsDB()
	db.book("tech-1", quantum(36), 0)
	db.book("tech-1", quantum(37), 0)
	db.book("tech-2", quantum(40), 2)
	keys := []apphub.ResourceDay{key("tech-1"), key("tech-2"), key("tech-3")}

	first := busy(t, c, db, keys...)
	second := busy(t, c, db, keys...)
	if db.loadCount() != 1 {
		t.Fatalf("load ran %d times, want 1 (the second Busy answers from Redis)", db.loadCount())
	}
	for _, got := range []map[apphub.ResourceDay][]apphub.Claim{first, second} {
		if len(got[key("tech-1")]) != 2 || !has(got[key("tech-1")], quantum(37), 0) || !has(got[key("tech-2")], quantum(40), 2) || len(got[key("tech-3")]) != 0 {
			t.Fatalf("claims = %v", got)
		}
	}
	for _, cl := range second[key("tech-2")] {
		if cl.Resource != "tech-2" || cl.Start.Location() != time.UTC {
			t.Fatalf("claim from the cache = %+v, want resource and UTC start filled", cl)
		}
	}
	if h, m, r := counter(t, reg, "apphub_busy_cache_hits_total"), counter(t, reg, "apphub_busy_cache_misses_total"), counter(t, reg, "apphub_busy_cache_rebuilds_total"); h != 3 || m != 3 || r != 3 {
		t.Fatalf("hits, misses, rebuilds = %v, %v, %v; want 3, 3, 3", h, m, r)
	}

	// A booking on tech-2: only that key is rebuilt.
	db.book("tech-2", quantum(41), 0)
	c.Touch(context.Background(), []apphub.ResourceDay{key("tech-2")}, nil)
	got := busy(t, c, db, keys...)
	if !has(got[key("tech-2")], quantum(41), 0) {
		t.Fatalf("after Touch, tech-2 = %v: the new claim is missing", got[key("tech-2")])
	}
	if h, m := counter(t, reg, "apphub_busy_cache_hits_total"), counter(t, reg, "apphub_busy_cache_misses_total"); h != 5 || m != 4 {
		t.Fatalf("hits, misses = %v, %v; want 5, 4", h, m)
	}
	if db.loaded[key("tech-2")] != 2 || db.loaded[key("tech-1")] != 1 {
		t.Fatalf("loads per key = %v", db.loaded)
	}
}

// TestCacheFreshnessAcrossInstances is the guarantee: once Touch returned for a key, no Busy
// that starts afterwards, on either of two hubs sharing one Redis, answers without the claim
// committed before the Touch. Bookings and searches run concurrently on both.
func TestCacheFreshnessAcrossInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	hubs := []*rediscache.Cache{}
	for _, r := range []*rediscache.Client{rdb, client(t, "")} {
		c, _ := newCache(t, r, rediscache.CacheOptions{Prefix: prefix})
		hubs = append(hubs, c)
	}
	db := newClaimsDB()
	resources := []string{"tech-1", "tech-2", "tech-3"}
	var keys []apphub.ResourceDay
	for _, r := range resources {
		keys = append(keys, key(r))
	}

	// Simple sequence first: an entry built on hub 0, a booking touched on hub 1.
	busy(t, hubs[0], db, keys...)
	busy(t, hubs[1], db, keys...)
	db.book("tech-1", quantum(10), 0)
	hubs[1].Touch(context.Background(), []apphub.ResourceDay{key("tech-1")}, nil)
	for i, h := range hubs {
		if got := busy(t, h, db, keys...); !has(got[key("tech-1")], quantum(10), 0) {
			t.Fatalf("hub %d answered tech-1 without the booking touched before: %v", i, got[key("tech-1")])
		}
	}

	// Then concurrently: a booker commits quantum q on a resource, touches it through a
	// random hub and publishes q as answered; searchers check that every answered booking
	// is in what they get.
	const bookings = 60
	answered := make([]atomic.Int32, len(resources)) // per resource: quanta < answered are booked
	for i := range answered {
		answered[i].Store(20)
	}
	for q := 11; q < 20; q++ { // pre-book what "answered = 20" promises
		for _, r := range resources {
			db.book(r, quantum(q), 0)
		}
	}
	hubs[0].Touch(context.Background(), keys, nil)

	// A load takes a while after it read MongoDB, so that rebuilds race with bookings.
	slowLoad := func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
		m, err := db.load(ctx, keys)
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		return m, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failures atomic.Int32
	for s := range 6 {
		wg.Go(func() {
			h := hubs[s%2]
			for ctx.Err() == nil {
				var want [3]int32
				for i := range resources {
					want[i] = answered[i].Load()
				}
				got, err := h.Busy(ctx, keys, slowLoad)
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("Busy: %v", err)
					}
					return
				}
				for i, r := range resources {
					for q := 20; q < int(want[i]); q++ {
						if !has(got[key(r)], quantum(q), 0) {
							failures.Add(1)
							t.Errorf("hub %d: %s quantum %d was answered before this Busy started and is missing", s%2, r, q)
						}
					}
				}
				if failures.Load() > 0 {
					return
				}
			}
		})
	}
	for n := range bookings {
		i := n % len(resources)
		q := int(answered[i].Load())
		k := db.book(resources[i], quantum(q), 0)
		hubs[n%2].Touch(context.Background(), []apphub.ResourceDay{k}, nil)
		answered[i].Store(int32(q + 1))
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
}

// TestCacheRebuildRacingTouchIsDiscarded: a rebuild that read MongoDB before a booking
// committed, and finishes after the booking touched the key, is not written.
func TestCacheRebuildRacingTouchIsDiscarded(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	c, reg := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	db := newClaimsDB()
	k := key("tech-1")

	loading, release := make(chan struct{}), make(chan struct{})
	slowLoad := func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
		snapshot, _ := db.load(ctx, keys) // what MongoDB had when the rebuild read it
		close(loading)
		<-release
		return snapshot, nil
	}
	done := make(chan map[apphub.ResourceDay][]apphub.Claim)
	go func() {
		got, err := c.Busy(context.Background(), []apphub.ResourceDay{k}, slowLoad)
		if err != nil {
			t.Errorf("Busy: %v", err)
		}
		done <- got
	}()
	<-loading
	db.book("tech-1", quantum(36), 0)
	c.Touch(context.Background(), []apphub.ResourceDay{k}, nil)
	close(release)
	if got := <-done; len(got[k]) != 0 {
		t.Fatalf("the racing Busy got %v; it started before the booking and should have its old view", got[k])
	}
	if n := counter(t, reg, "apphub_busy_cache_rebuilds_discarded_total"); n != 1 {
		t.Fatalf("discarded rebuilds = %v, want 1", n)
	}
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("the next Busy answered %v: the discarded rebuild was used", got[k])
	}
	if n := counter(t, reg, "apphub_busy_cache_hits_total"); n != 0 {
		t.Fatalf("hits = %v, want 0", n)
	}
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) || counter(t, reg, "apphub_busy_cache_hits_total") != 1 {
		t.Fatalf("the rebuild after the booking was not kept: %v", got[k])
	}
}

// TestCacheOneRebuildPerKey: 50 concurrent searches of a cold key load it once.
func TestCacheOneRebuildPerKey(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	c, reg := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	db := newClaimsDB()
	db.book("tech-1", quantum(36), 1)
	keys := []apphub.ResourceDay{key("tech-1"), key("tech-2")}
	slowLoad := func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
		time.Sleep(100 * time.Millisecond)
		return db.load(ctx, keys)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			<-start
			got, err := c.Busy(context.Background(), keys, slowLoad)
			if err != nil {
				t.Errorf("Busy: %v", err)
				return
			}
			if !has(got[key("tech-1")], quantum(36), 1) {
				t.Errorf("Busy = %v", got)
			}
		})
	}
	close(start)
	wg.Wait()
	if db.loaded[key("tech-1")] != 1 || db.loaded[key("tech-2")] != 1 || db.loadCount() != 1 {
		t.Fatalf("load ran %d times, per key %v; want once for both keys", db.loadCount(), db.loaded)
	}
	if r := counter(t, reg, "apphub_busy_cache_rebuilds_total"); r != 2 {
		t.Fatalf("rebuilds = %v, want 2", r)
	}

	// Two hubs, cold again (a booking on each key): each may load once, one writes.
	c2, reg2 := newCache(t, client(t, ""), rediscache.CacheOptions{Prefix: prefix})
	c.Touch(context.Background(), keys, nil)
	before := db.loadCount()
	fallbacks := func() int {
		return int(counter(t, reg, "apphub_busy_cache_fallbacks_total") + counter(t, reg2, "apphub_busy_cache_fallbacks_total"))
	}
	fallbacksBefore := fallbacks()
	start = make(chan struct{})
	for i := range 50 {
		h := []*rediscache.Cache{c, c2}[i%2]
		wg.Go(func() {
			<-start
			if _, err := h.Busy(context.Background(), keys, slowLoad); err != nil {
				t.Errorf("Busy: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	// A read of Redis that failed (under load, its timeout) loads from MongoDB without the
	// cache: those loads are the fallbacks'.
	if n, fb := db.loadCount()-before, fallbacks()-fallbacksBefore; n < 1 || n > 2+fb {
		t.Fatalf("two hubs loaded %d times (%d of them fallbacks), want 1 or 2 besides the fallbacks", n, fb)
	}
	if d := counter(t, reg, "apphub_busy_cache_rebuilds_discarded_total") + counter(t, reg2, "apphub_busy_cache_rebuilds_discarded_total"); d != 0 {
		t.Fatalf("discarded = %v, want 0", d)
	}
}

// TestCacheTTL: every key the cache writes expires when unused.
func TestCacheTTL(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ttl := 3 * time.Second
	c, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix, TTL: ttl})
	db := newClaimsDB()
	db.book("tech-1", quantum(36), 0)
	busy(t, c, db, key("tech-1"), key("tech-2"))
	c.Touch(context.Background(), []apphub.ResourceDay{key("tech-3")}, nil)
	ctx := context.Background()
	var hashes int
	all := keysOf(t, rdb, prefix+"*")
	for _, k := range all {
		if strings.HasSuffix(k, ":lock") {
			t.Errorf("lock %s left behind after the rebuild", k)
		}
		if strings.HasSuffix(k, "busy:epoch") {
			continue
		}
		hashes++
		pttl, err := rdb.Raw().PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pttl <= 0 || pttl > ttl {
			t.Errorf("%s: TTL %v, want in (0, %v]", k, pttl, ttl)
		}
	}
	if hashes != 3 {
		t.Fatalf("keys %v, want 3 hashes", all)
	}
}

// TestCacheRedisDownAndBack: with its Redis killed, a hub searches from MongoDB, remembers the
// booking it could not touch, and replaces the epoch as soon as Redis is back.
func TestCacheRedisDownAndBack(t *testing.T) {
	// Not parallel: it starts Redis again on the port it had, which another test's listener
	// could take meanwhile.
	port := storetest.FreePort(t)
	stop := storetest.StartRedisServer(t, port)
	rdb, err := rediscache.Connect(fmt.Sprintf("redis://127.0.0.1:%d", port), rediscache.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	c, reg := newCache(t, rdb, rediscache.CacheOptions{Prefix: "hub:", RetryInterval: 50 * time.Millisecond, Timeout: time.Second})
	db := newClaimsDB()
	k := key("tech-1")
	busy(t, c, db, k)
	busy(t, c, db, k)
	if counter(t, reg, "apphub_busy_cache_hits_total") != 1 {
		t.Fatal("no hit with Redis up")
	}

	stop()
	loads := db.loadCount()
	db.book("tech-1", quantum(36), 0)
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("Busy with Redis down = %v", got[k])
	}
	if db.loadCount() != loads+1 || counter(t, reg, "apphub_busy_cache_fallbacks_total") != 1 {
		t.Fatalf("with Redis down: %d loads, %v fallbacks; want 1 and 1", db.loadCount()-loads, counter(t, reg, "apphub_busy_cache_fallbacks_total"))
	}
	c.Touch(context.Background(), []apphub.ResourceDay{k}, nil)
	if !c.Stale() || counter(t, reg, "apphub_busy_cache_touch_failures_total") != 1 {
		t.Fatal("a Touch with Redis down is not remembered")
	}
	busy(t, c, db, k) // still down: falls back
	if counter(t, reg, "apphub_busy_cache_fallbacks_total") != 2 {
		t.Fatal("second Busy with Redis down did not fall back")
	}

	storetest.StartRedisServer(t, port)
	eventually(t, "the epoch bump", func() bool { return !c.Stale() })
	if n := counter(t, reg, "apphub_busy_cache_epoch_bumps_total"); n < 1 {
		t.Fatalf("epoch bumps = %v", n)
	}
	if epoch, err := rdb.Raw().Get(context.Background(), "hub:busy:epoch").Result(); err != nil || epoch == "" {
		t.Fatalf("epoch after recovery = %q, %v", epoch, err)
	}
	busy(t, c, db, k)
	if got := busy(t, c, db, k); !has(got[k], quantum(36), 0) || counter(t, reg, "apphub_busy_cache_hits_total") != 2 {
		t.Fatalf("after recovery the cache is not used again (hits %v) or is wrong: %v", counter(t, reg, "apphub_busy_cache_hits_total"), got[k])
	}
}

// TestCacheEpochBumpMakesEntriesStale: a hub that loses Redis while the server and its entries
// stay (another hub still uses them) makes them stale for everybody once it reaches Redis again.
func TestCacheEpochBumpMakesEntriesStale(t *testing.T) {
	// Not parallel: its proxy listens again on the port it had, which another test's listener
	// could take meanwhile.
	rdb, prefix := storetest.Redis(t)
	p := newProxy(t, redisAddr(t))
	a, regA := newCache(t, client(t, p.addr), rediscache.CacheOptions{Prefix: prefix, RetryInterval: 50 * time.Millisecond, Timeout: time.Second})
	b, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	db := newClaimsDB()
	k := key("tech-1")
	busy(t, a, db, k)
	busy(t, b, db, k)

	p.stop()
	db.book("tech-1", quantum(36), 0)
	a.Touch(context.Background(), []apphub.ResourceDay{k}, nil)
	if !a.Stale() {
		t.Fatal("a Touch that did not reach Redis is not remembered")
	}
	if got := busy(t, a, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("hub a, cut off, answered %v", got[k])
	}
	// Hub b still reads the old entry: a booking that cannot reach Redis cannot tell it. This
	// is the documented limit, until a reaches Redis again.
	if got := busy(t, b, db, k); has(got[k], quantum(36), 0) {
		t.Fatal("unexpected: hub b rebuilt without any sign of the booking")
	}

	p.start()
	eventually(t, "the epoch bump", func() bool { return !a.Stale() })
	if counter(t, regA, "apphub_busy_cache_epoch_bumps_total") < 1 {
		t.Fatal("no epoch bump")
	}
	if got := busy(t, b, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("after the epoch bump hub b still answers from the old entry: %v", got[k])
	}
}

func TestCacheLoadErrorIsReturned(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	c, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	boom := apphub.Errorf(apphub.EUNAVAILABLE, "MongoDB is down")
	_, err := c.Busy(context.Background(), []apphub.ResourceDay{key("tech-1")}, func(context.Context, []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
		return nil, boom
	})
	if err != boom {
		t.Fatalf("Busy error = %v, want load's", err)
	}
	db := newClaimsDB()
	busy(t, c, db, key("tech-1"))
	if db.loadCount() != 1 {
		t.Fatal("a failed load left something behind")
	}
}
