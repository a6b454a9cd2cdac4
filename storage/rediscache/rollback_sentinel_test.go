package rediscache_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
)

// startSentinel runs a private Redis Sentinel on port that watches the master on masterPort as
// "mymaster" (down after 1 s, one vote is enough), until t ends.
func startSentinel(t *testing.T, port, masterPort int) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("this test runs its own Redis Sentinel and no redis-server is on the PATH: install it with apt-get install -y redis-server")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites it
	if err := os.WriteFile(conf, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\ndir %s\n"+
		"sentinel monitor mymaster 127.0.0.1 %d 1\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 5000\n",
		port, dir, masterPort), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	s := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { s.Close() })
	eventually(t, "the Sentinel to know the master", func() bool {
		addr, err := s.GetMasterAddrByName(context.Background(), "mymaster").Result()
		return err == nil && len(addr) == 2
	})
}

// TestRollbackGuardSentinel: Sentinel promotes a replica that missed a Touch (its link was cut
// before it, and the master died). The hub, following Sentinel, gives no version given before
// the failover. Its connections to the Sentinel itself go through the same OnConnect hook and
// must work.
func TestRollbackGuardSentinel(t *testing.T) {
	t.Parallel()
	masterPort, replicaPort, sentinelPort := storetest.FreePort(t), storetest.FreePort(t), storetest.FreePort(t)
	master := storetest.StartRedisServerIn(t, masterPort, t.TempDir())
	replica := storetest.StartRedisServerIn(t, replicaPort, t.TempDir(), "--replicaof", "127.0.0.1", fmt.Sprint(masterPort))
	ctx := context.Background()
	m := client(t, fmt.Sprintf("127.0.0.1:%d", masterPort))
	r := client(t, fmt.Sprintf("127.0.0.1:%d", replicaPort))
	// In sync: the replica's link is up (the master counts a replica as connected while its
	// first sync still runs, and buffers what follows until it is done).
	eventuallyWithin(t, 15*time.Second, "the replica to be in sync", func() bool {
		info, err := r.Raw().InfoMap(ctx, "replication").Result()
		return err == nil && info["Replication"]["master_link_status"] == "up"
	})
	startSentinel(t, sentinelPort, masterPort)

	const prefix = "hub:"
	_, c := guarded(t, fmt.Sprintf("redis://127.0.0.1:%d?master_name=mymaster", sentinelPort), prefix)
	zones := []apphub.ZoneDay{zone("paris-11")}
	v0 := version(t, c, nil, zones)
	eventuallyWithin(t, 15*time.Second, "the replica to have the zone", func() bool { return r.Raw().Exists(ctx, prefix+"zone:{paris-11}").Val() == 1 })

	// The replica misses what follows: stopped, its link cut; then the master dies.
	replica.Pause()
	if err := m.Raw().ClientKillByFilter(ctx, "TYPE", "replica").Err(); err != nil {
		t.Fatal(err)
	}
	c.Touch(ctx, nil, zones)
	v1 := version(t, c, nil, zones)
	if v1 == v0 {
		t.Fatal("a Touch did not change the version")
	}
	master.Kill()
	replica.Resume()

	seen := []string{v0, v1}
	v2 := versionOnceUp(t, c, nil, zones)
	if slices.Contains(seen, v2) {
		t.Fatalf("after the failover to the lagging replica the version is %q, given before (%q)", v2, seen)
	}
	if g := r.Raw().HGet(ctx, prefix+"zone:{paris-11}", "2026-12-02").Val(); g != "" {
		t.Fatalf("the promoted replica has the lost Touch (generation %q): the test proves nothing", g)
	}
	seen = append(seen, v2)
	c.Touch(ctx, nil, zones)
	if v := version(t, c, nil, zones); slices.Contains(seen, v) {
		t.Fatalf("the Touch after the failover gave the version %q, given before (%q)", v, seen)
	}
}
