package rediscache

import (
	"sync"
	"time"
)

// Leases spare a busy principal a Redis round trip per call. A key that called within the
// last leaseTTL takes its calls from Redis n at a time (budget.lease: a tenth of its burst, at
// most 10): the budget is spent in Redis for all n at once, and the next n-1 calls on this
// instance take one each from the lease, until it runs out or leaseTTL passes. A key that calls
// seldom spends one at a time, as without leases: leasing it would spend more than it uses.
//
// What a lease costs: tokens leased and not used (the principal stopped, or went on through
// another instance) are spent all the same, so a principal may be refused up to lease-1 calls
// early per instance it used; never later. In one instance, the calls allowed are exactly
// the budget, leased or not.
const (
	leaseTTL      = time.Second
	maxLeaseCalls = 10
)

// leaseSize is how many calls a lease of a budget with burst takes at once.
func leaseSize(burst int) int {
	return max(1, min(maxLeaseCalls, burst/10))
}

// leases are the instance's leases, one per (class, key); those unused for leaseTTL are
// dropped (their calls have expired).
type leases struct {
	mu    sync.Mutex
	calls idleLRU[*lease]
}

type lease struct {
	calls int       // left to take
	until time.Time // when they expire
}

// take takes one call from k's lease and reports whether there was one; it also reports
// whether k called within leaseTTL (a lease is then worth taking), and notes this call.
func (s *leases) take(k localKey, now time.Time) (taken, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, created := s.calls.touch(k, now, func() *lease { return &lease{} })
	if l := e.v; l.calls > 0 && now.Before(l.until) {
		l.calls--
		return true, true
	}
	return false, !created
}

// add keeps calls more for k until now+leaseTTL.
func (s *leases) add(k localKey, calls int, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.calls.get(k); ok {
		if !now.Before(l.until) {
			l.calls = 0
		}
		l.calls += calls
		l.until = now.Add(leaseTTL)
	}
}

// clear drops every lease: while Redis was away, calls were counted in process.
func (s *leases) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls.clear()
}
