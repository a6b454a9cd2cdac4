package rediscache_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// claimsDB stands for MongoDB: the committed claims per key, and how often load ran.
type claimsDB struct {
	mu     sync.Mutex
	claims map[apphub.ResourceDay][]apphub.Claim
	loads  int // calls of load
	loaded map[apphub.ResourceDay]int
}

func newClaimsDB() *claimsDB {
	return &claimsDB{claims: make(map[apphub.ResourceDay][]apphub.Claim), loaded: make(map[apphub.ResourceDay]int)}
}

// book commits a claim on seat at start.
func (db *claimsDB) book(resource string, start time.Time, seat int) apphub.ResourceDay {
	db.mu.Lock()
	defer db.mu.Unlock()
	k := apphub.ResourceDay{Resource: resource, Day: apphub.DayOf(start)}
	db.claims[k] = append(db.claims[k], apphub.Claim{ID: apphub.ClaimID(resource, start, seat), Resource: resource, Start: start.UTC(), Seat: seat})
	return k
}

func (db *claimsDB) load(ctx context.Context, keys []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.loads++
	out := make(map[apphub.ResourceDay][]apphub.Claim, len(keys))
	for _, k := range keys {
		db.loaded[k]++
		out[k] = slices.Clone(db.claims[k])
	}
	return out, nil
}

func (db *claimsDB) loadCount() int {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.loads
}

// counter returns the value of the counter name in reg (summed over its labels).
func counter(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// client returns a second client of the Redis storetest.Redis points at (or, given addr, of
// the single server at addr, with the same options but the other nodes of a Cluster URL):
// another hub.
func client(t testing.TB, addr string) *rediscache.Client {
	t.Helper()
	u, err := url.Parse(storetest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	if addr != "" {
		u.Host = addr
		q := u.Query()
		q.Del("addr")
		u.RawQuery = q.Encode()
	}
	c, err := rediscache.Connect(u.String(), rediscache.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// proxy forwards TCP connections to target; stop cuts them all and refuses new ones, start
// listens again on the same address. It takes Redis away from one client while the server, and
// its data, stay.
type proxy struct {
	t      testing.TB
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.start()
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Go(func() { io.Copy(u, c); u.Close() })
			p.wg.Go(func() { io.Copy(c, u); c.Close() })
		}
	})
}

func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// redisAddr is host:port of the Redis at REDIS_URL.
func redisAddr(t testing.TB) string {
	opts, err := redis.ParseURL(storetest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	return opts.Addr
}

// waitGoroutines waits until the number of goroutines is back to at most n.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := runtime.NumGoroutine()
		if got <= n {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", got, n, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually waits until cond holds, for up to 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 5*time.Second, what, cond)
}

// eventuallyWithin waits until cond holds, for up to d.
func eventuallyWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var day0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func quantum(i int) time.Time { return day0.Add(time.Duration(i) * 15 * time.Minute) }

func key(resource string) apphub.ResourceDay {
	return apphub.ResourceDay{Resource: resource, Day: day0}
}

// has reports whether claims hold the claim on seat at start.
func has(claims []apphub.Claim, start time.Time, seat int) bool {
	for _, c := range claims {
		if c.Start.Equal(start) && c.Seat == seat {
			return true
		}
	}
	return false
}

// keysOf lists the keys matching pattern on every master: KEYS on a Cluster client asks one node.
func keysOf(t testing.TB, c *rediscache.Client, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	cc, ok := c.Raw().(*redis.ClusterClient)
	if !ok {
		ks, err := c.Raw().Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	var mu sync.Mutex
	var out []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		ks, err := node.Keys(ctx, pattern).Result()
		mu.Lock()
		out = append(out, ks...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
