package rediscache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

func version(t testing.TB, c *rediscache.Cache, keys []apphub.ResourceDay, zones []apphub.ZoneDay) string {
	t.Helper()
	v, err := joinedVersions(context.Background(), c, keys, zones)
	if err != nil || v == "" {
		t.Fatalf("Versions = %q, %v", v, err)
	}
	return v
}

// joinedVersions is the tokens of Versions in one string: equal strings, equal tokens.
func joinedVersions(ctx context.Context, c *rediscache.Cache, keys []apphub.ResourceDay, zones []apphub.ZoneDay) (string, error) {
	v, err := c.Versions(ctx, keys, zones)
	if err == nil && len(v) != len(keys)+len(zones) {
		return "", fmt.Errorf("%d tokens for %d keys and %d zone days", len(v), len(keys), len(zones))
	}
	return strings.Join(v, ","), err
}

func zone(id string) apphub.ZoneDay { return apphub.ZoneDay{Zone: id, Day: day0} }

// TestVersion: a version stays while nothing is touched, changes on any instance's Touch of one
// of its keys or zones and not on others', never comes back after the hashes expired, and
// changes when a hub that lost Redis replaces the epoch.
func TestVersion(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	a, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	b, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	ctx := context.Background()
	keys := []apphub.ResourceDay{key("tech-1")}
	zones := []apphub.ZoneDay{zone("paris-11"), {Zone: "paris-11", Day: day0.Add(24 * time.Hour)}}

	v1 := version(t, a, keys, zones)
	if v := version(t, b, keys, zones); v != v1 {
		t.Fatalf("hub b reads %q, hub a %q: the same state must give the same version", v, v1)
	}
	b.Touch(ctx, []apphub.ResourceDay{key("tech-2")}, []apphub.ZoneDay{zone("lyon-3")})
	if v := version(t, a, keys, zones); v != v1 {
		t.Fatal("a Touch of other keys and zones changed the version")
	}
	b.Touch(ctx, nil, zones[1:])
	v2 := version(t, a, keys, zones)
	if v2 == v1 {
		t.Fatal("a Touch of a zone on hub b did not change the version on hub a")
	}
	b.Touch(ctx, keys, nil)
	v3 := version(t, a, keys, zones)
	if v3 == v2 {
		t.Fatal("a Touch of a resource's day did not change the version")
	}
	// The same names the other way round: the zones' as resources, the resource's as a zone.
	var asKeys []apphub.ResourceDay
	for _, z := range zones {
		asKeys = append(asKeys, apphub.ResourceDay{Resource: z.Zone, Day: z.Day})
	}
	asZones := []apphub.ZoneDay{{Zone: keys[0].Resource, Day: keys[0].Day}}
	if version(t, a, asKeys, asZones) == v3 {
		t.Fatal("keys and zones of the same name share a version")
	}

	// Expiry: the hashes come back with new nonces, so no earlier version repeats.
	hashes := keysOf(t, rdb, prefix+"*{*")
	if len(hashes) == 0 {
		t.Fatal("no hashes")
	}
	for _, h := range hashes { // one by one: on a Cluster they hash to several slots
		if err := rdb.Raw().Del(ctx, h).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if v := version(t, a, keys, zones); v == v1 || v == v2 || v == v3 {
		t.Fatal("a version came back after its hashes expired")
	}
}

// TestVersionRedisDown: without Redis there is no version, and a Touch that could not reach
// Redis keeps this hub from giving one until the epoch is replaced, which changes everybody's.
func TestVersionRedisDown(t *testing.T) {
	// Not parallel: its proxy listens again on the port it had, which another test's listener
	// could take meanwhile.
	rdb, prefix := storetest.Redis(t)
	p := newProxy(t, redisAddr(t))
	a, _ := newCache(t, client(t, p.addr), rediscache.CacheOptions{Prefix: prefix, RetryInterval: 50 * time.Millisecond, Timeout: time.Second})
	b, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix})
	zones := []apphub.ZoneDay{zone("paris-11")}
	before := version(t, b, nil, zones)

	p.stop()
	a.Touch(context.Background(), nil, zones)
	if _, err := joinedVersions(context.Background(), a, nil, zones); !errors.Is(err, rediscache.ErrNoVersion) {
		t.Fatalf("Version with Redis down: %v, want ErrNoVersion", err)
	}
	p.start()
	eventually(t, "the epoch bump", func() bool { return !a.Stale() })
	if v := version(t, b, nil, zones); v == before {
		t.Fatal("the epoch bump did not change the version on the other hub")
	}
	eventually(t, "hub a to give versions again", func() bool {
		v, err := joinedVersions(context.Background(), a, nil, zones)
		return err == nil && v != before
	})
}

// TestVersionPlainReads: once the hashes exist, Versions reads them with plain commands; the
// tokens are the scripts' (a resource's day, a zone's days touched and not, two zones), and the
// reads push the hashes' expiry back as the scripts do.
func TestVersionPlainReads(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ttl := time.Minute
	c, _ := newCache(t, rdb, rediscache.CacheOptions{Prefix: prefix, TTL: ttl})
	ctx := context.Background()
	keys := []apphub.ResourceDay{key("tech-1"), key("tech-2")}
	zones := []apphub.ZoneDay{zone("paris-11"), {Zone: "lyon-3", Day: day0}, {Zone: "paris-11", Day: day0.Add(24 * time.Hour)}}
	created := version(t, c, keys, zones) // the scripts create the hashes
	for round := range 3 {
		got, err := c.Versions(ctx, keys, zones)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.ScriptVersionsForTest(ctx, keys, zones)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("round %d: plain reads %q, scripts %q", round, got, want)
		}
		if round == 0 && strings.Join(got, ",") != created {
			t.Fatalf("the version changed with nothing touched: %q, was %q", got, created)
		}
		c.Touch(ctx, keys[1:], zones[2:])
	}

	hashes := keysOf(t, rdb, prefix+"*{*")
	if len(hashes) != 4 {
		t.Fatalf("hashes %v", hashes)
	}
	for _, h := range hashes {
		if err := rdb.Raw().PExpire(ctx, h, time.Second).Err(); err != nil {
			t.Fatal(err)
		}
	}
	version(t, c, keys, zones)
	for _, h := range hashes {
		if pttl, err := rdb.Raw().PTTL(ctx, h).Result(); err != nil || pttl <= time.Second {
			t.Errorf("%s: TTL %v (%v) after a read, want it pushed back to %v", h, pttl, err, ttl)
		}
	}
}
