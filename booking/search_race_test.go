package booking_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// Two instances on one MongoDB and the real Redis: while A books the technician's days hour by
// hour, B searches the zone over and over (its answers kept under versions, and shared). No search of B
// offers a time whose booking A had answered before that search began.
func TestSearchRacingBookingsOnAnotherInstance(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ca, cb := storetest.Cache(t, rdb, prefix), storetest.Cache(t, rdb, prefix)
	e := newEnv(t, booking.Options{Cache: ca, Answers: ca})
	b := e.another(t, booking.Options{Cache: cb, Answers: cb})
	ctx := asAdmin()
	first := at("08:00")
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: first.Add(-time.Hour), To: first.Add(4 * 24 * time.Hour)}

	var mu sync.Mutex
	answered := make(map[time.Time]time.Time) // booked start → when the booking was answered
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range 4 {
			for h := range 10 {
				if t.Failed() {
					return
				}
				start := first.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour)
				if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: start}); err != nil {
					t.Errorf("book %v: %v", start, err)
					return
				}
				mu.Lock()
				answered[start] = time.Now()
				mu.Unlock()
			}
		}
	}()

	searches, violation := 0, ""
	for running := true; running && violation == ""; searches++ {
		select {
		case <-done:
			running = false // one more search after the last booking
		default:
		}
		began := time.Now()
		res, err := b.Search(ctx, q)
		if err != nil {
			violation = err.Error()
			break
		}
		mu.Lock()
		for _, d := range res.Days {
			for _, s := range d.Slots {
				// A one-hour repair at s also overlaps the booking that started half an hour before.
				for _, booked := range []time.Time{s.Start, s.Start.Add(-30 * time.Minute), s.Start.Add(30 * time.Minute)} {
					if at, ok := answered[booked]; ok && at.Before(began) && offeredBy(s, "tech-1") && violation == "" {
						violation = fmt.Sprintf("search %d (began %v) offers %v on tech-1, overlapping the booking at %v answered at %v",
							searches, began.Format(time.StampMicro), s.Start, booked, at.Format(time.StampMicro))
					}
				}
			}
		}
		mu.Unlock()
	}
	<-done // the booker stops at the first error; the test's stores must outlive it
	if violation != "" {
		t.Fatal(violation)
	}
	if res, err := b.Search(ctx, q); err != nil || len(res.Days) != 0 || res.Version == "" {
		t.Fatalf("after the last booking B offers %v (%v), version %q", res.Days, err, res.Version)
	}
	t.Logf("%d searches raced 40 bookings", searches)
}

func offeredBy(s apphub.Slot, resource string) bool {
	for _, r := range s.Resources {
		if r.ResourceID == resource {
			return true
		}
	}
	return false
}

// countingCache counts the busy time read through it.
type countingCache struct {
	*rediscache.Cache
	busy atomic.Int32
}

func (c *countingCache) Busy(ctx context.Context, keys []apphub.ResourceDay, load func(context.Context, []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error)) (map[apphub.ResourceDay][]apphub.Claim, error) {
	c.busy.Add(1)
	return c.Cache.Busy(ctx, keys, load)
}

// An answer one instance computed is the other's, read from Redis instead of computed again,
// until a booking changes the version; then whoever searches first computes the new one.
func TestSearchAnswersSharedBetweenInstances(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ca, cb := storetest.Cache(t, rdb, prefix), &countingCache{Cache: storetest.Cache(t, rdb, prefix)}
	e := newEnv(t, booking.Options{Cache: ca, Answers: ca})
	b := e.another(t, booking.Options{Cache: cb, Answers: cb})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(3 * 24 * time.Hour)}

	onA, err := e.svc.Search(ctx, q)
	if err != nil || onA.Version == "" || len(onA.Days) == 0 {
		t.Fatalf("A: %v, %v", onA, err)
	}
	onB, err := b.Search(ctx, q)
	if err != nil || cb.busy.Load() != 0 || onB.Version != onA.Version || !onB.AsOf.Equal(onA.AsOf) || !reflect.DeepEqual(onB.Days, onA.Days) {
		t.Fatalf("B read busy time %d times and answered %+v (%v); A answered %+v", cb.busy.Load(), onB, err, onA)
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("08:00")}); err != nil {
		t.Fatal(err)
	}
	after, err := b.Search(ctx, q)
	if err != nil || after.Version == onA.Version || cb.busy.Load() != 1 || offeredBy(after.Days[0].Slots[0], "tech-1") && after.Days[0].Slots[0].Start.Equal(at("08:00")) {
		t.Fatalf("after the booking B read busy time %d times and answered %v (%v)", cb.busy.Load(), after, err)
	}
}

// Searches that miss the same answer at once (right after a booking) compute it once.
func TestConcurrentMissesComputeOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	cache := &countingCache{Cache: storetest.Cache(t, rdb, prefix)}
	e := newEnv(t, booking.Options{Cache: cache})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(7 * 24 * time.Hour)}
	for round := range 3 {
		if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("08:00").Add(time.Duration(round) * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		before := cache.busy.Load()
		var wg sync.WaitGroup
		versions := make([]string, 20)
		for i := range versions {
			wg.Go(func() {
				res, err := e.svc.Search(ctx, q)
				if err != nil {
					t.Error(err)
					return
				}
				versions[i] = res.Version
			})
		}
		wg.Wait()
		if n := cache.busy.Load() - before; n != 1 {
			t.Fatalf("round %d: 20 searches read busy time %d times, want 1", round, n)
		}
		for _, v := range versions {
			if v != versions[0] || v == "" {
				t.Fatalf("round %d: versions %v", round, versions)
			}
		}
	}
}

// The postcodes of one zone have one answer: it is computed once and kept for all of them,
// and a booking changes it for all of them.
func TestPostcodesOfAZoneShareTheirAnswer(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	cache := &countingCache{Cache: storetest.Cache(t, rdb, prefix)}
	e := newEnv(t, booking.Options{Cache: cache, Answers: cache.Cache})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(3 * 24 * time.Hour)}
	first, err := e.svc.Search(ctx, q)
	if err != nil || len(first.Days) == 0 {
		t.Fatalf("75011: %v, %v", first, err)
	}
	q.Place = "75012"
	other, err := e.svc.Search(ctx, q)
	if err != nil || !sameAnswer(other, first) || cache.busy.Load() != 1 {
		t.Fatalf("75012 read busy time %d times (want 1, the first search's) and answered %p, not %p (%v)", cache.busy.Load(), other, first, err)
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: first.Days[0].Slots[0].Start}); err != nil {
		t.Fatal(err)
	}
	after, err := e.svc.Search(ctx, q)
	if err != nil || after.Version == first.Version || cache.busy.Load() != 2 {
		t.Fatalf("after a booking 75012 read busy time %d times and answered version %q (before %q): %v", cache.busy.Load(), after.Version, first.Version, err)
	}
	q.Place = "75011"
	if again, err := e.svc.Search(ctx, q); err != nil || !sameAnswer(again, after) {
		t.Fatalf("75011 after the booking: %p, want 75012's %p (%v)", again, after, err)
	}
}

// sources records what Options.Observe is told.
type sources struct {
	mu   sync.Mutex
	seen []string
	took []time.Duration
}

func (s *sources) observe(source string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen, s.took = append(s.seen, source), append(s.took, d)
}

// take returns what was observed since the last take.
func (s *sources) take() ([]string, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen, took := s.seen, s.took
	s.seen, s.took = nil, nil
	return seen, took
}

// Each answer is observed once with where it came from: computed by the first search, kept in
// memory for the next, read from Redis by the other instance, kept there after; a computed
// one with the time it took, the others with none. Searches that wait for another's
// computation are observed as memory; a booking makes the next search compute again.
func TestSearchObservesWhereAnswersComeFrom(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	ca, cb := storetest.Cache(t, rdb, prefix), storetest.Cache(t, rdb, prefix)
	var onA, onB sources
	e := newEnv(t, booking.Options{Cache: ca, Answers: ca, Observe: onA.observe})
	b := e.another(t, booking.Options{Cache: cb, Answers: cb, Observe: onB.observe})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("08:00").Add(3 * 24 * time.Hour)}
	book := func(svc *booking.Service, at time.Time) {
		if _, err := svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name     string
		svc      *booking.Service
		on       *sources
		before   func()
		searches int
		want     []string
	}{
		{"first on A", e.svc, &onA, nil, 1, []string{booking.SourceComputed}},
		{"again on A", e.svc, &onA, nil, 1, []string{booking.SourceMemory}},
		{"first on B", b, &onB, nil, 1, []string{booking.SourceRedis}},
		{"again on B", b, &onB, nil, 1, []string{booking.SourceMemory}},
		{"on B after a booking on A", b, &onB, func() { book(e.svc, at("08:00")) }, 1, []string{booking.SourceComputed}},
		{"on A after that", e.svc, &onA, nil, 1, []string{booking.SourceRedis}},
		{"20 at once on A after a booking on B", e.svc, &onA, func() { book(b, at("09:00")) }, 20,
			append([]string{booking.SourceComputed}, slices.Repeat([]string{booking.SourceMemory}, 19)...)},
	} {
		if step.before != nil {
			step.before()
		}
		var wg sync.WaitGroup
		for range step.searches {
			wg.Go(func() {
				if res, err := step.svc.Search(ctx, q); err != nil || res.Version == "" {
					t.Errorf("%s: %v, %v", step.name, res, err)
				}
			})
		}
		wg.Wait()
		seen, took := step.on.take()
		for i, source := range seen {
			if (source == booking.SourceComputed) != (took[i] > 0) {
				t.Fatalf("%s: %s answer observed with %v", step.name, source, took[i])
			}
		}
		slices.Sort(seen) // "computed" first
		if !slices.Equal(seen, step.want) {
			t.Fatalf("%s: observed %v, want %v", step.name, seen, step.want)
		}
	}
}
