package rediscache

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RollbackGuard keeps the cache's versions from repeating when Redis's data goes back in time.
//
// A Redis restored from an older snapshot (a restart on an older RDB or AOF file, a Sentinel or
// Cluster failover to a replica that lagged) brings back the generations of before bookings
// that were answered, and the epoch with them: versions, entries and shared answers that offer
// booked time would be good again. Every such server is another process, with a new run_id
// (INFO server), while a plain reconnect finds the same one; master_replid tells nothing more.
// So the guard checks each connection the client opens, in its OnConnect hook, which runs
// before the connection carries any command: it compares the server's run_id with a stamp kept
// on that same server, the run_id that stamped it last. Data restored or replicated from
// elsewhere carries a stamp that names another process (or none): the guard then replaces the
// cache's epoch, and only then the stamp, so that nothing read on any connection to that server
// is taken for current under an epoch of before. The stamp lives in Redis, so a hub started after the restore, which never
// met the server before, replaces the epoch too. Several processes may replace it at once:
// every replacement is a new random epoch, and one more makes entries stale, never current.
//
// What is covered:
//   - A single server and Sentinel, exactly: the stamp and the epoch are on the server the
//     connection reaches, and both are replaced on that connection before OnConnect returns.
//   - Redis Cluster: each master has its own stamp, a key whose hash slot is one of that
//     master's, so a shard that restarted or failed over on its own is found by the first
//     connection to it. The epoch lives on one shard. On that shard the guard replaces it as on
//     a single server; for the others it cannot (the cluster client must not be called from
//     inside its own hook), so it marks the replacement pending, and the cache gives no version
//     and reads no entry until it has replaced the epoch and then written the stamp. Because
//     the epoch and a zone are read from two shards at once, a version or busy read whose round
//     trip overlapped a new connection's check is read again: the guard counts the servers it
//     meets for the first time or with a new run_id, and the replacements it made or marked.
//
// What is not:
//   - data rolled back inside one process (DEBUG RELOAD NOSAVE, keys put back by hand with
//     RESTORE): the run_id stays;
//   - a write lost to a split brain: an old master, cut off from the others, still took a Touch
//     after another hub had already reached the promoted replica (min-replicas-to-write on the
//     masters makes that Touch fail, and the cache is then marked stale, after
//     min-replicas-max-lag);
//   - servers that do not tell their run_id (an ACL that denies INFO) and Clusters before
//     Redis 7.0 (no CLUSTER SHARDS): the guard logs it once and checks nothing;
//   - a proxy that answers INFO itself, whose run_id does not change when a server behind it
//     fails over;
//   - replicas read directly: the hub reads masters only.
//
// The embedded Redis (miniredis) has no run_id and needs none: it lives and dies with the hub's
// process and keeps nothing on disk, so it is never restored.
type RollbackGuard struct {
	prefix   string
	epochKey string
	logger   *slog.Logger

	// changes counts the servers met for the first time or with a new run_id, and the epoch
	// replacements made or marked pending: a read whose round trip saw it move may mix a
	// server's old state with the new epoch's absence.
	changes atomic.Uint64

	mu        sync.Mutex
	runIDs    map[string]string // server ("" for a single server, the node id in a Cluster) → the run_id met last
	stampKeys map[string]string // Cluster node id → its stamp
	pending   map[string]string // stamp → run_id, to write once the epoch is replaced
	blind     bool              // the lack of a run_id was logged
}

// NewRollbackGuard returns a guard for the cache under prefix (CacheOptions.Prefix). Give it to
// Connect (ConnectOptions.Guard), and the same guard to the cache (CacheOptions.Guard).
func NewRollbackGuard(prefix string, logger *slog.Logger) *RollbackGuard {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RollbackGuard{prefix: prefix, epochKey: epochKey(prefix), logger: logger,
		runIDs: make(map[string]string), stampKeys: make(map[string]string), pending: make(map[string]string)}
}

func epochKey(prefix string) string { return prefix + "busy:epoch" }

// onConnect checks the server of a new connection (redis.Options.OnConnect, set by Connect). It
// fails, and the connection with it, only when the server cannot be asked or the epoch cannot
// be replaced.
func (g *RollbackGuard) onConnect(ctx context.Context, cn *redis.Conn) error {
	info, err := cn.Info(ctx, "server").Result()
	if isReply(err) {
		g.noRunID(ctx, err.Error())
		return nil
	}
	if err != nil {
		return err
	}
	fields := infoFields(info)
	switch runID := fields["run_id"]; {
	case fields["redis_mode"] == "sentinel":
		return nil // go-redis hands its connections to the Sentinels the same hook
	case runID == "":
		g.noRunID(ctx, "INFO server gives no run_id")
		return nil
	case fields["redis_mode"] == "cluster":
		return g.checkNode(ctx, cn, runID)
	default:
		return g.check(ctx, cn, "", g.prefix+"busy:epoch:server", runID, true)
	}
}

// checkNode checks a Cluster master against the stamp in its own slots.
func (g *RollbackGuard) checkNode(ctx context.Context, cn *redis.Conn, runID string) error {
	var myID *redis.StringCmd
	var shards *redis.ClusterShardsCmd
	if _, err := cn.Pipelined(ctx, func(p redis.Pipeliner) error {
		myID, shards = p.ClusterMyID(ctx), p.ClusterShards(ctx)
		return nil
	}); err != nil && !isReply(err) {
		return err
	}
	if myID.Err() != nil || shards.Err() != nil {
		g.noRunID(ctx, "CLUSTER MYID or CLUSTER SHARDS refused")
		return nil
	}
	var slots []redis.SlotRange
	for _, sh := range shards.Val() {
		for _, n := range sh.Nodes {
			if n.ID == myID.Val() && n.Role == "master" {
				slots = sh.Slots
			}
		}
	}
	if len(slots) == 0 {
		return nil // a replica, or a master without slots: the hub reads nothing there
	}
	stampKey, found := g.nodeStampKey(myID.Val(), slots)
	if !found {
		g.noRunID(ctx, "no stamp key falls in the slots of node "+myID.Val())
		return nil
	}
	return g.check(ctx, cn, myID.Val(), stampKey, runID, inSlots(keySlot(g.epochKey), slots))
}

// check compares the stamp with runID. When they differ it replaces the epoch and then the
// stamp, if the epoch is on this server (epochHere), or marks both for the cache to write.
func (g *RollbackGuard) check(ctx context.Context, cn *redis.Conn, server, stampKey, runID string, epochHere bool) error {
	stamp, err := cn.Get(ctx, stampKey).Result()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	if err != nil {
		return err
	}
	replaced := stamp != runID
	if replaced && epochHere {
		// In this order: a process that finds the stamp current knows the epoch was replaced.
		if _, err := cn.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, g.epochKey, rand.Text(), 0)
			p.Set(ctx, stampKey, runID, 0)
			return nil
		}); err != nil {
			return err
		}
	}
	g.mu.Lock()
	if replaced && !epochHere {
		g.pending[stampKey] = runID
	}
	if replaced || g.runIDs[server] != runID {
		g.runIDs[server] = runID
		g.changes.Add(1)
	}
	g.mu.Unlock()
	switch {
	case !replaced:
	case stamp == "":
		g.logger.InfoContext(ctx, "busy cache: a Redis server without this hub's stamp; the epoch is replaced",
			"run_id", runID, "pending", !epochHere)
	default:
		g.logger.WarnContext(ctx, "busy cache: Redis's data was stamped by another server process (a restart or a failover: it may be older "+
			"than answers already given); the epoch is replaced, so no version, entry or answer from before is used",
			"run_id", runID, "stamped_by", stamp, "pending", !epochHere)
	}
	return nil
}

// nodeStampKey returns the stamp of a Cluster node: a key whose hash slot is one of slots.
func (g *RollbackGuard) nodeStampKey(node string, slots []redis.SlotRange) (string, bool) {
	g.mu.Lock()
	k, found := g.stampKeys[node]
	g.mu.Unlock()
	if found && inSlots(keySlot(k), slots) {
		return k, true
	}
	// A few tries on average (one per master); the bound is for a prefix with a hash tag of
	// its own, whose keys all fall in one slot.
	for i := range 1 << 16 {
		k := g.prefix + "busy:epoch:server:{" + strconv.Itoa(i) + "}"
		if inSlots(keySlot(k), slots) {
			g.mu.Lock()
			g.stampKeys[node] = k
			g.mu.Unlock()
			return k, true
		}
	}
	return "", false
}

// changed returns the count of identity changes met so far (0 without a guard).
func (g *RollbackGuard) changed() uint64 {
	if g == nil {
		return 0
	}
	return g.changes.Load()
}

// pendingStamps returns the stamps to write once the epoch is replaced (nil without a guard).
func (g *RollbackGuard) pendingStamps() map[string]string {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pending) == 0 {
		return nil
	}
	out := make(map[string]string, len(g.pending))
	for k, v := range g.pending {
		out[k] = v
	}
	return out
}

// writeStamps writes stamps through rdb, after the epoch was replaced, and forgets them.
func (g *RollbackGuard) writeStamps(ctx context.Context, rdb redis.UniversalClient, stamps map[string]string) error {
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, runID := range stamps {
			p.Set(ctx, k, runID, 0)
		}
		return nil
	}); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, runID := range stamps {
		if g.pending[k] == runID {
			delete(g.pending, k)
		}
	}
	return nil
}

func (g *RollbackGuard) noRunID(ctx context.Context, why string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.blind {
		return
	}
	g.blind = true
	g.logger.WarnContext(ctx, "busy cache: Redis does not tell which server process it is; a Redis restored from an older snapshot "+
		"will not be detected", "why", why)
}

// isReply reports whether err is the server's reply, not a failure to reach it.
func isReply(err error) bool {
	_, ok := errors.AsType[redis.Error](err)
	return ok
}

// infoFields parses the "name:value" lines of INFO.
func infoFields(info string) map[string]string {
	out := make(map[string]string)
	for line := range strings.Lines(info) {
		if name, value, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(name, "#") {
			out[name] = value
		}
	}
	return out
}

// keySlot is the Redis Cluster hash slot of key: the CRC16 of its hash tag (the part between the
// first "{" and the next "}", when not empty) or of the whole key, modulo 16384.
func keySlot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			key = key[open+1 : open+1+n]
		}
	}
	return int(crc16(key) % 16384)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the Redis Cluster key hash.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func inSlots(slot int, ranges []redis.SlotRange) bool {
	for _, r := range ranges {
		if int64(slot) >= r.Start && int64(slot) <= r.End {
			return true
		}
	}
	return false
}
