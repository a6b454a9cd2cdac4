package rediscache_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
)

// testCluster is a Redis Cluster of private redis-servers (storetest.StartRedisCluster), each
// with its data (dump.rdb and nodes.conf) in a directory of its own, so that a node restarts as
// itself.
type testCluster struct {
	t *testing.T
	*storetest.RedisCluster
}

// startCluster is a cluster of three masters.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	return &testCluster{t, storetest.StartRedisCluster(t, 3, 0)}
}

// admin is a plain client of node i.
func (c *testCluster) admin(i int) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: c.Addr(i)})
	c.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// waitOK waits until every node sees the whole cluster serving. The nodes learn of each other
// by gossip, which can take more than 5 s on a loaded machine.
func (c *testCluster) waitOK() {
	c.t.Helper()
	eventuallyWithin(c.t, 30*time.Second, "the cluster to serve", func() bool {
		for i := range c.Nodes {
			info, err := c.admin(i).ClusterInfo(context.Background()).Result()
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))) {
				return false
			}
		}
		return true
	})
}

// restart kills node i and starts it again on its directory: on its last snapshot.
func (c *testCluster) restart(i int) {
	c.Restart(c.t, i)
	c.waitOK()
}

// node returns the index of the node serving key.
func (c *testCluster) node(key string) int {
	slot, err := c.admin(0).ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		c.t.Fatal(err)
	}
	return int(slot) * 3 / 16384
}

// TestRollbackGuardCluster: on a Redis Cluster, a master restarted on an older snapshot gives
// no version given before, whether it holds the epoch or not: a zone on another master than the
// epoch's (the replacement waits for the cache), then the epoch's master itself (the guard
// replaces the epoch on the new connection).
func TestRollbackGuardCluster(t *testing.T) {
	// Not parallel: it restarts cluster nodes on the ports they had, which another test's
	// listener could take meanwhile.
	cl := startCluster(t)
	const prefix = "hub:"
	epochNode := cl.node(prefix + "busy:epoch")
	// A zone on another master than the epoch's, and one on the epoch's.
	var away, home string
	for i := 0; away == "" || home == ""; i++ {
		z := fmt.Sprint("zone-", i)
		switch n := cl.node(prefix + "zone:{" + z + "}"); {
		case n == epochNode && home == "":
			home = z
		case n != epochNode && away == "":
			away = z
		}
	}
	rdb, c := guarded(t, cl.URL(), prefix)
	ctx := context.Background()
	saveAll := func() {
		t.Helper()
		if err := rdb.Raw().(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return m.Save(ctx).Err()
		}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		zone string
		node int
	}{{away, cl.node(prefix + "zone:{" + away + "}")}, {home, epochNode}} {
		zones := []apphub.ZoneDay{zone(tc.zone)}
		before := versionOnceUp(t, c, nil, zones)
		saveAll()
		c.Touch(ctx, nil, zones)
		after := version(t, c, nil, zones)
		if after == before {
			t.Fatalf("zone %s: a Touch did not change the version", tc.zone)
		}

		cl.restart(tc.node)
		seen := []string{before, after}
		restored := versionOnceUp(t, c, nil, zones)
		if slices.Contains(seen, restored) {
			t.Fatalf("zone %s, node %d restarted on its snapshot: the version %q was given before (%q)", tc.zone, tc.node, restored, seen)
		}
		seen = append(seen, restored)
		c.Touch(ctx, nil, zones)
		if v := version(t, c, nil, zones); slices.Contains(seen, v) {
			t.Fatalf("zone %s: the Touch after the restore gave the version %q, given before (%q)", tc.zone, v, seen)
		}
		// The stamp of the restarted master is current again: nothing is pending.
		again := version(t, c, nil, zones)
		if v := version(t, c, nil, zones); v != again {
			t.Fatalf("zone %s: versions %q then %q with nothing touched", tc.zone, again, v)
		}
	}
}
