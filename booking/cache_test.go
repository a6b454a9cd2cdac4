package booking_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// memoryCache is a BusyCache that keeps entries until touched, and records what happens.
type memoryCache struct {
	mu       sync.Mutex
	entries  map[apphub.ResourceDay][]apphub.Claim
	gens     map[string]int // by "r|" or "z|" and the key
	touched  []apphub.ResourceDay
	zones    []apphub.ZoneDay
	loads    int
	versions int
}

func (m *memoryCache) Busy(ctx context.Context, keys []apphub.ResourceDay, load func(context.Context, []apphub.ResourceDay) (map[apphub.ResourceDay][]apphub.Claim, error)) (map[apphub.ResourceDay][]apphub.Claim, error) {
	m.mu.Lock()
	out := make(map[apphub.ResourceDay][]apphub.Claim)
	var missing []apphub.ResourceDay
	for _, k := range keys {
		if c, ok := m.entries[k]; ok {
			out[k] = c
		} else {
			missing = append(missing, k)
		}
	}
	m.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := load(ctx, missing)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	for k, c := range loaded {
		m.entries[k] = c
		out[k] = c
	}
	return out, nil
}

func (m *memoryCache) Touch(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.entries, k)
		m.touched = append(m.touched, k)
		m.gens[fmt.Sprint("r|", k)]++
	}
	for _, z := range zones {
		m.zones = append(m.zones, z)
		m.gens[fmt.Sprint("z|", z)]++
	}
}

func (m *memoryCache) Versions(ctx context.Context, keys []apphub.ResourceDay, zones []apphub.ZoneDay) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.versions++
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprint(m.gens[fmt.Sprint("r|", k)]))
	}
	for _, z := range zones {
		out = append(out, fmt.Sprint(m.gens[fmt.Sprint("z|", z)]))
	}
	return out, nil
}

// sameAnswer reports whether b is a, served again: the same version, days and time computed
// (answers assembled from the same day answers are equal, not one object).
func sameAnswer(a, b *booking.SlotResult) bool {
	return a != nil && b != nil && a.Version == b.Version && a.AsOf.Equal(b.AsOf) && reflect.DeepEqual(a.Days, b.Days)
}

type recordingPublisher struct {
	mu       sync.Mutex
	events   []apphub.Event
	zones    []apphub.ZoneDay
	calendar []string
}

func (p *recordingPublisher) PublishEvents(ctx context.Context, evs []apphub.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, evs...)
	return nil
}

func (p *recordingPublisher) PublishAvailabilityChanged(ctx context.Context, zones []apphub.ZoneDay) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.zones = append(p.zones, zones...)
}

func (p *recordingPublisher) PublishCalendarChanged(ctx context.Context, version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calendar = append(p.calendar, version)
}

// The booking path touches the cache for every (resource, day) it changes, so that a search
// after the answer never sees the cache from before; and it publishes the events it commits.
func TestBookingTouchesTheCacheAndPublishes(t *testing.T) {
	t.Parallel()
	cache := &memoryCache{entries: map[apphub.ResourceDay][]apphub.Claim{}, gens: map[string]int{}}
	pub := &recordingPublisher{}
	e := newEnv(t, booking.Options{Cache: cache, Publisher: pub})
	ctx := asAdmin()
	q := booking.SlotQuery{Category: "repair", Resource: "tech-1", From: at("08:00"), To: at("18:00")}
	offered := func() []time.Time {
		res, err := e.svc.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Time
		for _, d := range res.Days {
			for _, s := range d.Slots {
				out = append(out, s.Start)
			}
		}
		return out
	}
	if !slices.ContainsFunc(offered(), func(s time.Time) bool { return s.Equal(at("10:00")) }) {
		t.Fatal("10:00 not offered before booking")
	}
	loads := cache.loads
	offered() // warm: served from the cache
	if cache.loads != loads {
		t.Fatal("a warm search loaded from MongoDB")
	}
	// The same search, by zone, twice: the second is the answer kept under the same version.
	byZone := booking.SlotQuery{Category: "repair", Place: "75011", From: at("08:00"), To: at("18:00")}
	first, err := e.svc.Search(ctx, byZone)
	if err != nil {
		t.Fatal(err)
	}
	loads = cache.loads
	if second, err := e.svc.Search(ctx, byZone); err != nil || !sameAnswer(second, first) || first.Version == "" || cache.loads != loads {
		t.Fatalf("second search = %v (%v), want the kept answer %v with a version (%q), without loading (%d loads)", second, err, first, first.Version, cache.loads-loads)
	}
	// What a caller kept of that answer (a response) it may give again while it is current.
	isCurrent := func(q booking.SlotQuery, version string) bool {
		t.Helper()
		current, err := e.svc.IsCurrent(ctx, q, version)
		if err != nil {
			t.Fatal(err)
		}
		return current
	}
	if !isCurrent(byZone, first.Version) {
		t.Fatal("the answer just given is not current")
	}
	if _, err := e.svc.IsCurrent(context.Background(), byZone, first.Version); apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Fatalf("anonymous IsCurrent: %v, want UNAUTHENTICATED", err)
	}
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	if isCurrent(byZone, first.Version) {
		t.Fatal("the answer from before the booking is still current")
	}
	want := apphub.ResourceDay{Resource: "tech-1", Day: apphub.DayOf(at("10:00"))}
	if !slices.Contains(cache.touched, want) {
		t.Fatalf("booking touched %v, want %v", cache.touched, want)
	}
	if wantZone := (apphub.ZoneDay{Zone: "paris-11", Day: want.Day}); !slices.Contains(cache.zones, wantZone) || !slices.Contains(pub.zones, wantZone) {
		t.Fatalf("booking touched zones %v and published %v, want %v", cache.zones, pub.zones, wantZone)
	}
	if slices.ContainsFunc(offered(), func(s time.Time) bool { return s.Equal(at("10:00")) }) {
		t.Fatal("10:00 still offered after the booking was answered")
	}
	after, err := e.svc.Search(ctx, byZone)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version == first.Version || slices.ContainsFunc(after.Days, func(d apphub.SlotDay) bool {
		return slices.ContainsFunc(d.Slots, func(s apphub.Slot) bool { return s.Start.Equal(at("10:00")) })
	}) {
		t.Fatalf("after the booking the zone search has version %q (was %q) and days %v", after.Version, first.Version, after.Days)
	}
	if !isCurrent(byZone, after.Version) {
		t.Fatal("the answer after the booking is not current")
	}
	// A window without a slot is the window's own answer, which days cannot tell current.
	onHoliday := booking.SlotQuery{Category: "repair", Place: "75011", From: onDay(holiday, "08:00"), To: onDay(holiday, "18:00")}
	if res, err := e.svc.Search(ctx, onHoliday); err != nil || len(res.Days) != 0 || isCurrent(onHoliday, res.Version) {
		t.Fatalf("holiday: %v, %v", res, err)
	}
	if _, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusCancelled}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(offered(), func(s time.Time) bool { return s.Equal(at("10:00")) }) {
		t.Fatal("10:00 not offered again after the cancellation")
	}
	var kinds []string
	for _, ev := range pub.events {
		kinds = append(kinds, ev.Kind)
	}
	if want := []string{apphub.EventCreated, apphub.EventStateChanged}; !slices.Equal(kinds, want) {
		t.Fatalf("published %v, want %v", kinds, want)
	}
	if len(pub.calendar) == 0 {
		t.Fatal("the calendar write was not published")
	}
}

// A window without a slot (a holiday) names the next dates that have one, looking
// ahead with the busy time of those dates: a fully booked day is not one of them, and freeing
// a slot of it makes it one again, also when the answer was kept under a version.
func TestNextDatesSeeBookingsAfterTheWindow(t *testing.T) {
	t.Parallel()
	for _, withCache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", withCache), func(t *testing.T) {
			var opts booking.Options
			if withCache {
				opts.Cache = &memoryCache{entries: map[apphub.ResourceDay][]apphub.Claim{}, gens: map[string]int{}}
			}
			e := newEnv(t, opts)
			ctx := asAdmin()
			closed := onDay(holiday, "00:00")
			q := booking.SlotQuery{Category: "repair", Place: "75011", From: closed, To: onDay(holiday.AddDate(0, 0, 1), "00:00")}
			after := func(days ...int) []string {
				var out []string
				for _, d := range days {
					out = append(out, holiday.AddDate(0, 0, d).Format(time.DateOnly))
				}
				return out
			}
			next := func() []string {
				t.Helper()
				res, err := e.svc.Search(ctx, q)
				if err != nil || len(res.Days) != 0 {
					t.Fatalf("search: %v, %v", res, err)
				}
				return res.NextDates
			}
			if got := next(); !slices.Equal(got, after(1, 2, 3)) {
				t.Fatalf("next dates before any booking = %v", got)
			}
			var last apphub.Appointment
			for h := 8; h < 18; h++ { // the whole of the third day, beyond the busy time the window needs
				start := onDay(holiday.AddDate(0, 0, 3), fmt.Sprintf("%02d:00", h))
				a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: start})
				if err != nil {
					t.Fatalf("book %v: %v", start, err)
				}
				last = a
			}
			if got := next(); !slices.Equal(got, after(1, 2, 4)) {
				t.Fatalf("next dates with the third day fully booked = %v", got)
			}
			if _, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: last.ID, Status: apphub.StatusCancelled}); err != nil {
				t.Fatal(err)
			}
			if got := next(); !slices.Equal(got, after(1, 2, 3)) {
				t.Fatalf("next dates after a cancellation on the third day = %v", got)
			}
		})
	}
}
