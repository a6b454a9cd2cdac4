package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config is one load run.
type config struct {
	URLs     []string // requests go to them in turn
	Method   string
	Body     []byte
	Header   http.Header
	Conns    int           // closed loop: connections, each sending its next request when the last answered; open loop: at most this many in flight
	Rate     float64       // requests per second; > 0 selects the open loop
	Duration time.Duration // how long requests are started
	Timeout  time.Duration // per request
	PID      int           // > 0: sample this process's resident memory

	// Bodies, when set, replace Body: each request sends one drawn at random (Seed), so that
	// a server that keeps answers by document meets the spread of documents real clients send.
	Bodies [][]byte
	Seed   uint64
	// Sequential > 0 sends that many requests one at a time, each with a different one of
	// Bodies (in an order drawn with Seed), and ignores Conns, Rate and Duration: the first
	// answers of a server that has computed nothing yet.
	Sequential int
}

// lateAfter is how long after its due time a paced request may be sent before it counts as
// late: more means the load generator itself (or the machine) fell behind the schedule.
const lateAfter = time.Millisecond

// report is what a run measured. Latencies in the open loop count from the time a request was
// scheduled, not sent: a server that stalls is charged for the requests that queued behind
// the stall (no coordinated omission).
type report struct {
	Requests int
	Errors   int
	ErrorsBy map[string]int // by status code or error
	Elapsed  time.Duration
	P50, P90 time.Duration
	P99, Max time.Duration
	RSSMax   int64 // bytes; 0 when not sampled
	RSSLast  int64

	Bodies   int // bodies drawn from; 0 with a single body
	Distinct int // distinct bodies sent

	// Of the open loop: whether the server (Queued) or the load generator (Late, MaxLag) fell
	// behind the schedule. The latencies include both.
	Paced  bool
	Queued int           // requests due while -c requests were already in flight: they waited for one to answer
	Late   int           // requests sent more than lateAfter after they were due
	MaxLag time.Duration // longest wait between a request's due time and its sending
}

func (r report) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func (r report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests %d in %s: %.1f req/s, errors %d\n", r.Requests, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Errors)
	us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Fprintf(&b, "latency p50 %s  p90 %s  p99 %s  max %s\n", us(r.P50), us(r.P90), us(r.P99), us(r.Max))
	if r.Errors > 0 {
		kinds := make([]string, 0, len(r.ErrorsBy))
		for k := range r.ErrorsBy {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			fmt.Fprintf(&b, "  %6d  %s\n", r.ErrorsBy[k], k)
		}
	}
	if r.Bodies > 0 {
		fmt.Fprintf(&b, "bodies %d distinct of %d\n", r.Distinct, r.Bodies)
	}
	if r.Paced {
		fmt.Fprintf(&b, "schedule: %d queued behind busy connections, %d sent over %s late, max lag %s\n", r.Queued, r.Late, lateAfter, us(r.MaxLag))
	}
	if r.RSSMax > 0 {
		fmt.Fprintf(&b, "rss max %.1f MiB  last %.1f MiB\n", float64(r.RSSMax)/(1<<20), float64(r.RSSLast)/(1<<20))
	}
	return b.String()
}

// result of one worker.
type result struct {
	lat    []time.Duration
	errors map[string]int
	late   int
	maxLag time.Duration
}

// run sends requests per cfg until cfg.Duration has passed (and the requests in flight have
// answered) or ctx ends.
func run(ctx context.Context, cfg config) (report, error) {
	if len(cfg.URLs) == 0 {
		return report{}, fmt.Errorf("no URL")
	}
	if cfg.Sequential > 0 {
		if cfg.Sequential > len(cfg.Bodies) {
			return report{}, fmt.Errorf("%d sequential requests need as many distinct bodies, have %d", cfg.Sequential, len(cfg.Bodies))
		}
		cfg.Conns, cfg.Rate = 1, 0
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodGet
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Conns, MaxConnsPerHost: cfg.Conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}

	var rss rssSampler
	if cfg.PID > 0 {
		if _, err := readRSS(cfg.PID); err != nil {
			return report{}, err
		}
		stop := rss.start(cfg.PID, 100*time.Millisecond)
		defer stop()
	}

	draw := newDrawer(cfg.Bodies, cfg.Seed)
	body := func(rng *rand.Rand) []byte { return cfg.Body }
	if len(cfg.Bodies) > 0 {
		body = draw.random
	}
	results := make([]result, cfg.Conns)
	var wg sync.WaitGroup
	var seq atomic.Int64 // the URLs are used in turn across workers
	var queued int
	start := time.Now()
	end := start.Add(cfg.Duration)
	switch {
	case cfg.Sequential > 0:
		res := result{errors: map[string]int{}}
		for i := 0; i < cfg.Sequential && ctx.Err() == nil; i++ {
			at := time.Now()
			res.record(at, send(client, cfg, i, draw.nth(i)))
		}
		results[0] = res
	case cfg.Rate > 0:
		// Open loop: the scheduler hands out due times; a worker that takes one late (all
		// were busy) still measures from it. What was scheduled is sent even after the
		// duration, unless ctx ended.
		sched := make(chan due, 1<<16)
		var inFlight atomic.Int64 // handed out and not yet answered
		for w := range cfg.Conns {
			wg.Go(func() {
				res := result{errors: map[string]int{}}
				rng := draw.rng(w)
				for d := range sched {
					if ctx.Err() != nil {
						inFlight.Add(-1)
						continue
					}
					res.lag(time.Since(d.at))
					res.record(d.at, send(client, cfg, d.n, body(rng)))
					inFlight.Add(-1)
				}
				results[w] = res
			})
		}
		interval := time.Duration(float64(time.Second) / cfg.Rate)
		total := int(cfg.Duration / interval)
		timer := time.NewTimer(0)
		for i := 0; i < total && ctx.Err() == nil; {
			// Everything due by now goes out at once, so that high rates do not depend on
			// the timer's resolution.
			for upTo := min(int(time.Since(start)/interval)+1, total); i < upTo; i++ {
				// A request due while every connection is busy waits for one: the server
				// is not keeping up with the rate.
				if inFlight.Add(1) > int64(cfg.Conns) {
					queued++
				}
				// Due times count from the start, never from when the previous request went
				// out, so that a stall does not push the schedule back.
				sched <- due{start.Add(time.Duration(i) * interval), i}
			}
			timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		timer.Stop()
		close(sched)
	default:
		for w := range cfg.Conns {
			wg.Go(func() {
				res := result{errors: map[string]int{}}
				rng := draw.rng(w)
				for ctx.Err() == nil && time.Now().Before(end) {
					at := time.Now()
					res.record(at, send(client, cfg, int(seq.Add(1)-1), body(rng)))
				}
				results[w] = res
			})
		}
	}
	wg.Wait()
	rep := report{Elapsed: time.Since(start), ErrorsBy: map[string]int{}, Paced: cfg.Rate > 0, Queued: queued}
	if cfg.Rate > 0 {
		// The rate is what was scheduled over the duration; late answers show in the latencies.
		rep.Elapsed = min(rep.Elapsed, cfg.Duration)
	}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.lat...)
		for k, n := range r.errors {
			rep.ErrorsBy[k] += n
			rep.Errors += n
		}
		rep.Late += r.late
		rep.MaxLag = max(rep.MaxLag, r.maxLag)
	}
	rep.Requests = len(all)
	slices.Sort(all)
	rep.P50, rep.P90, rep.P99 = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
	if len(all) > 0 {
		rep.Max = all[len(all)-1]
	}
	rep.RSSMax, rep.RSSLast = rss.result()
	rep.Bodies, rep.Distinct = len(cfg.Bodies), draw.distinct()
	return rep, nil
}

// due is a paced request: when it should be sent, and its number.
type due struct {
	at time.Time
	n  int
}

// drawer hands out request bodies and remembers which were sent.
type drawer struct {
	bodies [][]byte
	seed   uint64
	order  []int         // Sequential: the bodies in the order they are sent
	sent   []atomic.Bool // by index in bodies
}

func newDrawer(bodies [][]byte, seed uint64) *drawer {
	d := &drawer{bodies: bodies, seed: seed, sent: make([]atomic.Bool, len(bodies))}
	d.order = d.rng(-1).Perm(len(bodies))
	return d
}

// rng returns worker w's own generator: drawing takes no lock, and a seed gives the same
// draws per worker from run to run.
func (d *drawer) rng(w int) *rand.Rand {
	return rand.New(rand.NewPCG(d.seed, uint64(w+1)))
}

func (d *drawer) random(rng *rand.Rand) []byte {
	i := rng.IntN(len(d.bodies))
	d.sent[i].Store(true)
	return d.bodies[i]
}

// nth returns the body of the n-th sequential request; every n < len(bodies) gets another.
func (d *drawer) nth(n int) []byte {
	i := d.order[n]
	d.sent[i].Store(true)
	return d.bodies[i]
}

func (d *drawer) distinct() int {
	n := 0
	for i := range d.sent {
		if d.sent[i].Load() {
			n++
		}
	}
	return n
}

// send sends request n and returns "" or what went wrong.
func send(client *http.Client, cfg config, n int, b []byte) string {
	url := cfg.URLs[n%len(cfg.URLs)]
	var body io.Reader
	if b != nil {
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(cfg.Method, url, body)
	if err != nil {
		return err.Error()
	}
	for k, vs := range cfg.Header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return errorKind(err)
	}
	// Read the whole answer: its transfer is part of the latency, and the connection is
	// reused only then. A GraphQL server answers a failed operation with 200 too, its
	// errors first (gqlgen's order), so the start of the answer tells.
	var head [len(graphqlErrors)]byte
	got, err := io.ReadFull(resp.Body, head[:])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	switch {
	case err != nil:
		return errorKind(err)
	case resp.StatusCode >= 400:
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	case string(head[:got]) == graphqlErrors:
		return "GraphQL errors"
	}
	return ""
}

// graphqlErrors starts a GraphQL answer that has errors.
const graphqlErrors = `{"errors":`

// errorKind shortens a transport error to its last part ("connection refused", "EOF"), so
// that they group.
func errorKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func (r *result) lag(d time.Duration) {
	if d > lateAfter {
		r.late++
	}
	r.maxLag = max(r.maxLag, d)
}

func (r *result) record(at time.Time, failure string) {
	r.lat = append(r.lat, time.Since(at))
	if failure != "" {
		r.errors[failure]++
	}
}

// percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// rssSampler samples a process's resident memory.
type rssSampler struct {
	mu        sync.Mutex
	max, last int64
}

func (s *rssSampler) start(pid int, every time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := func() {
		if v, err := readRSS(pid); err == nil {
			s.mu.Lock()
			s.max, s.last = max(s.max, v), v
			s.mu.Unlock()
		}
	}
	sample()
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		sample()
	}
}

func (s *rssSampler) result() (maxRSS, last int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max, s.last
}

// readRSS returns VmRSS of pid from /proc/PID/status, in bytes.
func readRSS(pid int) (int64, error) { return readProc(pid, "VmRSS:") }

// readProc returns a field of /proc/PID/status counted in kB (VmRSS:, VmHWM:…), in bytes.
func readProc(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: %s %q: %w", pid, field, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}
