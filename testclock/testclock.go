// Package testclock is the one clock of the tests. Whatever a calendar decides — slots, notice,
// horizons, holds, claims — a test takes "now" from here, never from time.Now, so that the
// suite can be run at any instant on purpose: APPHUB_TEST_NOW sets the instant the clock starts
// from (the base), and the clock then advances like a real one. Without it the base is the wall
// clock when the test process starts, so that every run tries another instant; a failing test
// names its base (Describe) so that it can be run again at that instant.
//
// Only tests read APPHUB_TEST_NOW: the hub's binary never imports this package.
package testclock

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Env is the variable that sets the base instant: RFC 3339 ("2027-03-27T23:50:00+01:00"), or
// a local date and time followed by an IANA zone ("2027-03-27T23:50 Europe/Paris").
const Env = "APPHUB_TEST_NOW"

// started is when the process started, with its monotonic reading: the clock advances by the
// time elapsed since.
var started = time.Now()

// base is the instant the clock showed when the process started.
var base = sync.OnceValue(func() time.Time {
	v := os.Getenv(Env)
	if v == "" {
		return started.Round(0).UTC()
	}
	t, err := Parse(v)
	if err != nil {
		// A test run at an instant nobody asked for would prove nothing: stop at once.
		fmt.Fprintf(os.Stderr, "testclock: %s=%q: %v\n", Env, v, err)
		os.Exit(2)
	}
	return t
})

// Parse reads an instant as APPHUB_TEST_NOW gives it.
func Parse(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	i := strings.LastIndexByte(v, ' ')
	local, zone := v[:max(i, 0)], v[i+1:]
	if i < 0 {
		return time.Time{}, fmt.Errorf("want RFC 3339 or a local time and an IANA zone, e.g. %q", "2027-03-27T23:50 Europe/Paris")
	}
	loc, err := time.LoadLocation(strings.TrimSpace(zone))
	if err != nil {
		return time.Time{}, err
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(local), loc); err == nil {
			if earlier := t.Add(-time.Hour); earlier.In(loc).Format(layout) == t.Format(layout) {
				t = earlier // a time the clock shows twice (a DST fold): its first instant
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a local date and time such as 2027-03-27T23:50", local)
}

// Base returns the instant the clock started from.
func Base() time.Time { return base() }

// Now returns the base plus the time elapsed since the process started, in UTC.
func Now() time.Time { return base().Add(time.Since(started)) }

// Describe says which instant the clock started from and how to start it there again, for
// failure messages and logs.
func Describe() string {
	return fmt.Sprintf("test clock started at %s (run again with %s=%s)", Base().Format(time.RFC3339), Env, Base().Format(time.RFC3339))
}

// Clock is the test clock with a settable lead: tests that must see time pass faster than it
// does (a hold expiring, a claim ageing past its grace) advance their own Clock. The zero
// value follows Now.
type Clock struct {
	mu   sync.Mutex
	lead time.Duration
}

// New returns a Clock that follows Now.
func New() *Clock { return &Clock{} }

// Now returns the test clock's time plus the lead given by Advance.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Now().Add(c.lead)
}

// Advance moves c forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lead += d
}

// Report makes t say, when it fails, which instant the clock started from.
func Report(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(Describe())
		}
	})
}
