package booking_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// memoryCache is a BusyCache that keeps entries until touched, and records what happens.
type memoryCache struct {
	mu      sync.Mutex
	entries map[apphub.DayKey][]apphub.Claim
	touched []apphub.DayKey
	loads   int
}

func (m *memoryCache) Busy(ctx context.Context, keys []apphub.DayKey, load func(context.Context, []apphub.DayKey) (map[apphub.DayKey][]apphub.Claim, error)) (map[apphub.DayKey][]apphub.Claim, error) {
	m.mu.Lock()
	out := make(map[apphub.DayKey][]apphub.Claim)
	var missing []apphub.DayKey
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

func (m *memoryCache) Touch(ctx context.Context, keys []apphub.DayKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.entries, k)
		m.touched = append(m.touched, k)
	}
}

type recordingPublisher struct {
	mu       sync.Mutex
	events   []apphub.Event
	calendar []string
}

func (p *recordingPublisher) PublishEvents(ctx context.Context, evs []apphub.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, evs...)
}

func (p *recordingPublisher) PublishCalendarChanged(ctx context.Context, version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calendar = append(p.calendar, version)
}

// The booking path touches the cache for every (resource, day) it changes, so that a search
// after the answer never sees the cache from before; and it publishes the events it commits.
func TestBookingTouchesTheCacheAndPublishes(t *testing.T) {
	cache := &memoryCache{entries: map[apphub.DayKey][]apphub.Claim{}}
	pub := &recordingPublisher{}
	e := newEnv(t, booking.Options{Cache: cache, Publisher: pub})
	ctx := context.Background()
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
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	want := apphub.DayKey{Resource: "tech-1", Day: apphub.DayOf(at("10:00"))}
	if !slices.Contains(cache.touched, want) {
		t.Fatalf("booking touched %v, want %v", cache.touched, want)
	}
	if slices.ContainsFunc(offered(), func(s time.Time) bool { return s.Equal(at("10:00")) }) {
		t.Fatal("10:00 still offered after the booking was answered")
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
