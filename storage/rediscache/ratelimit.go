package rediscache

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/apphub/apphub"
)

// Budget is how many calls of one class a principal may make: Rate per Period on average, and
// up to Burst at once. A zero Rate means unlimited.
type Budget struct {
	Rate   int
	Period time.Duration
	// Burst is how many calls may come at once after a quiet spell; 0 means Rate.
	Burst int
}

// ParseBudget reads a budget as the hub's flags give it: "RATE/PERIOD" or "RATE/PERIOD:BURST",
// where PERIOD is s, m, h or a Go duration ("20/s", "600/m", "20/s:40", "100/10s"), or "0" or
// "off" for unlimited. Without a burst, the burst is the rate.
func ParseBudget(s string) (Budget, error) {
	s = strings.TrimSpace(s)
	bad := func(format string, args ...any) (Budget, error) {
		return Budget{}, apphub.Errorf(apphub.EINVALID, "rate budget %q: %s (want RATE/PERIOD[:BURST] such as 20/s, 600/m or 20/s:40, or 0 or off)", s, fmt.Sprintf(format, args...))
	}
	if s == "0" || s == "off" {
		return Budget{}, nil
	}
	rateText, rest, ok := strings.Cut(s, "/")
	if !ok {
		return bad("no period")
	}
	periodText, burstText, hasBurst := strings.Cut(rest, ":")
	r, err := strconv.Atoi(rateText)
	if err != nil || r < 1 {
		return bad("the rate must be a whole number of at least 1")
	}
	var period time.Duration
	switch periodText {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	default:
		period, err = time.ParseDuration(periodText)
		if err != nil || period <= 0 {
			return bad("the period must be s, m, h or a positive duration such as 10s")
		}
	}
	burst := r
	if hasBurst {
		burst, err = strconv.Atoi(burstText)
		if err != nil || burst < 1 {
			return bad("the burst must be a whole number of at least 1")
		}
	}
	return Budget{Rate: r, Period: period, Burst: burst}, nil
}

// String returns b as ParseBudget reads it.
func (b Budget) String() string {
	if b.Rate == 0 {
		return "off"
	}
	s := strconv.Itoa(b.Rate) + "/" + periodText(b.Period)
	if b.Burst != 0 && b.Burst != b.Rate {
		s += ":" + strconv.Itoa(b.Burst)
	}
	return s
}

// Set parses s into b, so that a *Budget is a flag.Value.
func (b *Budget) Set(s string) error {
	v, err := ParseBudget(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func periodText(d time.Duration) string {
	switch d {
	case time.Second:
		return "s"
	case time.Minute:
		return "m"
	case time.Hour:
		return "h"
	}
	return d.String()
}

// RateLimitOptions tune a RateLimiter; the zero value of a field means its default.
type RateLimitOptions struct {
	// Prefix goes before every key (e.g. "apphub:"): a principal's budget of a class is kept in
	// prefix + "rate:" + class + ":" + key. Instances with the same prefix share budgets.
	Prefix string
	// Budgets are the classes of calls (e.g. "search", "write") and their budgets. A class
	// absent from the map, like a zero Budget, is unlimited. Class names are not empty and hold
	// no colon.
	Budgets map[string]Budget
	// Breaker, the hub's breaker shared with the cache and the bus: while it is open the limiter
	// sends nothing to Redis, and it opens it when Redis cannot be reached. Without one the
	// limiter makes its own, and closes it on Close: without any, every call would wait for
	// Redis while it is down (go-redis redials for over a second before it gives up).
	Breaker *Breaker
	// Timeout bounds one round trip to Redis. Default 1s.
	Timeout time.Duration
	// MaxKeys bounds how many (class, key) limiters the in-process limiter keeps while Redis is
	// away; beyond it the least recently used is dropped. Default 100,000.
	MaxKeys int
	Logger  *slog.Logger
	// Now is the in-process limiter's clock (Redis uses its own). Default time.Now.
	Now func() time.Time
}

// RateLimiter enforces per-principal budgets for classes of calls. The budgets live in Redis
// (GCRA, github.com/go-redis/redis_rate), so every instance on the same prefix spends the same
// budget. While Redis cannot be used — no connection, a timeout, the breaker open, an error
// reply — each instance enforces the same budgets on its own with an in-process limiter
// (golang.org/x/time/rate): a principal may then get up to one budget per instance, but never
// an unlimited one, and nobody is refused for Redis's sake. The first call that reaches Redis
// again goes back to the shared budget.
//
// A principal that calls often takes its calls from Redis a few at a time (see leases): one
// round trip per ten calls rather than per call, at the price of being refused up to nine
// calls early per instance it left.
//
// The embedded Redis (miniredis) runs redis_rate's script, so the embedded mode shares budgets
// through it like a real Redis.
type RateLimiter struct {
	rdb         *redis_rate.Limiter
	budgets     map[string]budget
	breaker     *Breaker
	ownsBreaker bool
	timeout     time.Duration
	logger      *slog.Logger
	now         func() time.Time
	local       localLimiters
	leases      leases

	inProcess atomic.Bool // the last decision was made in process for want of Redis
	m         rateMetrics
}

// budget is a Budget ready for both limiters.
type budget struct {
	redis redis_rate.Limit
	every rate.Limit // calls per second
	burst int
	lease int    // calls a busy key takes from Redis at once (leases)
	text  string // for refusals
}

type rateMetrics struct {
	limited   *prometheus.CounterVec
	fallbacks prometheus.Counter
	inProcess prometheus.GaugeFunc
	keys      prometheus.GaugeFunc
}

// NewRateLimiter returns a limiter on c. Its metrics (apphub_rate_limit*) are registered with
// reg when reg is not nil. Close stops the probe of the breaker it made, if it made one.
func NewRateLimiter(c *Client, reg prometheus.Registerer, opts RateLimitOptions) (*RateLimiter, error) {
	l := &RateLimiter{rdb: redis_rate.NewLimiter(prefixed{c.rdb, opts.Prefix}), budgets: make(map[string]budget),
		breaker: opts.Breaker, timeout: opts.Timeout, logger: opts.Logger, now: opts.Now}
	if l.timeout <= 0 {
		l.timeout = time.Second
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.local.lims.max = opts.MaxKeys
	if l.local.lims.max <= 0 {
		l.local.lims.max = 100_000
	}
	l.leases.calls.max, l.leases.calls.idle = l.local.lims.max, leaseTTL
	// Budgets are checked before a breaker is made: a refused option leaves nothing to close.
	for class, b := range opts.Budgets {
		if class == "" || strings.Contains(class, ":") {
			return nil, apphub.Errorf(apphub.EINVALID, "rate limit class %q: a class name is not empty and holds no colon", class)
		}
		switch {
		case b.Rate == 0:
			continue
		case b.Rate < 0 || b.Burst < 0 || b.Period <= 0:
			return nil, apphub.Errorf(apphub.EINVALID, "rate limit class %q: budget %d per %s, burst %d: want a positive rate, period and burst", class, b.Rate, b.Period, b.Burst)
		}
		if b.Burst == 0 {
			b.Burst = b.Rate
		}
		text := Budget{Rate: b.Rate, Period: b.Period}.String()
		if b.Burst != b.Rate {
			text += fmt.Sprintf(" (bursts of %d)", b.Burst)
		}
		every := rate.Limit(float64(b.Rate) / b.Period.Seconds())
		l.budgets[class] = budget{redis: redis_rate.Limit{Rate: b.Rate, Period: b.Period, Burst: b.Burst},
			every: every, burst: b.Burst, lease: leaseSize(b.Burst), text: text}
		// A limiter unused for the time its bucket takes to fill up again is as good as new:
		// dropping it forgives nothing.
		l.local.lims.idle = max(l.local.lims.idle, time.Duration(float64(b.Burst)/float64(every)*float64(time.Second)))
	}
	if l.breaker == nil {
		b, err := NewBreaker(c, nil, BreakerOptions{Logger: l.logger})
		if err != nil {
			return nil, err
		}
		l.breaker, l.ownsBreaker = b, true
	}
	l.m = rateMetrics{
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "apphub_rate_limited_total",
			Help: "Calls refused because their principal had spent its budget for the class."}, []string{"class"}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{Name: "apphub_rate_limit_fallbacks_total",
			Help: "Calls decided by this instance's in-process limiter because Redis could not be used."}),
		inProcess: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "apphub_rate_limit_in_process",
			Help: "1 while budgets are enforced per instance because Redis could not be used, 0 while they are shared through Redis."},
			func() float64 {
				if l.inProcess.Load() {
					return 1
				}
				return 0
			}),
		keys: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "apphub_rate_limit_in_process_keys",
			Help: "(class, principal) limiters the in-process limiter keeps."}, func() float64 { return float64(l.local.len()) }),
	}
	for class := range l.budgets {
		l.m.limited.WithLabelValues(class) // shown at 0 before the first refusal
	}
	if reg != nil {
		for _, col := range []prometheus.Collector{l.m.limited, l.m.fallbacks, l.m.inProcess, l.m.keys} {
			if err := reg.Register(col); err != nil {
				l.Close()
				return nil, apphub.WrapError(apphub.EINTERNAL, err, "register the rate limit metrics")
			}
		}
	}
	return l, nil
}

// Allow spends one call of class from key's budget. key names the principal ("partner:acme",
// "ip:203.0.113.7"); keys longer than 100 bytes are kept under their SHA-256. Allow returns
// nil when the call may go ahead, and when class has no budget; otherwise an *apphub.Error
// with code RATE_LIMITED whose RetryAfter (at least 1 ms) says when the next call may.
func (l *RateLimiter) Allow(ctx context.Context, class, key string) error {
	b, ok := l.budgets[class]
	if !ok {
		return nil
	}
	key = boundKey(key)
	err := l.breaker.Allow()
	if err == nil {
		k := localKey{class, key}
		now := l.now()
		taken, busy := l.leases.take(k, now)
		if taken {
			return nil
		}
		var retry time.Duration
		retry, err = l.allowRedis(ctx, class, key, b, busy)
		if err == nil {
			if l.inProcess.CompareAndSwap(true, false) {
				l.logger.InfoContext(ctx, "rate limits are shared through Redis again")
			}
			return l.verdict(class, b, retry)
		}
		l.breaker.Fail(ctx, err)
		l.leases.clear()
	}
	l.m.fallbacks.Inc()
	if l.inProcess.CompareAndSwap(false, true) {
		l.logger.WarnContext(ctx, "Redis cannot be used for rate limits: each instance enforces the budgets on its own until it can", "err", describe(err))
	}
	return l.verdict(class, b, l.local.allow(localKey{class, key}, b, l.now()))
}

// Close stops the probe of the breaker the limiter made when it was given none. A shared
// breaker is its owner's to close.
func (l *RateLimiter) Close() {
	if l.ownsBreaker {
		l.breaker.Close()
	}
}

// allowRedis returns how long key must wait for its next call of class, 0 if it may call now.
// A busy key takes a lease of b.lease calls when its budget has them, one call otherwise.
func (l *RateLimiter) allowRedis(ctx context.Context, class, key string, b budget, busy bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if busy && b.lease > 1 {
		res, err := l.rdb.AllowN(ctx, class+":"+key, b.redis, b.lease)
		if err != nil {
			return 0, err
		}
		if res.Allowed > 0 {
			l.leases.add(localKey{class, key}, b.lease-1, l.now())
			return 0, nil
		}
	}
	res, err := l.rdb.Allow(ctx, class+":"+key, b.redis)
	if err != nil {
		return 0, err
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Millisecond), nil
}

// verdict turns a wait into Allow's answer.
func (l *RateLimiter) verdict(class string, b budget, retry time.Duration) error {
	if retry <= 0 {
		return nil
	}
	l.m.limited.WithLabelValues(class).Inc()
	retry = max(retry, time.Millisecond)
	// Whole seconds read better (HTTP's Retry-After has nothing finer); the rounding to
	// milliseconds first keeps float noise (720.000000001s) from showing as one more second.
	shown := max(retry.Round(time.Millisecond), time.Millisecond)
	if shown >= time.Second {
		shown = (shown + time.Second - 1) / time.Second * time.Second
	}
	return &apphub.Error{Code: apphub.ERATELIMITED, RetryAfter: retry,
		Message: fmt.Sprintf("%s budget of %s spent; retry in %s", class, b.text, shown)}
}

// maxKeyLen bounds the length of the keys kept, in Redis and in process.
const maxKeyLen = 100

func boundKey(key string) string {
	if len(key) <= maxKeyLen {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// prefixed is the client as redis_rate sees it: redis_rate names its keys "rate:" + the key
// it is given and has no prefix of its own, so the hub's prefix goes before its keys here.
type prefixed struct {
	rdb    redis.UniversalClient
	prefix string
}

func (p prefixed) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + k
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.rdb.Eval(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.rdb.EvalSha(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return p.rdb.EvalRO(ctx, script, p.keys(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return p.rdb.EvalShaRO(ctx, sha1, p.keys(keys), args...)
}

func (p prefixed) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return p.rdb.ScriptExists(ctx, hashes...)
}

func (p prefixed) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return p.rdb.ScriptLoad(ctx, script)
}

func (p prefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return p.rdb.Del(ctx, p.keys(keys)...)
}

// localLimiters are the in-process limiters, one per (class, key). Those unused for idle are
// full again and dropped.
type localLimiters struct {
	mu   sync.Mutex
	lims idleLRU[*rate.Limiter]
}

type localKey struct{ class, key string }

// allow returns how long k must wait for its next call, 0 if it may call now.
func (s *localLimiters) allow(k localKey, b budget, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, _ := s.lims.touch(k, now, func() *rate.Limiter { return rate.NewLimiter(b.every, b.burst) })
	r := e.v.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		// A refused call spends nothing, as in Redis.
		r.CancelAt(now)
		return d
	}
	return 0
}

func (s *localLimiters) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lims.lru.Len()
}

// idleLRU keeps a value per (class, key), most recently used first: those unused for idle
// are dropped, and beyond max the least recently used is. Its owner locks it.
type idleLRU[V any] struct {
	max   int
	idle  time.Duration
	byKey map[localKey]*list.Element
	lru   list.List // of *idleEntry[V]
}

type idleEntry[V any] struct {
	k    localKey
	v    V
	last time.Time // when it was last used
}

// touch returns k's entry, made with newV when it had none (created), marked used at now.
func (s *idleLRU[V]) touch(k localKey, now time.Time, newV func() V) (e *idleEntry[V], created bool) {
	for el := s.lru.Back(); el != nil && now.Sub(el.Value.(*idleEntry[V]).last) >= s.idle; el = s.lru.Back() {
		s.remove(el)
	}
	if el, ok := s.byKey[k]; ok {
		s.lru.MoveToFront(el)
		e = el.Value.(*idleEntry[V])
	} else {
		if s.byKey == nil {
			s.byKey = make(map[localKey]*list.Element)
		}
		if s.lru.Len() >= s.max {
			s.remove(s.lru.Back())
		}
		e, created = &idleEntry[V]{k: k, v: newV()}, true
		s.byKey[k] = s.lru.PushFront(e)
	}
	e.last = now
	return e, created
}

// get returns k's value, if it has one, without marking it used.
func (s *idleLRU[V]) get(k localKey) (v V, ok bool) {
	if el, found := s.byKey[k]; found {
		return el.Value.(*idleEntry[V]).v, true
	}
	return v, false
}

func (s *idleLRU[V]) remove(el *list.Element) {
	delete(s.byKey, el.Value.(*idleEntry[V]).k)
	s.lru.Remove(el)
}

func (s *idleLRU[V]) clear() {
	clear(s.byKey)
	s.lru.Init()
}
