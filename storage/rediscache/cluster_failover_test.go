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
	c := &testCluster{t: t}
	for range 6 {
		port, dir := storetest.ClusterPort(t), t.TempDir()
		c.ports, c.dirs = append(c.ports, port), append(c.dirs, dir)
		c.nodes = append(c.nodes, storetest.StartRedisServerIn(t, port, dir,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"))
	}
	ctx := context.Background()
	for i := range 6 {
		if i < 3 {
			if err := c.admin(i).ClusterAddSlotsRange(ctx, i*16384/3, (i+1)*16384/3-1).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if i > 0 {
			if err := c.admin(0).ClusterMeet(ctx, "127.0.0.1", fmt.Sprint(c.ports[i])).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventuallyWithin(t, 30*time.Second, "the six nodes to know each other", func() bool {
		for i := range 6 {
			if info, err := c.admin(i).ClusterInfo(ctx).Result(); err != nil || !strings.Contains(info, "cluster_known_nodes:6") {
				return false
			}
		}
		return true
	})
	for i := 3; i < 6; i++ {
		master, err := c.admin(i - 3).ClusterMyID(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.admin(i).ClusterReplicate(ctx, master).Err(); err != nil {
			t.Fatal(err)
		}
	}
	eventuallyWithin(t, 30*time.Second, "the replicas to be in sync", func() bool {
		for i := 3; i < 6; i++ {
			if info, err := c.admin(i).Info(ctx, "replication").Result(); err != nil || !strings.Contains(info, "master_link_status:up") {
				return false
			}
		}
		for i := range 6 {
			if info, err := c.admin(i).ClusterInfo(ctx).Result(); err != nil || !strings.Contains(info, "cluster_state:ok") {
				return false
			}
		}
		return true
	})
	return c
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
	url := "redis://" + strings.Join(func() []string {
		var out []string
		for _, p := range cl.ports {
			out = append(out, fmt.Sprintf("127.0.0.1:%d", p))
		}
		return out
	}(), "&addr=")
	url = strings.Replace(url, "&", "?", 1)
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

	cl.nodes[failing].Kill()
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
