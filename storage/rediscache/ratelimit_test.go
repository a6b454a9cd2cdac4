package rediscache_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

func TestParseBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want rediscache.Budget
		text string // String of the result; "" means in
		bad  bool
	}{
		{in: "20/s", want: rediscache.Budget{Rate: 20, Period: time.Second, Burst: 20}},
		{in: "600/m", want: rediscache.Budget{Rate: 600, Period: time.Minute, Burst: 600}},
		{in: "5/h", want: rediscache.Budget{Rate: 5, Period: time.Hour, Burst: 5}},
		{in: "20/s:40", want: rediscache.Budget{Rate: 20, Period: time.Second, Burst: 40}},
		{in: "10/s:5", want: rediscache.Budget{Rate: 10, Period: time.Second, Burst: 5}},
		{in: "100/10s", want: rediscache.Budget{Rate: 100, Period: 10 * time.Second, Burst: 100}},
		{in: "3/1m30s:6", want: rediscache.Budget{Rate: 3, Period: 90 * time.Second, Burst: 6}},
		{in: "1/1s", want: rediscache.Budget{Rate: 1, Period: time.Second, Burst: 1}, text: "1/s"},
		{in: "20/s:20", want: rediscache.Budget{Rate: 20, Period: time.Second, Burst: 20}, text: "20/s"},
		{in: " 20/s ", want: rediscache.Budget{Rate: 20, Period: time.Second, Burst: 20}, text: "20/s"},
		{in: "0", want: rediscache.Budget{}, text: "off"},
		{in: "off", want: rediscache.Budget{}},
		{in: "", bad: true},
		{in: "20", bad: true},
		{in: "20/", bad: true},
		{in: "/s", bad: true},
		{in: "0/s", bad: true},
		{in: "-1/s", bad: true},
		{in: "1.5/s", bad: true},
		{in: "20/d", bad: true},
		{in: "20/0s", bad: true},
		{in: "20/-1s", bad: true},
		{in: "20/s:", bad: true},
		{in: "20/s:0", bad: true},
		{in: "20/s:x", bad: true},
		{in: "OFF", bad: true},
	} {
		got, err := rediscache.ParseBudget(tc.in)
		if tc.bad {
			if apphub.ErrorCode(err) != apphub.EINVALID || !strings.Contains(err.Error(), fmt.Sprintf("%q", strings.TrimSpace(tc.in))) {
				t.Errorf("ParseBudget(%q) = %+v, %v; want a VALIDATION error naming it", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBudget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		text := tc.text
		if text == "" {
			text = tc.in
		}
		if got.String() != text {
			t.Errorf("ParseBudget(%q).String() = %q, want %q", tc.in, got.String(), text)
		}
		var b rediscache.Budget
		if err := b.Set(got.String()); err != nil || b != got {
			t.Errorf("Set(%q) = %+v, %v: does not read String back", got.String(), b, err)
		}
	}
}

func TestNewRateLimiterRefusesBadBudgets(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	for _, budgets := range []map[string]rediscache.Budget{
		{"": {Rate: 1, Period: time.Second}},
		{"search:x": {Rate: 1, Period: time.Second}},
		{"search": {Rate: -1, Period: time.Second}},
		{"search": {Rate: 1}},
		{"search": {Rate: 1, Period: -time.Second}},
		{"search": {Rate: 1, Period: time.Second, Burst: -1}},
	} {
		if _, err := rediscache.NewRateLimiter(rdb, nil, rediscache.RateLimitOptions{Prefix: prefix, Budgets: budgets}); apphub.ErrorCode(err) != apphub.EINVALID {
			t.Errorf("NewRateLimiter with %v: %v, want a VALIDATION error", budgets, err)
		}
	}
}

// backend is a Redis the limiter runs on, and a second client of it: another instance.
type backend struct {
	name  string
	redis func(t *testing.T) (a, b *rediscache.Client, prefix string)
}

// backends are the real Redis and the embedded one (the binary's default).
var backends = []backend{
	{"redis", func(t *testing.T) (a, b *rediscache.Client, prefix string) {
		a, prefix = storetest.Redis(t)
		return a, client(t, ""), prefix
	}},
	{"embedded", func(t *testing.T) (a, b *rediscache.Client, prefix string) {
		e, err := rediscache.StartEmbedded("127.0.0.1:0", 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		connect := func() *rediscache.Client {
			c, err := rediscache.Connect(e.URL(), rediscache.ConnectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
		return connect(), connect(), "apphub:"
	}},
}

// hourly budgets refill one call every many minutes: what a test spends stays spent for its
// whole run, however slow the machine.
var hourly = map[string]rediscache.Budget{
	"search": {Rate: 5, Period: time.Hour},
	"write":  {Rate: 2, Period: time.Hour, Burst: 3},
	"open":   {},
}

func newRateLimiter(t testing.TB, rdb *rediscache.Client, opts rediscache.RateLimitOptions) (*rediscache.RateLimiter, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Timeout == 0 {
		// Generous: a timeout would let the in-process limiter decide, and the tests count
		// exactly, also on a loaded machine under the race detector. A Redis that is down
		// refuses connections at once anyway.
		opts.Timeout = 5 * time.Second
	}
	l, err := rediscache.NewRateLimiter(rdb, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, reg
}

// spend makes n calls of class for key through ls in turn, and fails unless all are allowed.
func spend(t testing.TB, n int, class, key string, ls ...*rediscache.RateLimiter) {
	t.Helper()
	for i := range n {
		if err := ls[i%len(ls)].Allow(context.Background(), class, key); err != nil {
			t.Fatalf("%s call %d of %s: %v, want allowed", class, i+1, key, err)
		}
	}
}

// refused fails unless the next call of class for key is refused for its budget.
func refused(t testing.TB, l *rediscache.RateLimiter, class, key string) *apphub.Error {
	t.Helper()
	err := l.Allow(context.Background(), class, key)
	e, ok := errors.AsType[*apphub.Error](err)
	if !ok || e.Code != apphub.ERATELIMITED || e.RetryAfter < time.Millisecond ||
		!strings.HasPrefix(e.Message, class+" budget of ") || !strings.Contains(e.Message, "; retry in ") {
		t.Fatalf("%s call of %s over budget: %v, want RATE_LIMITED naming the budget with a RetryAfter", class, key, err)
	}
	return e
}

// gauge returns the value of the gauge name in reg.
func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// TestRateLimiterSharedBudgets: on a real Redis and on the embedded one, a principal gets its
// burst and no more, whichever instance it calls; keys and classes have budgets of their own,
// and a class without one is unlimited.
func TestRateLimiterSharedBudgets(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			rdbA, rdbB, prefix := be.redis(t)
			a, regA := newRateLimiter(t, rdbA, rediscache.RateLimitOptions{Prefix: prefix, Budgets: hourly})
			b, _ := newRateLimiter(t, rdbB, rediscache.RateLimitOptions{Prefix: prefix, Budgets: hourly})
			ctx := context.Background()

			spend(t, 5, "search", "partner:acme", a)
			e := refused(t, a, "search", "partner:acme")
			if e.Message != "search budget of 5/h spent; retry in 12m0s" || e.RetryAfter < 11*time.Minute || e.RetryAfter > 12*time.Minute {
				t.Fatalf("refusal %q, RetryAfter %s; want 12 minutes", e.Message, e.RetryAfter)
			}
			refused(t, b, "search", "partner:acme")
			if n, err := rdbA.Raw().Exists(ctx, prefix+"rate:search:partner:acme").Result(); err != nil || n != 1 {
				t.Fatalf("the budget is not in Redis under %srate:search:partner:acme: %d, %v", prefix, n, err)
			}

			// Two instances spend one budget: 3 calls split across them, then neither allows one.
			spend(t, 3, "write", "ip:203.0.113.7", a, b)
			refused(t, a, "write", "ip:203.0.113.7")
			e = refused(t, b, "write", "ip:203.0.113.7")
			if e.Message != "write budget of 2/h (bursts of 3) spent; retry in 30m0s" {
				t.Fatalf("refusal %q", e.Message)
			}

			// Another key, another class: budgets of their own.
			spend(t, 5, "search", "ip:203.0.113.7", b)
			refused(t, a, "search", "ip:203.0.113.7")
			spend(t, 3, "write", "partner:acme", a)
			refused(t, b, "write", "partner:acme")

			// Unlimited: a zero budget, a class without one.
			spend(t, 50, "open", "partner:acme", a, b)
			spend(t, 50, "export", "partner:acme", a, b)

			// Long keys are kept under their hash, and still apart.
			long1, long2 := "partner:"+strings.Repeat("a", 1000), "partner:"+strings.Repeat("a", 999)+"b"
			spend(t, 5, "search", long1, a, b)
			refused(t, a, "search", long1)
			spend(t, 5, "search", long2, b)
			ks := keysOf(t, rdbA, prefix+"rate:*")
			if len(ks) != 6 {
				t.Fatalf("keys %v; want 6", ks)
			}
			for _, k := range ks {
				if len(k) > len(prefix)+len("rate:search:")+100 {
					t.Fatalf("key %q is longer than 100 bytes after its class", k)
				}
			}

			if n := counter(t, regA, "apphub_rate_limited_total"); n != 4 {
				t.Fatalf("instance a counted %v refusals, want 4", n)
			}
			if counter(t, regA, "apphub_rate_limit_fallbacks_total") != 0 || gauge(t, regA, "apphub_rate_limit_in_process") != 0 {
				t.Fatal("Redis answered and yet the in-process limiter was used")
			}
		})
	}
}

// TestRateLimiterConcurrent: 100 calls at once on one key with a burst of 10 allow exactly 10.
func TestRateLimiterConcurrent(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			rdbA, rdbB, prefix := be.redis(t)
			budgets := map[string]rediscache.Budget{"search": {Rate: 10, Period: time.Hour}}
			a, regA := newRateLimiter(t, rdbA, rediscache.RateLimitOptions{Prefix: prefix, Budgets: budgets})
			b, regB := newRateLimiter(t, rdbB, rediscache.RateLimitOptions{Prefix: prefix, Budgets: budgets})
			var allowed, limited atomic.Int64
			var wg sync.WaitGroup
			for i := range 100 {
				l := a
				if i%2 == 1 {
					l = b
				}
				wg.Go(func() {
					err := l.Allow(context.Background(), "search", "partner:acme")
					switch apphub.ErrorCode(err) {
					case "":
						allowed.Add(1)
					case apphub.ERATELIMITED:
						limited.Add(1)
					default:
						t.Errorf("Allow: %v", err)
					}
				})
			}
			wg.Wait()
			if allowed.Load() != 10 || limited.Load() != 90 {
				t.Fatalf("%d allowed and %d refused, want 10 and 90", allowed.Load(), limited.Load())
			}
			if counter(t, regA, "apphub_rate_limit_fallbacks_total")+counter(t, regB, "apphub_rate_limit_fallbacks_total") != 0 {
				t.Fatal("the in-process limiter decided some calls")
			}
		})
	}
}

// clock is the in-process limiter's clock in the tests: it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRateLimiterRedisDownAndBack: with its Redis killed, an instance enforces the same budgets
// on its own — neither letting everything through nor refusing everybody — without calling
// Redis while the breaker is open, and goes back to Redis once it answers.
func TestRateLimiterRedisDownAndBack(t *testing.T) {
	// Not parallel: it starts Redis again on the port it had, which another test's listener
	// could take meanwhile.
	port := storetest.FreePort(t)
	stop := storetest.StartRedisServer(t, port)
	rdb := client(t, fmt.Sprintf("127.0.0.1:%d", port))
	counted := &sent{}
	rdb.Raw().AddHook(counted)
	br, err := rediscache.NewBreaker(rdb, nil, rediscache.BreakerOptions{Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	clk := newClock()
	l, reg := newRateLimiter(t, rdb, rediscache.RateLimitOptions{Prefix: "hub:", Budgets: hourly, Breaker: br, Now: clk.Now})
	ctx := context.Background()
	spend(t, 1, "search", "partner:acme", l)

	stop()
	// The first call finds Redis down and opens the breaker; the in-process limiter decides it.
	spend(t, 5, "search", "partner:acme", l)
	if !br.Open() {
		t.Fatal("the breaker is closed with Redis down")
	}
	before := counted.n.Load()
	e := refused(t, l, "search", "partner:acme")
	if e.RetryAfter < 12*time.Minute-time.Millisecond || e.RetryAfter > 12*time.Minute+time.Millisecond || e.Message != "search budget of 5/h spent; retry in 12m0s" {
		t.Fatalf("in-process refusal %q, RetryAfter %s; want 12 minutes", e.Message, e.RetryAfter)
	}
	spend(t, 3, "write", "partner:acme", l)
	refused(t, l, "write", "partner:acme")
	spend(t, 5, "search", "ip:203.0.113.7", l)
	spend(t, 20, "open", "partner:acme", l)
	clk.Advance(12 * time.Minute)
	spend(t, 1, "search", "partner:acme", l)
	refused(t, l, "search", "partner:acme")
	if n := counted.n.Load() - before; n != 0 {
		t.Fatalf("%d commands sent to Redis with the breaker open, want 0", n)
	}
	if gauge(t, reg, "apphub_rate_limit_in_process") != 1 || counter(t, reg, "apphub_rate_limit_fallbacks_total") != 17 {
		t.Fatalf("in process %v, fallbacks %v; want 1 and 17", gauge(t, reg, "apphub_rate_limit_in_process"), counter(t, reg, "apphub_rate_limit_fallbacks_total"))
	}

	storetest.StartRedisServer(t, port)
	eventually(t, "the limiter to use Redis again", func() bool {
		l.Allow(ctx, "search", "probe")
		return gauge(t, reg, "apphub_rate_limit_in_process") == 0
	})
	// A new, empty Redis: the budgets start afresh there, and are kept there.
	spend(t, 5, "search", "partner:acme", l)
	refused(t, l, "search", "partner:acme")
	if n, err := rdb.Raw().Exists(ctx, "hub:rate:search:partner:acme").Result(); err != nil || n != 1 {
		t.Fatalf("after Redis came back the budget is not in Redis: %d, %v", n, err)
	}
}

// TestRateLimiterWithoutRedis: an instance whose Redis refuses connections decides every call
// in process, with the same budgets, and stops trying Redis after the first call (given no
// breaker, the limiter has its own); a Redis that answers with an error is not down, and that
// call is decided in process too.
func TestRateLimiterWithoutRedis(t *testing.T) {
	t.Parallel()
	gone := client(t, fmt.Sprintf("127.0.0.1:%d", storetest.FreePort(t))) // nothing listens there
	counted := &sent{}
	gone.Raw().AddHook(counted)
	l, reg := newRateLimiter(t, gone, rediscache.RateLimitOptions{Prefix: "hub:", Budgets: hourly, Now: newClock().Now})
	spend(t, 5, "search", "partner:acme", l)
	refused(t, l, "search", "partner:acme")
	spend(t, 5, "search", "partner:other", l)
	spend(t, 3, "write", "partner:acme", l)
	refused(t, l, "write", "partner:acme")
	if gauge(t, reg, "apphub_rate_limit_in_process") != 1 || counter(t, reg, "apphub_rate_limit_fallbacks_total") != 15 {
		t.Fatal("the in-process limiter is not reported")
	}
	if n := counted.n.Load(); n != 1 {
		t.Fatalf("%d commands sent to a Redis that is down, want 1 (the first)", n)
	}

	// A server that replies with an error (here: the key holds a hash, which the script cannot
	// read) is not an outage: the breaker stays closed, and that call is decided in process.
	rdb, prefix := storetest.Redis(t)
	br, err := rediscache.NewBreaker(rdb, nil, rediscache.BreakerOptions{Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(br.Close)
	l, reg = newRateLimiter(t, rdb, rediscache.RateLimitOptions{Prefix: prefix, Budgets: hourly, Breaker: br, Now: newClock().Now})
	if err := rdb.Raw().HSet(context.Background(), prefix+"rate:search:partner:acme", "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	spend(t, 5, "search", "partner:acme", l)
	refused(t, l, "search", "partner:acme")
	if br.Open() || counter(t, reg, "apphub_rate_limit_fallbacks_total") != 6 {
		t.Fatalf("breaker open %v, fallbacks %v; want closed and 6", br.Open(), counter(t, reg, "apphub_rate_limit_fallbacks_total"))
	}
	spend(t, 5, "search", "partner:other", l)
	if gauge(t, reg, "apphub_rate_limit_in_process") != 0 {
		t.Fatal("Redis answered and the limiter still reports the in-process limiter")
	}
}

// TestRateLimiterInProcessMemory: the in-process limiter keeps at most MaxKeys principals,
// dropping the least recently used, and drops those whose budget has filled up again.
func TestRateLimiterInProcessMemory(t *testing.T) {
	t.Parallel()
	gone := client(t, fmt.Sprintf("127.0.0.1:%d", storetest.FreePort(t)))
	clk := newClock()
	budgets := map[string]rediscache.Budget{"search": {Rate: 1, Period: time.Second}, "write": {Rate: 1, Period: 2 * time.Second, Burst: 2}}
	l, reg := newRateLimiter(t, gone, rediscache.RateLimitOptions{Budgets: budgets, MaxKeys: 10, Now: clk.Now})
	keys := func() float64 { return gauge(t, reg, "apphub_rate_limit_in_process_keys") }

	for i := range 10 {
		spend(t, 1, "search", fmt.Sprintf("ip:%d", i), l)
	}
	refused(t, l, "search", "ip:0")
	spend(t, 1, "search", "ip:10", l) // drops ip:1, the least recently used
	refused(t, l, "search", "ip:0")
	spend(t, 1, "search", "ip:1", l) // dropped: a new budget
	for i := range 100 {
		spend(t, 1, "write", fmt.Sprintf("ip:%d", i), l)
	}
	if keys() != 10 {
		t.Fatalf("%v principals kept, want 10", keys())
	}
	spend(t, 1, "search", "ip:0", l) // dropped meanwhile

	// The longest refill is the write budget's: 2 calls at one per 2s, 4s.
	clk.Advance(3 * time.Second)
	spend(t, 1, "search", "ip:1000", l)
	if keys() != 10 {
		t.Fatalf("%v principals kept, want 10 (none idle long enough yet)", keys())
	}
	clk.Advance(time.Second)
	spend(t, 1, "search", "ip:1001", l)
	if keys() != 2 {
		t.Fatalf("%v principals kept after 4 idle seconds, want 2", keys())
	}
	refused(t, l, "search", "ip:1001")
}

// A key that calls often takes its calls from Redis ten at a time and spends them on this
// instance without a round trip each; the calls allowed, across instances, are never more
// than the budget, and on one instance exactly the budget. A key that calls seldom spends one
// at a time, and a lease ends after a second.
func TestRateLimiterLeases(t *testing.T) {
	t.Parallel()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			rdbA, rdbB, prefix := be.redis(t)
			budgets := map[string]rediscache.Budget{"search": {Rate: 100, Period: time.Hour}}
			c := newClock()
			a, _ := newRateLimiter(t, rdbA, rediscache.RateLimitOptions{Prefix: prefix, Budgets: budgets, Now: c.Now})
			b, _ := newRateLimiter(t, rdbB, rediscache.RateLimitOptions{Prefix: prefix, Budgets: budgets, Now: c.Now})

			// a: one call, then a busy key's lease of 10 (1 + 10 spent in Redis); b gets the
			// 89 left, a the 9 of its lease: 100 in all, then neither allows one.
			spend(t, 2, "search", "partner:busy", a)
			spend(t, 89, "search", "partner:busy", b)
			refused(t, b, "search", "partner:busy")
			spend(t, 9, "search", "partner:busy", a)
			refused(t, a, "search", "partner:busy")

			// Calls more than a second apart spend one each.
			for range 3 {
				spend(t, 1, "search", "partner:quiet", a)
				c.Advance(2 * time.Second)
			}
			spend(t, 97, "search", "partner:quiet", b)
			refused(t, b, "search", "partner:quiet")

			// A lease unused for a second is gone: its calls stay spent, none is taken from it.
			spend(t, 2, "search", "partner:gone", a) // 11 spent, 9 leased
			c.Advance(2 * time.Second)
			spend(t, 1, "search", "partner:gone", a) // from Redis: 12 spent
			spend(t, 88, "search", "partner:gone", b)
			refused(t, b, "search", "partner:gone")
			refused(t, a, "search", "partner:gone")
		})
	}
}
