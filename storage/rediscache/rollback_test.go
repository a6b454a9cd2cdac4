package rediscache_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// guarded returns a client of url connected with a rollback guard for prefix, and a cache on
// it: one hub process.
func guarded(t testing.TB, url, prefix string) (*rediscache.Client, *rediscache.Cache) {
	t.Helper()
	guard := rediscache.NewRollbackGuard(prefix, nil)
	rdb, err := rediscache.Connect(url, rediscache.ConnectOptions{Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	c, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix, Guard: guard, RetryInterval: 50 * time.Millisecond})
	return rdb, c
}

// versionOnceUp returns the version once the cache gives one again (Redis just came back, or
// Sentinel is failing over).
func versionOnceUp(t testing.TB, c *rediscache.Cache, keys []apphub.ResourceDay, zones []apphub.ZoneDay) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := joinedVersions(context.Background(), c, keys, zones)
		if err == nil {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("no version 30 s after Redis came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRollbackGuard: Redis restarted on a snapshot from before a Touch gives neither a version
// given before nor an entry built before, on the hub that saw it all and on a hub started
// after the restore; a Touch after the restore, which takes the generation back to where the
// lost Touch had it, gives no old version either; and the hubs replace the epoch once, not
// on every connection.
func TestRollbackGuard(t *testing.T) {
	// Not parallel: it starts Redis again on the port it had, which another test's listener
	// could take meanwhile.
	port, dir := storetest.FreePort(t), t.TempDir()
	srv := storetest.StartRedisServerIn(t, port, dir)
	const prefix = "hub:"
	rdb, a := guarded(t, srv.URL(), prefix)
	ctx := context.Background()
	db := newClaimsDB()
	k := key("tech-1")
	keys, zones := []apphub.ResourceDay{k}, []apphub.ZoneDay{zone("paris-11")}

	busy(t, a, db, k)
	if n, err := rdb.Raw().HExists(ctx, prefix+"busy:{tech-1|2026-12-02}", "e").Result(); err != nil || !n {
		t.Fatalf("no entry was stored (%v)", err)
	}
	v0 := version(t, a, keys, zones)
	if err := rdb.Raw().Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	db.book("tech-1", quantum(36), 0)
	a.Touch(ctx, keys, zones)
	v1 := version(t, a, keys, zones)
	if got := busy(t, a, db, k); !has(got[k], quantum(36), 0) || v1 == v0 {
		t.Fatalf("after the booking: %v, version %q (was %q)", got[k], v1, v0)
	}

	srv.Kill()
	srv = storetest.StartRedisServerIn(t, port, dir)
	if g, err := rdb.Raw().HGet(ctx, prefix+"busy:{tech-1|2026-12-02}", "g").Result(); err != nil || g != "0" {
		t.Fatalf("the restored hash has generation %q (%v): the snapshot was not loaded", g, err)
	}
	v2 := versionOnceUp(t, a, keys, zones)
	if v2 == v0 || v2 == v1 {
		t.Fatalf("after the restore the version is %q: before the booking %q, after it %q", v2, v0, v1)
	}
	if got := busy(t, a, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("after the restore Busy answers from the entry of before the booking: %v", got[k])
	}
	epoch := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val()

	// A hub started now finds the stamp its own server's and replaces nothing.
	_, b := guarded(t, srv.URL(), prefix)
	if v := versionOnceUp(t, b, keys, zones); v != v2 {
		t.Fatalf("a hub started after the restore reads %q, the first hub %q", v, v2)
	}
	if got := busy(t, b, db, k); !has(got[k], quantum(36), 0) {
		t.Fatalf("a hub started after the restore: %v", got[k])
	}

	a.Touch(ctx, keys, zones)
	for _, c := range []*rediscache.Cache{a, b} {
		if v := version(t, c, keys, zones); slices.Contains([]string{v0, v1, v2}, v) {
			t.Fatalf("the Touch after the restore gave a version given before: %q (%q, %q, %q)", v, v0, v1, v2)
		}
	}
	if now := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val(); now != epoch {
		t.Fatalf("the epoch changed again (%q, was %q) with no restore", now, epoch)
	}
}

// TestRollbackGuardPlainReconnect: connections dropped and opened again to the same server
// process are no rollback: the epoch and the versions stay.
func TestRollbackGuardPlainReconnect(t *testing.T) {
	t.Parallel()
	port := storetest.FreePort(t)
	srv := storetest.StartRedisServerIn(t, port, t.TempDir())
	const prefix = "hub:"
	rdb, c := guarded(t, srv.URL(), prefix)
	ctx := context.Background()
	keys, zones := []apphub.ResourceDay{key("tech-1")}, []apphub.ZoneDay{zone("paris-11")}
	v := version(t, c, keys, zones)
	epoch := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val()
	if epoch == "" {
		t.Fatal("no epoch: the guard did not stamp a new server")
	}

	admin := client(t, srv.URL()[len("redis://"):])
	connections := func() int64 {
		n, err := admin.Raw().InfoMap(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		fmt.Sscan(n["Stats"]["total_connections_received"], &total)
		return total
	}
	before := connections()
	if err := admin.Raw().ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	if got := version(t, c, keys, zones); got != v {
		t.Fatalf("after a reconnect the version is %q, was %q", got, v)
	}
	if connections() <= before {
		t.Fatal("the cache did not reconnect: the test proves nothing")
	}
	if now := rdb.Raw().Get(ctx, prefix+"busy:epoch").Val(); now != epoch {
		t.Fatalf("a reconnect replaced the epoch: %q, was %q", now, epoch)
	}
}

// TestRollbackGuardEmbedded: the embedded Redis tells no run_id; the guard lets its connections
// through and stamps nothing.
func TestRollbackGuardEmbedded(t *testing.T) {
	t.Parallel()
	e, err := rediscache.StartEmbedded("127.0.0.1:0", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	rdb, c := guarded(t, e.URL(), "hub:")
	ctx := context.Background()
	v := version(t, c, []apphub.ResourceDay{key("tech-1")}, nil)
	if again := version(t, c, []apphub.ResourceDay{key("tech-1")}, nil); again != v {
		t.Fatalf("versions %q then %q with nothing touched", v, again)
	}
	if n, err := rdb.Raw().Exists(ctx, "hub:busy:epoch:server", "hub:busy:epoch").Result(); err != nil || n != 0 {
		t.Fatalf("the guard wrote %d keys on the embedded Redis (%v)", n, err)
	}
}
