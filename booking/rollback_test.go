package booking_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// redisHub is what one hub process has of Redis: its client, connected with the rollback
// guard, and its cache, as cmd/apphub wires them.
func redisHub(t *testing.T, url, prefix string) (*rediscache.Client, *rediscache.Cache) {
	t.Helper()
	guard := rediscache.NewRollbackGuard(prefix, nil)
	rdb, err := rediscache.Connect(url, rediscache.ConnectOptions{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	cache, err := rediscache.NewCache(rdb, nil, rediscache.CacheOptions{Prefix: prefix, Guard: guard, RetryInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cache.Close)
	return rdb, cache
}

// offers reports whether res offers start on resource.
func offers(res *booking.SlotResult, start time.Time, resource string) bool {
	return slices.ContainsFunc(res.Days, func(d apphub.SlotDay) bool {
		return slices.ContainsFunc(d.Slots, func(s apphub.Slot) bool { return s.Start.Equal(start) && offeredBy(s, resource) })
	})
}

// searchUntilVersioned searches until the answer carries a version again (the cache is used
// once Redis answers), failing if any answer on the way offers one of the booked starts.
func searchUntilVersioned(t *testing.T, svc *booking.Service, q booking.SlotQuery, booked ...time.Time) *booking.SlotResult {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := svc.Search(asAdmin(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range booked {
			if offers(res, b, "tech-1") {
				t.Fatalf("the booked %v is offered again (version %q)", b, res.Version)
			}
		}
		if res.Version != "" {
			return res
		}
		if time.Now().After(deadline) {
			t.Fatal("searches never used the cache again after Redis came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Redis restored from a snapshot taken before a booking (a restart on an older RDB file, or a
// failover to a lagging replica) brings back the generations, the entries and the shared
// answers of before the booking. The booked slot is never offered again: not by the instance
// that kept answers in memory under versions, not by a hub started after the restore, and not
// after one more booking in the zone brings the generations back to where they were.
func TestRedisRollbackNeverOffersABookedSlot(t *testing.T) {
	// Not parallel: it starts its redis-server again on the port it had, which another test's
	// listener could take meanwhile.
	port, dir := storetest.FreePort(t), t.TempDir()
	srv := storetest.StartRedisServerIn(t, port, dir)
	const prefix = "hub:"
	rdbA, cacheA := redisHub(t, srv.URL(), prefix)
	e := newEnv(t, booking.Options{Cache: cacheA, Answers: cacheA})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(2 * 24 * time.Hour)}
	first, second := at("10:00"), at("14:00")

	warm, err := e.svc.Search(ctx, q)
	if err != nil || warm.Version == "" || !offers(warm, first, "tech-1") || !offers(warm, second, "tech-1") {
		t.Fatalf("before any booking: %+v, %v", warm, err)
	}
	if again, err := e.svc.Search(ctx, q); err != nil || !sameAnswer(again, warm) {
		t.Fatalf("the second search was not the answer kept under the version: %p, %v", again, err)
	}
	if err := rdbA.Raw().Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: first}); err != nil {
		t.Fatal(err)
	}
	after, err := e.svc.Search(ctx, q)
	if err != nil || after.Version == "" || after.Version == warm.Version || offers(after, first, "tech-1") {
		t.Fatalf("after the booking: %+v, %v", after, err)
	}

	srv.Kill()
	srv = storetest.StartRedisServerIn(t, port, dir)
	// The test means something only if Redis really came back with the state of before the
	// booking: the answer shared then is there again.
	if n, err := rdbA.Raw().Exists(ctx, prefix+"zone:{paris-11}").Result(); err != nil || n != 1 {
		t.Fatalf("the restored Redis has no zone hash (%d, %v): the snapshot was not loaded", n, err)
	}

	restored := searchUntilVersioned(t, e.svc, q, first)
	if restored.Version == warm.Version || restored.Version == after.Version {
		t.Fatalf("a version came back after the restore: %q (before the booking %q, after it %q)", restored.Version, warm.Version, after.Version)
	}
	// A hub started after the restore never saw Redis before.
	_, cacheB := redisHub(t, srv.URL(), prefix)
	b := e.another(t, booking.Options{Cache: cacheB, Answers: cacheB})
	searchUntilVersioned(t, b, q, first)

	// One more booking in the zone takes its generations to where the lost booking had them.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: second}); err != nil {
		t.Fatal(err)
	}
	var last *booking.SlotResult
	for _, svc := range []*booking.Service{e.svc, b} {
		last = searchUntilVersioned(t, svc, q, first, second)
		if last.Version == warm.Version || last.Version == after.Version || last.Version == restored.Version {
			t.Fatalf("a version came back after the second booking: %q", last.Version)
		}
	}

	// A plain reconnect is no rollback: the same server process keeps the epoch, and the answer
	// kept under the version is served again.
	epoch := rdbA.Raw().Get(ctx, prefix+"busy:epoch").Val()
	admin := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer admin.Close()
	if n, err := admin.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Result(); err != nil || n == 0 {
		t.Fatalf("CLIENT KILL: %d connections, %v", n, err)
	}
	if res, err := b.Search(ctx, q); err != nil || !sameAnswer(res, last) {
		t.Fatalf("after a reconnect the kept answer (version %q) was not served: %+v, %v", last.Version, res, err)
	}
	if now := rdbA.Raw().Get(ctx, prefix+"busy:epoch").Val(); now != epoch {
		t.Fatalf("a reconnect replaced the epoch: %q, was %q", now, epoch)
	}
}
