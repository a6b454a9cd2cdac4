package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
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
}

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
	if r.RSSMax > 0 {
		fmt.Fprintf(&b, "rss max %.1f MiB  last %.1f MiB\n", float64(r.RSSMax)/(1<<20), float64(r.RSSLast)/(1<<20))
	}
	return b.String()
}

// result of one worker.
type result struct {
	lat    []time.Duration
	errors map[string]int
}

// run sends requests per cfg until cfg.Duration has passed (and the requests in flight have
// answered) or ctx ends.
func run(ctx context.Context, cfg config) (report, error) {
	if len(cfg.URLs) == 0 {
		return report{}, fmt.Errorf("no URL")
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

	results := make([]result, cfg.Conns)
	var wg sync.WaitGroup
	var seq atomic.Int64 // the URLs are used in turn across workers
	start := time.Now()
	end := start.Add(cfg.Duration)
	if cfg.Rate > 0 {
		// Open loop: the scheduler hands out send times; a worker that takes one late (all
		// were busy) still measures from it. What was scheduled is sent even after the
		// duration, unless ctx ended.
		sched := make(chan time.Time, 1<<16)
		for w := range cfg.Conns {
			wg.Go(func() {
				res := result{errors: map[string]int{}}
				for at := range sched {
					if ctx.Err() != nil {
						continue
					}
					res.record(at, send(client, cfg, int(seq.Add(1)-1)))
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
			for due := min(int(time.Since(start)/interval)+1, total); i < due; i++ {
				sched <- start.Add(time.Duration(i) * interval)
			}
			timer.Reset(time.Until(start.Add(time.Duration(i) * interval)))
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		timer.Stop()
		close(sched)
	} else {
		for w := range cfg.Conns {
			wg.Go(func() {
				res := result{errors: map[string]int{}}
				for ctx.Err() == nil && time.Now().Before(end) {
					at := time.Now()
					res.record(at, send(client, cfg, int(seq.Add(1)-1)))
				}
				results[w] = res
			})
		}
	}
	wg.Wait()
	rep := report{Elapsed: time.Since(start), ErrorsBy: map[string]int{}}
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
	}
	rep.Requests = len(all)
	slices.Sort(all)
	rep.P50, rep.P90, rep.P99 = percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99)
	if len(all) > 0 {
		rep.Max = all[len(all)-1]
	}
	rep.RSSMax, rep.RSSLast = rss.result()
	return rep, nil
}

// send sends request n and returns "" or what went wrong.
func send(client *http.Client, cfg config, n int) string {
	url := cfg.URLs[n%len(cfg.URLs)]
	var body io.Reader
	if cfg.Body != nil {
		body = bytes.NewReader(cfg.Body)
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
	// reused only then.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return errorKind(err)
	case resp.StatusCode >= 400:
		return "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return ""
}

// errorKind shortens a transport error to its last part ("connection refused", "EOF"), so
// that they group.
func errorKind(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
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
func readRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS %q: %w", pid, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
