package rediscache_test

import (
	"context"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
)

// TestEmbeddedEndToEnd runs the cache and the bus on the embedded Redis (miniredis), the
// binary's default: every command and script they use must work there too, and keys expire
// on the embedded clock.
func TestEmbeddedEndToEnd(t *testing.T) {
	// Not parallel: its entries live 500 ms of wall time and it counts the loads between two
	// reads; a machine slowed by other tests could let them expire in between.
	e, err := rediscache.StartEmbedded("127.0.0.1:0", 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	rdb, err := rediscache.Connect(e.URL(), rediscache.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	rdb2, err := rediscache.Connect(e.URL(), rediscache.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb2.Close() })
	ctx := context.Background()

	// Cache: miss, hit, a booking touched on another hub, a rebuild racing a booking, expiry.
	a, regA := newCache(t, rdb, rediscache.CacheOptions{Prefix: "apphub:", TTL: 500 * time.Millisecond})
	b, _ := newCache(t, rdb2, rediscache.CacheOptions{Prefix: "apphub:", TTL: 500 * time.Millisecond})
	db := newClaimsDB()
	db.book("tech-1", quantum(36), 0)
	k := key("tech-1")
	busy(t, a, db, k)
	if got := busy(t, b, db, k); !has(got[k], quantum(36), 0) || db.loadCount() != 1 {
		t.Fatalf("hub b: %v after %d loads", got[k], db.loadCount())
	}
	v, err := joinedVersions(ctx, a, []apphub.ResourceDay{k}, []apphub.ZoneDay{zone("paris-11")})
	if err != nil {
		t.Fatal(err)
	}
	db.book("tech-1", quantum(37), 0)
	b.Touch(ctx, []apphub.ResourceDay{k}, nil)
	if v2, err := joinedVersions(ctx, a, []apphub.ResourceDay{k}, []apphub.ZoneDay{zone("paris-11")}); err != nil || v2 == v {
		t.Fatalf("version after a Touch on hub b: %q, %v (was %q)", v2, err, v)
	}
	if got := busy(t, a, db, k); !has(got[k], quantum(37), 0) {
		t.Fatalf("hub a after the Touch on b: %v", got[k])
	}
	loading, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	k2 := key("tech-2")
	go func() {
		defer close(done)
		a.Busy(ctx, []apphub.ResourceDay{k2}, func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
			m, err := db.load(ctx, keys)
			close(loading)
			<-release
			return m, err
		})
	}()
	<-loading
	db.book("tech-2", quantum(40), 0)
	b.Touch(ctx, []apphub.ResourceDay{k2}, nil)
	close(release)
	<-done
	if counter(t, regA, "apphub_busy_cache_rebuilds_discarded_total") != 1 {
		t.Fatal("the racing rebuild was not discarded")
	}
	if got := busy(t, b, db, k2); !has(got[k2], quantum(40), 0) {
		t.Fatalf("hub b after the racing rebuild: %v", got[k2])
	}
	eventually(t, "the keys to expire on the embedded clock", func() bool {
		n, err := rdb.Raw().Exists(ctx, "apphub:busy:{tech-1|2026-12-02}", "apphub:busy:{tech-2|2026-12-02}").Result()
		return err == nil && n == 0
	})

	// Bus: two hubs, events in order, a gap filled, calendar changes.
	h := newHistory()
	ba, _ := newBus(t, rdb, rediscache.BusOptions{Prefix: "apphub:"}, nil)
	bb, _ := newBus(t, rdb2, rediscache.BusOptions{Prefix: "apphub:"}, h.resync)
	connected(t, ba, bb)
	sub := bb.Subscribe(ctx)
	ba.PublishEvents(ctx, h.commit("ap-1", 1, apphub.EventCreated))
	h.commit("ap-1", 2, apphub.EventStateChanged)
	ba.PublishEvents(ctx, h.commit("ap-1", 3, apphub.EventStateChanged, apphub.EventAttributeChanged))
	expect(t, sub, "ap-1", 1, apphub.EventCreated)
	expect(t, sub, "ap-1", 2, apphub.EventStateChanged)
	expect(t, sub, "ap-1", 3, apphub.EventStateChanged)
	ev := next(t, sub)
	if ev.Kind != apphub.EventAttributeChanged || string(ev.State.Attributes["@type"]) != `"Appointment"` || len(ev.Fields) != 1 {
		t.Fatalf("event from the stream = %+v", ev)
	}
	got := make(chan string, 1)
	bb.OnCalendarChanged(func(v string) { got <- v })
	ba.PublishCalendarChanged(ctx, "cal-9")
	select {
	case v := <-got:
		if v != "cal-9" {
			t.Fatalf("calendar version %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no calendar change")
	}
}
