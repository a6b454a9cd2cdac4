package rediscache

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
)

// Cache keeps the busy time of (resource, UTC day) keys in Redis for every hub instance. It
// implements booking.BusyCache.
//
// Layout, under the prefix: one hash per key, "busy:{resource|2006-01-02}", holding
//
//	n   a random nonce given when the hash is created: a generation is (n, g), so a hash that
//	    expired and came back never repeats an earlier generation
//	g   the generation, which Touch increments
//	e   the entry: the busy claims, compactly encoded
//	eg  the generation the entry was built from
//	ee  the epoch the entry was built in
//
// a short lock "busy:{resource|day}:lock" (same hash slot) so that one instance at a time
// writes a rebuild, and "busy:epoch", a random token replaced when a Touch could not reach
// Redis and when Redis's data may have gone back in time (see RollbackGuard). An entry is
// current iff eg = g and ee = the epoch.
//
// The guarantee: once Touch returned for a key having reached Redis, no Busy that starts
// afterwards, on any instance, answers that key from an entry built before the Touch. Busy
// reads the generation before it loads, and a rebuild is written only if the generation is
// still the one read, so an entry that carries the current generation was loaded after the
// last Touch returned. A Touch that could not reach Redis is remembered; until the epoch has
// been replaced this instance does not use the cache, and as soon as Redis answers the epoch
// is replaced, which makes every older entry stale for all instances.
//
// While the breaker is open (Redis was found down), no call waits for Redis: Busy loads from
// MongoDB, Version fails, Touch only marks the cache stale, answers are neither loaded nor
// stored.
type Cache struct {
	rdb         redis.UniversalClient
	prefix      string
	epochKey    string
	ttl         time.Duration
	lockTTL     time.Duration
	timeout     time.Duration
	retry       time.Duration
	logger      *slog.Logger
	m           cacheMetrics
	flights     flights
	breaker     *Breaker
	ownsBreaker bool
	guard       *RollbackGuard

	mu       sync.Mutex
	stale    bool   // a Touch failed and the epoch has not been replaced since
	failures uint64 // failed Touches so far; tells a bump that raced with a newer failure
	retrying bool   // the retry goroutine runs
	closed   bool
	done     chan struct{}
	wg       sync.WaitGroup
}

// CacheOptions tune a Cache; the zero value of a field means its default.
type CacheOptions struct {
	// Prefix goes before every key (e.g. "apphub:"). Tests use one per test.
	Prefix string
	// TTL is how long an unused key lives. Default 10 minutes.
	TTL time.Duration
	// LockTTL bounds how long one instance keeps the right to write a key's rebuild. Default 5s.
	LockTTL time.Duration
	// Timeout bounds one round trip to Redis. Default 1s.
	Timeout time.Duration
	// RetryInterval is how often a pending epoch bump is retried while Redis is down, and the
	// probe interval of the breaker the cache makes when it is given none. Default 1s.
	RetryInterval time.Duration
	// Breaker, shared with the bus on the same client, stops calls to Redis while it is down.
	// Without one the cache makes its own, and closes it on Close.
	Breaker *Breaker
	// Guard is the RollbackGuard the client was connected with (ConnectOptions.Guard), if any:
	// the cache then finishes the epoch replacements it left pending, and reads again what
	// overlapped one.
	Guard  *RollbackGuard
	Logger *slog.Logger
}

// cacheMetrics count per key, except fallbacks (per Busy call) and the Touch counters.
type cacheMetrics struct {
	hits, misses, rebuilds, discarded, shared, fallbacks, touchFailures, epochBumps, versions, answersShared prometheus.Counter
}

// NewCache returns a cache on rc. Its metrics (apphub_busy_cache_*) are registered with reg
// when reg is not nil. Close stops its background retry.
func NewCache(rc *Client, reg prometheus.Registerer, opts CacheOptions) (*Cache, error) {
	if opts.Guard != nil && opts.Guard.prefix != opts.Prefix {
		return nil, apphub.Errorf(apphub.EINVALID, "the rollback guard is for prefix %q, the cache for %q", opts.Guard.prefix, opts.Prefix)
	}
	c := &Cache{rdb: rc.rdb, prefix: opts.Prefix, epochKey: epochKey(opts.Prefix),
		ttl: opts.TTL, lockTTL: opts.LockTTL, timeout: opts.Timeout, retry: opts.RetryInterval,
		breaker: opts.Breaker, guard: opts.Guard, logger: opts.Logger, done: make(chan struct{})}
	if c.ttl <= 0 {
		c.ttl = 10 * time.Minute
	}
	if c.lockTTL <= 0 {
		c.lockTTL = 5 * time.Second
	}
	if c.timeout <= 0 {
		c.timeout = time.Second
	}
	if c.retry <= 0 {
		c.retry = time.Second
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.breaker == nil {
		b, err := NewBreaker(rc, nil, BreakerOptions{Interval: c.retry, Logger: c.logger})
		if err != nil {
			return nil, err
		}
		c.breaker, c.ownsBreaker = b, true
	}
	c.flights.m = make(map[apphub.ResourceDay]*flight)
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: "apphub_busy_cache_" + name, Help: help})
	}
	c.m = cacheMetrics{
		hits:          counter("hits_total", "Keys answered from a current Redis entry."),
		misses:        counter("misses_total", "Keys whose Redis entry was missing or stale."),
		rebuilds:      counter("rebuilds_total", "Keys this instance loaded from MongoDB after a miss."),
		discarded:     counter("rebuilds_discarded_total", "Rebuilt keys not written because a booking touched them meanwhile."),
		shared:        counter("rebuilds_shared_total", "Missed keys answered by another request's rebuild in this instance."),
		fallbacks:     counter("fallbacks_total", "Busy calls that loaded everything from MongoDB because Redis failed."),
		touchFailures: counter("touch_failures_total", "Touch calls that could not reach Redis."),
		epochBumps:    counter("epoch_bumps_total", "Times the epoch was replaced after failed Touch calls."),
		versions:      counter("versions_total", "Versions given for search answers (a search served again under the same version reads no busy time)."),
		answersShared: counter("answers_shared_total", "Search answers loaded as another instance computed them."),
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{c.m.hits, c.m.misses, c.m.rebuilds, c.m.discarded,
			c.m.shared, c.m.fallbacks, c.m.touchFailures, c.m.epochBumps, c.m.versions, c.m.answersShared} {
			if err := reg.Register(col); err != nil {
				c.closeBreaker()
				return nil, apphub.WrapError(apphub.EINTERNAL, err, "register the busy cache metrics")
			}
		}
	}
	return c, nil
}

// hashKey names the hash of k. The braces make the hash and its lock one hash slot in a
// Redis Cluster, which the Lua scripts need.
func (c *Cache) hashKey(k apphub.ResourceDay) string {
	return c.prefix + "busy:{" + k.Resource + "|" + apphub.DayOf(k.Day).Format(time.DateOnly) + "}"
}

// zoneKey names the hash of a zone: a nonce, and a generation per UTC day, which Touch
// increments with those of the zone's resources, so that Version vouches for a zone's days with
// one key.
func (c *Cache) zoneKey(zone string) string { return c.prefix + "zone:{" + zone + "}" }

func lockKey(hash string) string { return hash + ":lock" }

// token is the state of a key as read: its generation and the epoch. A rebuild may be shared
// or written only under the token it was loaded after.
type token struct{ n, g, epoch string }

// keyState is what one read found for a key.
type keyState struct {
	tok    token
	claims []apphub.Claim
	hit    bool
}

// Busy returns the busy claims of keys: from Redis where the entry is current, from one call to
// load for the others. When Redis fails it calls load for everything; it fails only when load
// does. The slices returned may be shared with other callers and must not be modified.
func (c *Cache) Busy(ctx context.Context, keys []apphub.ResourceDay, load func(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error)) (map[apphub.ResourceDay][]apphub.Claim, error) {
	keys = unique(keys)
	if len(keys) == 0 {
		return map[apphub.ResourceDay][]apphub.Claim{}, nil
	}
	if c.breaker.Allow() != nil || !c.flushStale(ctx) {
		// Redis is down, or a Touch of this instance (or an epoch replacement) is not in Redis
		// yet: entries may be stale.
		c.m.fallbacks.Inc()
		return load(ctx, keys)
	}
	readAt := time.Now()
	var states []keyState
	var err error
	for range 2 {
		changes := c.guard.changed()
		if states, err = c.read(ctx, keys); err != nil || c.guard.changed() == changes {
			break
		}
		// A server met anew during the read: its entries may have been read under the epoch
		// from before its replacement (on a Cluster, the epoch is on another shard). Read again.
		states = nil
	}
	if err != nil {
		c.m.fallbacks.Inc()
		c.breaker.Fail(ctx, err)
		c.logger.DebugContext(ctx, "busy cache: Redis read failed, loading from MongoDB", "err", err)
		return load(ctx, keys)
	}
	if states == nil {
		c.m.fallbacks.Inc()
		return load(ctx, keys)
	}

	out := make(map[apphub.ResourceDay][]apphub.Claim, len(keys))
	var lead, wait []int // indexes into keys
	var leadFlights, waitFlights []*flight
	for i, k := range keys {
		st := &states[i]
		if st.hit {
			c.m.hits.Inc()
			out[k] = st.claims
			continue
		}
		c.m.misses.Inc()
		f, leader := c.flights.join(k, st.tok, readAt, c.ttl/2)
		if leader {
			lead, leadFlights = append(lead, i), append(leadFlights, f)
		} else {
			wait, waitFlights = append(wait, i), append(waitFlights, f)
		}
	}

	if len(lead) > 0 {
		if err := c.rebuild(ctx, keys, states, lead, leadFlights, readAt, load, out); err != nil {
			return nil, err
		}
	}

	// The keys another request of this instance is rebuilding under the same token: its load
	// started after our read saw that generation, so it has every commit touched before.
	var retry []apphub.ResourceDay
	for j, f := range waitFlights {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, apphub.WrapError(apphub.EUNAVAILABLE, ctx.Err(), "busy time not read in time")
		}
		k := keys[wait[j]]
		if f.err != nil {
			// Its request failed or gave up (perhaps only its own context): load it ourselves.
			retry = append(retry, k)
			continue
		}
		c.m.shared.Inc()
		out[k] = f.claims
	}
	if len(retry) > 0 {
		loaded, err := load(ctx, retry)
		if err != nil {
			return nil, err
		}
		c.m.rebuilds.Add(float64(len(retry)))
		for _, k := range retry {
			out[k] = loaded[k]
		}
	}
	return out, nil
}

// rebuild loads the keys this request leads with one call to load, hands the results to the
// requests waiting on them and writes back those it holds the lock of.
func (c *Cache) rebuild(ctx context.Context, keys []apphub.ResourceDay, states []keyState, lead []int, fs []*flight, readAt time.Time,
	load func(context.Context, []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error), out map[apphub.ResourceDay][]apphub.Claim) error {
	lockToken := rand.Text()
	locked := c.lock(ctx, keys, lead, lockToken)

	want := make([]apphub.ResourceDay, len(lead))
	for j, i := range lead {
		want[j] = keys[i]
	}
	loaded, err := load(ctx, want)
	c.flights.finish(want, fs, loaded, err)
	if err != nil {
		c.unlock(ctx, keys, lead, locked, lockToken)
		return err
	}
	c.m.rebuilds.Add(float64(len(lead)))
	for _, k := range want {
		out[k] = loaded[k]
	}

	// A load that took more than half the TTL could in theory have outlived a key that
	// expired and came back empty; keep it out of Redis.
	if time.Since(readAt) > c.ttl/2 {
		c.unlock(ctx, keys, lead, locked, lockToken)
		return nil
	}
	c.store(ctx, keys, states, lead, locked, loaded, lockToken)
	return nil
}

// read reads the epoch and the hash of every key in one pipelined round trip, and pushes their
// expiry back: a key in use does not expire.
func (c *Cache) read(ctx context.Context, keys []apphub.ResourceDay) ([]keyState, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	pipe := c.rdb.Pipeline()
	epochCmd := pipe.Get(ctx, c.epochKey)
	cmds := make([]*redis.SliceCmd, len(keys))
	for i, k := range keys {
		h := c.hashKey(k)
		cmds[i] = pipe.HMGet(ctx, h, "n", "g", "eg", "ee", "e")
		pipe.PExpire(ctx, h, c.ttl)
	}
	pipe.Exec(ctx) // the errors are the commands'; a missing epoch is redis.Nil
	epoch, err := epochCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	states := make([]keyState, len(keys))
	for i, cmd := range cmds {
		v, err := cmd.Result()
		if err != nil {
			return nil, err
		}
		n, g, eg, ee := str(v, 0), str(v, 1), str(v, 2), str(v, 3)
		st := keyState{tok: token{n: n, g: g, epoch: epoch}}
		if e, ok := v[4].(string); ok && g != "" && eg == g && ee == epoch {
			if claims, err := decodeClaims(keys[i], e); err == nil {
				st.claims, st.hit = claims, true
			}
		}
		states[i] = st
	}
	return states, nil
}

func str(v []any, i int) string {
	if i < len(v) {
		if s, ok := v[i].(string); ok {
			return s
		}
	}
	return ""
}

// lock takes the rebuild lock of the keys at lead, in one round trip, and reports which it got.
// A key it did not get (another instance rebuilds it, or Redis failed) is loaded but not
// written.
func (c *Cache) lock(ctx context.Context, keys []apphub.ResourceDay, lead []int, lockToken string) []bool {
	if c.breaker.Allow() != nil {
		return make([]bool, len(lead))
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, len(lead))
	for j, i := range lead {
		cmds[j] = pipe.SetNX(ctx, lockKey(c.hashKey(keys[i])), lockToken, c.lockTTL)
	}
	pipe.Exec(ctx)
	locked := make([]bool, len(lead))
	for j, cmd := range cmds {
		locked[j] = cmd.Err() == nil && cmd.Val()
	}
	return locked
}

// unlock releases the locks this request holds, when it will not write.
func (c *Cache) unlock(ctx context.Context, keys []apphub.ResourceDay, lead []int, locked []bool, lockToken string) {
	var calls []scriptCall
	for j, i := range lead {
		if locked[j] {
			calls = append(calls, scriptCall{script: unlockScript, keys: []string{lockKey(c.hashKey(keys[i]))}, args: []any{lockToken}})
		}
	}
	if len(calls) == 0 || c.breaker.Allow() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	runScripts(ctx, c.rdb, calls) // best effort: the locks expire anyway
}

// store writes the rebuilt keys this request holds the lock of, each only if its generation is
// still the one read before the load.
func (c *Cache) store(ctx context.Context, keys []apphub.ResourceDay, states []keyState, lead []int, locked []bool,
	loaded map[apphub.ResourceDay][]apphub.Claim, lockToken string) {
	var calls []scriptCall
	ttl := strconv.FormatInt(c.ttl.Milliseconds(), 10)
	for j, i := range lead {
		if !locked[j] {
			continue
		}
		k, tok := keys[i], states[i].tok
		h := c.hashKey(k)
		calls = append(calls, scriptCall{script: storeScript, keys: []string{h, lockKey(h)},
			args: []any{tok.n, tok.g, tok.epoch, encodeClaims(k, loaded[k]), ttl, lockToken, nonce()}})
	}
	if len(calls) == 0 || c.breaker.Allow() != nil {
		return
	}
	// The work is done: let a request that ends now still keep it.
	ctx = context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmds, err := runScripts(sctx, c.rdb, calls)
	if err != nil {
		c.breaker.Fail(ctx, err)
		c.logger.DebugContext(ctx, "busy cache: rebuild not written", "err", err)
		return
	}
	for _, cmd := range cmds {
		if n, err := cmd.Int(); err == nil && n == 0 {
			c.m.discarded.Inc()
		}
	}
}

// Touch increments the generation of keys (resource, day) and zones (zone, day): called after a
// booking's MongoDB commit and before it answers. When Redis cannot be reached it remembers
// that entries may be stale and replaces the epoch as soon as Redis answers again.
func (c *Cache) Touch(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) {
	keys, zones = unique(keys), unique(zones)
	if len(keys)+len(zones) == 0 {
		return
	}
	// The commit is made: a caller that goes away now must not leave the cache behind it.
	ctx = context.WithoutCancel(ctx)
	if err := c.breaker.Allow(); err != nil {
		// Known to be down: not waited for. The outage was logged when the breaker opened.
		c.m.touchFailures.Inc()
		c.markStale()
		return
	}
	tctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// The keys first, the zones after they returned: a search that reads a zone's new
	// generation then reads its resources' busy time, which must be past the commit by then.
	// One pipeline keeps that order on one server but not on a Cluster, whose shards run
	// their parts at once: a search could see the zone touched and a resource not yet, and
	// keep an answer without the booking under the zone's new version.
	_, err := runScripts(tctx, c.rdb, c.calls(keys, touchScript, nil, nil))
	if err == nil && len(zones) > 0 {
		_, err = runScripts(tctx, c.rdb, c.calls(nil, nil, zones, zoneTouchScript))
	}
	if err != nil {
		c.m.touchFailures.Inc()
		c.logger.WarnContext(ctx, "busy cache: a booking could not reach Redis; the cache is marked stale until Redis answers", "err", err)
		c.breaker.Fail(ctx, err)
		c.markStale()
		return
	}
	c.flushStale(ctx)
}

// LoadAnswers returns the search answers stored under keys (booking.SharedAnswers), in one
// round trip: nil for those there are none of, all nil when Redis cannot be reached; reading
// one keeps it from expiring.
func (c *Cache) LoadAnswers(ctx context.Context, keys []string) [][]byte {
	out := make([][]byte, len(keys))
	if c.breaker.Allow() != nil {
		return out
	}
	gctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.rdb.Pipelined(gctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = pipe.GetEx(gctx, c.prefix+"answer:"+k, c.ttl)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		c.breaker.Fail(ctx, err)
		return out
	}
	for i, cmd := range cmds {
		if data, err := cmd.Bytes(); err == nil {
			out[i] = data
			c.m.answersShared.Inc()
		}
	}
	return out
}

// StoreAnswers stores search answers under keys for TTL, in one round trip, best effort.
func (c *Cache) StoreAnswers(ctx context.Context, keys []string, data [][]byte) {
	if c.breaker.Allow() != nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.rdb.Pipelined(sctx, func(pipe redis.Pipeliner) error {
		for i, k := range keys {
			pipe.Set(sctx, c.prefix+"answer:"+k, data[i], c.ttl)
		}
		return nil
	})
	c.breaker.Fail(ctx, err)
}

// ErrNoVersion is returned by Version when the cache cannot vouch for what it would answer:
// Redis is unreachable, or a Touch of this instance has not reached it yet.
var ErrNoVersion = apphub.Errorf(apphub.EUNAVAILABLE, "the availability cache cannot give a version now")

// Versions returns a token for the current state of each of keys (resource, day), then of
// each of zones (zone, day), in that order, in one round trip: a token changes whenever its
// key is touched, on any instance, and when the epoch is replaced, and never comes back once
// it changed (a hash that expired comes back with a new nonce; a Redis that went back in time
// has a new epoch). Reading them keeps the hashes from expiring. A caller that reads the tokens
// before it reads the data it derives from may keep the derived answer under them: once a
// booking's Touch has returned, nobody reads those tokens again.
func (c *Cache) Versions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error) {
	for range 2 {
		if c.breaker.Allow() != nil || !c.flushStale(ctx) {
			return nil, ErrNoVersion
		}
		changes := c.guard.changed()
		v, err := c.versions(ctx, keys, zones)
		if err != nil {
			c.breaker.Fail(ctx, err)
			c.logger.DebugContext(ctx, "busy cache: version not read", "err", err)
			return nil, ErrNoVersion
		}
		if c.guard.changed() == changes {
			c.m.versions.Inc()
			return v, nil
		}
		// A server met anew during the round trip: the epoch may have been read before its
		// replacement and a zone after its restore (on a Cluster, two shards). Read again.
	}
	return nil, ErrNoVersion
}

func (c *Cache) versions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if out, ok, err := c.readVersions(ctx, keys, zones); err != nil || ok {
		return out, err
	}
	return c.scriptVersions(ctx, keys, zones)
}

// scriptVersions reads the tokens with the version scripts, which create the hashes missing.
func (c *Cache) scriptVersions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error) {
	calls := c.calls(keys, versionScript, zones, zoneVersionScript)
	var epochCmd *redis.StringCmd
	cmds, err := runScripts(ctx, c.rdb, calls, func(pipe redis.Pipeliner) { epochCmd = pipe.Get(ctx, c.epochKey) })
	if err != nil {
		return nil, err
	}
	epoch, err := epochCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]string, 0, len(keys)+len(zones))
	for _, cmd := range cmds[:len(keys)] {
		v, err := cmd.Text()
		if err != nil {
			return nil, err
		}
		out = append(out, epoch+"/"+v)
	}
	// A zone's call answers "nonce:g1,g2,…" for its days in the order calls gave them.
	type zoneAnswer struct {
		nonce string
		gens  []string
		next  int
	}
	answers := make(map[string]*zoneAnswer)
	for i, z := range zones {
		a := answers[z.Zone]
		if a == nil {
			v, err := cmds[len(keys)+len(answers)].Text()
			if err != nil {
				return nil, err
			}
			nonce, gens, _ := strings.Cut(v, ":")
			a = &zoneAnswer{nonce: nonce, gens: strings.Split(gens, ",")}
			answers[z.Zone] = a
		}
		if a.next >= len(a.gens) {
			return nil, fmt.Errorf("zone version of %s: %d generations for day %d", z.Zone, len(a.gens), i)
		}
		out = append(out, epoch+"/"+a.nonce+":"+a.gens[a.next])
		a.next++
	}
	return out, nil
}

// errShortReply is a reply with fewer values than the command asked for.
var errShortReply = errors.New("redis: a reply with fewer values than asked for")

// readVersions reads the tokens as the version scripts would, with plain commands (HMGET and
// PEXPIRE, no script for Redis to run: the version read is on every search's path), and
// reports false when a hash does not exist, which only the scripts create.
func (c *Cache) readVersions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, bool, error) {
	pipe := c.rdb.Pipeline()
	epochCmd := pipe.Get(ctx, c.epochKey)
	reads := make([]*redis.SliceCmd, 0, len(keys))
	for _, k := range keys {
		h := c.hashKey(k)
		reads = append(reads, pipe.HMGet(ctx, h, "n", "g"))
		pipe.PExpire(ctx, h, c.ttl)
	}
	// One read per zone, of its days in the order given.
	type zoneRead struct {
		days []string
		cmd  *redis.SliceCmd
		next int
	}
	byZone := make(map[string]*zoneRead)
	for _, z := range zones {
		r := byZone[z.Zone]
		if r == nil {
			r = &zoneRead{}
			byZone[z.Zone] = r
		}
		r.days = append(r.days, apphub.DayOf(z.Day).Format(time.DateOnly))
	}
	for zone, r := range byZone {
		h := c.zoneKey(zone)
		r.cmd = pipe.HMGet(ctx, h, append([]string{"n"}, r.days...)...)
		pipe.PExpire(ctx, h, c.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	epoch, err := epochCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, false, err
	}
	// Each read is checked on its own: a Cluster pipeline whose shard is failing over does not
	// always report the failed reads in Exec's error, and their values are then empty.
	out := make([]string, 0, len(keys)+len(zones))
	for _, r := range reads {
		if err := r.Err(); err != nil || len(r.Val()) != 2 {
			return nil, false, cmp.Or(err, errShortReply)
		}
		n, ok1 := r.Val()[0].(string)
		g, ok2 := r.Val()[1].(string)
		if !ok1 || !ok2 {
			return nil, false, nil
		}
		out = append(out, epoch+"/"+n+":"+g)
	}
	for _, z := range zones {
		r := byZone[z.Zone]
		if err := r.cmd.Err(); err != nil || len(r.cmd.Val()) != 1+len(r.days) {
			return nil, false, cmp.Or(err, errShortReply)
		}
		n, ok := r.cmd.Val()[0].(string)
		if !ok {
			return nil, false, nil
		}
		r.next++
		g, ok := r.cmd.Val()[r.next].(string)
		if !ok {
			g = "0" // a day never touched
		}
		out = append(out, epoch+"/"+n+":"+g)
	}
	return out, true, nil
}

// calls makes one script call per (resource, day) key, with keyScript, and one per zone for
// all its days, with zoneScript: each key is its own hash, a zone's days are fields of one.
func (c *Cache) calls(keys []apphub.ResourceDay, keyScript *redis.Script, zones []apphub.ZoneDay, zoneScript *redis.Script) []scriptCall {
	ttl := strconv.FormatInt(c.ttl.Milliseconds(), 10)
	calls := make([]scriptCall, 0, len(keys)+1)
	for _, k := range keys {
		calls = append(calls, scriptCall{script: keyScript, keys: []string{c.hashKey(k)}, args: []any{nonce(), ttl}})
	}
	byZone := make(map[string]int)
	for _, z := range zones {
		i, found := byZone[z.Zone]
		if !found {
			i = len(calls)
			byZone[z.Zone] = i
			calls = append(calls, scriptCall{script: zoneScript, keys: []string{c.zoneKey(z.Zone)}, args: []any{nonce(), ttl}})
		}
		calls[i].args = append(calls[i].args, apphub.DayOf(z.Day).Format(time.DateOnly))
	}
	return calls
}

// markStale records a failed Touch and starts the retry of the epoch bump.
func (c *Cache) markStale() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stale = true
	c.failures++
	if c.retrying || c.closed {
		return
	}
	c.retrying = true
	c.wg.Add(1)
	go c.retryLoop()
}

func (c *Cache) retryLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.retry)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			c.mu.Lock()
			c.retrying = false
			c.mu.Unlock()
			return
		case <-t.C:
		}
		if c.flushStale(context.Background()) {
			c.mu.Lock()
			if !c.stale {
				c.retrying = false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
		}
	}
}

// flushStale replaces the epoch if a Touch failed since it was last replaced, or the guard
// left a replacement pending; then it writes the guard's stamps. It reports whether the cache
// may be used: true when nothing was pending or the bump went through.
func (c *Cache) flushStale(ctx context.Context) bool {
	c.mu.Lock()
	stale, seen := c.stale, c.failures
	c.mu.Unlock()
	stamps := c.guard.pendingStamps()
	if !stale && stamps == nil {
		return true
	}
	if c.breaker.Allow() != nil {
		return false
	}
	ctx = context.WithoutCancel(ctx)
	fctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.rdb.Set(fctx, c.epochKey, rand.Text(), 0).Err(); err != nil {
		c.breaker.Fail(ctx, err)
		return false
	}
	c.m.epochBumps.Inc()
	if stamps != nil {
		// Only now: a process that finds a stamp current knows the epoch was replaced after it.
		if err := c.guard.writeStamps(fctx, c.rdb, stamps); err != nil {
			c.breaker.Fail(ctx, err)
			return false
		}
	}
	if stale {
		c.logger.InfoContext(ctx, "busy cache: Redis answers again; every entry built before is now stale")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures == seen {
		// No Touch failed while the bump was on its way: it covers them all.
		c.stale = false
	}
	return !c.stale
}

// Stale reports whether a Touch failed and the epoch has not been replaced since (for
// readiness reports).
func (c *Cache) Stale() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stale
}

// Close stops the background retry, then makes a last attempt at a pending epoch bump so that
// other instances do not keep using entries this one knows to be stale.
func (c *Cache) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	c.wg.Wait()
	c.flushStale(context.Background())
	c.closeBreaker()
}

// closeBreaker stops the breaker the cache made itself.
func (c *Cache) closeBreaker() {
	if c.ownsBreaker {
		c.breaker.Close()
	}
}

// nonce is a short random string: 12 base32 characters, 60 bits.
func nonce() string { return rand.Text()[:12] }

func unique[K comparable](keys []K) []K {
	if len(keys) < 2 {
		return keys
	}
	seen := make(map[K]bool, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
