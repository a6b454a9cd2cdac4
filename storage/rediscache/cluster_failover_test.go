package rediscache_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// startReplicatedCluster is a Redis Cluster of three masters, each with a replica, that fails
// over within seconds (a node timeout of 1 s).
func startReplicatedCluster(t *testing.T) *testCluster {
	t.Helper()
	return &testCluster{t, storetest.StartRedisCluster(t, 3, 1, "--cluster-node-timeout", "1000")}
}

// TestClusterFailover: on a Redis Cluster whose master fails (killed), its replica takes over and
// the hub carries on with no restart: versions are given again and move with a Touch, and
// events published after the failover reach the other instance — with the bus's stream and
// the zone on the master that failed.
func TestClusterFailover(t *testing.T) {
	// Not parallel: it kills cluster nodes, and waits for the cluster's own timeouts.
	cl := startReplicatedCluster(t)
	const prefix = "hub:"
	failing := cl.node(prefix + "events") // the master of the bus's stream
	var z string
	for i := 0; z == ""; i++ {
		if n := fmt.Sprint("zone-", i); cl.node(prefix+"zone:{"+n+"}") == failing {
			z = n
		}
	}
	url := cl.URL()
	rdbA, c := guarded(t, url, prefix)
	rdbB, err := rediscache.Connect(url, rediscache.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdbB.Close() })
	a, _ := newBus(t, rdbA, rediscache.BusOptions{Prefix: prefix}, nil)
	h := newHistory()
	b, _ := newBus(t, rdbB, rediscache.BusOptions{Prefix: prefix}, h.resync)
	connected(t, a, b)
	onB := b.Subscribe(t.Context())
	ctx := context.Background()
	zones := []apphub.ZoneDay{zone(z)}
	a.PublishEvents(ctx, h.commit("ap-1", 1, apphub.EventCreated))
	expect(t, onB, "ap-1", 1, apphub.EventCreated)
	before := version(t, c, nil, zones)

	cl.Nodes[failing].Kill()
	eventuallyWithin(t, 30*time.Second, "the replica to take over", func() bool {
		info, err := cl.admin(failing+3).Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:master")
	})

	after := versionOnceUp(t, c, nil, zones)
	c.Touch(ctx, nil, zones)
	touched := versionOnceUp(t, c, nil, zones)
	if slices.Contains([]string{before, after}, touched) {
		t.Fatalf("after the failover a Touch left the version as it was (%q, %q, then %q)", before, after, touched)
	}
	// Once the stream's new master serves, what a publishes reaches b again, in order.
	connected(t, a, b)
	a.PublishEvents(ctx, h.commit("ap-1", 2, apphub.EventStateChanged))
	expect(t, onB, "ap-1", 2, apphub.EventStateChanged)
	a.PublishEvents(ctx, h.commit("ap-1", 3, apphub.EventStateChanged))
	expect(t, onB, "ap-1", 3, apphub.EventStateChanged)
}
