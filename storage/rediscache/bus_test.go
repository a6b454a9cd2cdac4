package rediscache_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// history stands for the revisions in MongoDB: the booking service's Events.
type history struct {
	mu      sync.Mutex
	events  map[string][]apphub.Event
	resyncs int
}

func newHistory() *history { return &history{events: make(map[string][]apphub.Event)} }

// commit records the events of a new version of id and returns them.
func (h *history) commit(id string, version int, kinds ...string) []apphub.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []apphub.Event
	for _, k := range kinds {
		ev := apphub.Event{Kind: k, AppointmentID: id, Version: version, At: time.Now().UTC(),
			State: apphub.Appointment{ID: id, Version: version, Status: apphub.StatusConfirmed,
				Attributes: map[string]json.RawMessage{"@type": json.RawMessage(`"Appointment"`)}}}
		if k == apphub.EventAttributeChanged {
			ev.Fields = []string{"description"}
		}
		out = append(out, ev)
	}
	h.events[id] = append(h.events[id], out...)
	return out
}

func (h *history) resync(ctx context.Context, id string, after int) ([]apphub.Event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resyncs++
	var out []apphub.Event
	for _, ev := range h.events[id] {
		if ev.Version > after {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (h *history) resyncCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resyncs
}

// newBus runs a bus on c that fills gaps with resync (nil: none) until t ends.
func newBus(t testing.TB, c *rediscache.Client, opts rediscache.BusOptions,
	resync func(ctx context.Context, id string, after int) ([]apphub.Event, error)) (*rediscache.Bus, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	if opts.Block == 0 {
		opts.Block = 100 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second // see newCache
	}
	b, err := rediscache.NewBus(c, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(context.Background(), resync)
	}()
	t.Cleanup(func() {
		b.Close()
		<-done
	})
	return b, reg
}

// connected waits until to's reader sees what from publishes (a reader starts at the stream's
// end, so what is published before it is positioned is not its business). It publishes one
// calendar version, again until to has it, and returns once both buses have handed it to their
// callbacks: a bus hands its own publications to its callbacks too, from its queue, and a
// callback registered after connected must not get the warm-up. The copies of it still on
// their way carry the same version, which a bus drops as the one it has.
func connected(t testing.TB, from, to *rediscache.Bus) {
	t.Helper()
	version := "warm-up-" + rand.Text()
	var mu sync.Mutex
	seen := map[*rediscache.Bus]bool{}
	for _, b := range []*rediscache.Bus{from, to} {
		remove := b.OnCalendarChanged(func(v string) {
			if v == version {
				mu.Lock()
				seen[b] = true
				mu.Unlock()
			}
		})
		defer remove()
	}
	both := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[from] && seen[to]
	}
	for i := 0; !both(); i++ {
		if i == 50 {
			t.Fatal("the bus readers never connected")
		}
		from.PublishCalendarChanged(context.Background(), version)
		deadline := time.Now().Add(200 * time.Millisecond)
		for !both() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// next returns the next value of ch, failing after a while.
func next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	var v T
	select {
	case got, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed")
		}
		v = got
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	return v
}

func expect(t testing.TB, ch <-chan apphub.Event, id string, version int, kind string) {
	t.Helper()
	ev := next(t, ch)
	if ev.AppointmentID != id || ev.Version != version || ev.Kind != kind {
		t.Fatalf("got %s v%d %s, want %s v%d %s", ev.AppointmentID, ev.Version, ev.Kind, id, version, kind)
	}
}

// quiet checks that nothing more arrives on ch for a moment.
func quiet(t testing.TB, ch <-chan apphub.Event) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %s v%d %s", ev.AppointmentID, ev.Version, ev.Kind)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestBusAcrossInstances(t *testing.T) {
	// Not parallel: it counts the goroutines of the whole process, and times Close.
	rdb, prefix := storetest.Redis(t)
	rdb2 := client(t, "")
	ctx := context.Background()
	rdb2.Raw().Ping(ctx)
	baseline := runtime.NumGoroutine()

	h := newHistory()
	reg := prometheus.NewRegistry()
	a, err := rediscache.NewBus(rdb, reg, rediscache.BusOptions{Prefix: prefix, Block: 100 * time.Millisecond, Timeout: 5 * time.Second, Buffer: 256})
	if err != nil {
		t.Fatal(err)
	}
	regB := prometheus.NewRegistry()
	b, err := rediscache.NewBus(rdb2, regB, rediscache.BusOptions{Prefix: prefix, Block: 100 * time.Millisecond, Timeout: 5 * time.Second, Buffer: 256})
	if err != nil {
		t.Fatal(err)
	}
	var runs sync.WaitGroup
	runs.Go(func() { a.Run(ctx, nil) })
	runs.Go(func() { b.Run(ctx, h.resync) })
	connected(t, a, b)
	connected(t, b, a)

	subCtx, endSubs := context.WithCancel(ctx)
	onA, onB := a.Subscribe(subCtx), b.Subscribe(subCtx)
	var calMu sync.Mutex
	var calA, calB []string
	a.OnCalendarChanged(func(v string) { calMu.Lock(); calA = append(calA, v); calMu.Unlock() })
	b.OnCalendarChanged(func(v string) { calMu.Lock(); calB = append(calB, v); calMu.Unlock() })

	// Versions 1 to 3 published on a reach both, in order; version 3 is a state and an
	// attribute change.
	a.PublishEvents(ctx, h.commit("ap-1", 1, apphub.EventCreated))
	a.PublishEvents(ctx, h.commit("ap-1", 2, apphub.EventStateChanged))
	a.PublishEvents(ctx, h.commit("ap-1", 3, apphub.EventStateChanged, apphub.EventAttributeChanged))
	for _, ch := range []<-chan apphub.Event{onA, onB} {
		expect(t, ch, "ap-1", 1, apphub.EventCreated)
		expect(t, ch, "ap-1", 2, apphub.EventStateChanged)
		expect(t, ch, "ap-1", 3, apphub.EventStateChanged)
		expect(t, ch, "ap-1", 3, apphub.EventAttributeChanged)
	}

	// A duplicate is dropped.
	a.PublishEvents(ctx, h.events["ap-1"][1:2])
	a.PublishEvents(ctx, h.commit("ap-1", 4, apphub.EventStateChanged))
	for _, ch := range []<-chan apphub.Event{onA, onB} {
		expect(t, ch, "ap-1", 4, apphub.EventStateChanged)
	}

	// A gap: version 5 is committed but its publish is lost; b fills it through Resync when
	// version 6 arrives. (a has no Resync: it delivers 6 after 4.)
	h.commit("ap-1", 5, apphub.EventAttributeChanged)
	a.PublishEvents(ctx, h.commit("ap-1", 6, apphub.EventStateChanged))
	expect(t, onB, "ap-1", 5, apphub.EventAttributeChanged)
	expect(t, onB, "ap-1", 6, apphub.EventStateChanged)
	expect(t, onA, "ap-1", 6, apphub.EventStateChanged)
	if h.resyncCount() != 1 || counter(t, regB, "apphub_event_bus_resyncs_total") != 1 {
		t.Fatalf("resyncs = %d, metric %v; want 1", h.resyncCount(), counter(t, regB, "apphub_event_bus_resyncs_total"))
	}

	// Publishes from both sides, several appointments at once: per appointment, in order,
	// each version once.
	var pubs sync.WaitGroup
	for i := range 4 {
		pubs.Go(func() {
			id := fmt.Sprintf("ap-%d", 10+i)
			from := []*rediscache.Bus{a, b}[i%2]
			for v := 1; v <= 20; v++ {
				from.PublishEvents(ctx, h.commit(id, v, apphub.EventStateChanged))
			}
		})
	}
	pubs.Wait()
	for _, ch := range []<-chan apphub.Event{onA, onB} {
		last := map[string]int{}
		for range 4 * 20 {
			ev := next(t, ch)
			if ev.Version != last[ev.AppointmentID]+1 {
				t.Fatalf("%s: version %d after %d", ev.AppointmentID, ev.Version, last[ev.AppointmentID])
			}
			last[ev.AppointmentID] = ev.Version
		}
	}
	quiet(t, onA)
	quiet(t, onB)
	if d := counter(t, reg, "apphub_event_bus_duplicates_total"); d < 40 {
		// a got each of its own events twice: at once and from the stream.
		t.Errorf("duplicates on a = %v", d)
	}

	// Calendar changes reach both, once.
	a.PublishCalendarChanged(ctx, "cal-2")
	eventually(t, "the calendar change", func() bool {
		calMu.Lock()
		defer calMu.Unlock()
		return len(calA) > 0 && len(calB) > 0 && calA[len(calA)-1] == "cal-2" && calB[len(calB)-1] == "cal-2"
	})
	time.Sleep(200 * time.Millisecond)
	calMu.Lock()
	if len(calA) != 1 || len(calB) != 1 {
		t.Errorf("calendar callbacks: a %v, b %v; want cal-2 once each", calA, calB)
	}
	calMu.Unlock()

	// Clean shutdown: the subscriptions end with their context, Close stops the readers.
	endSubs()
	for _, ch := range []<-chan apphub.Event{onA, onB} {
		for range ch {
		}
	}
	closing := time.Now()
	a.Close()
	b.Close()
	runs.Wait()
	if d := time.Since(closing); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if _, ok := <-a.Subscribe(ctx); ok {
		t.Error("Subscribe after Close gave an open channel")
	}
	waitGoroutines(t, baseline)
}

// TestBusSlowSubscriber: a subscriber that does not read loses events (counted); the others
// and the dispatcher go on.
func TestBusSlowSubscriber(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	b, reg := newBus(t, rdb, rediscache.BusOptions{Prefix: prefix, Buffer: 2}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := b.Subscribe(ctx)
	fast := b.Subscribe(ctx)
	h := newHistory()
	for v := 1; v <= 10; v++ {
		b.PublishEvents(ctx, h.commit("ap-1", v, apphub.EventStateChanged))
		expect(t, fast, "ap-1", v, apphub.EventStateChanged)
	}
	if d := counter(t, reg, "apphub_event_bus_dropped_total"); d != 8 {
		t.Errorf("dropped = %v, want 8", d)
	}
	expect(t, slow, "ap-1", 1, apphub.EventStateChanged)
	expect(t, slow, "ap-1", 2, apphub.EventStateChanged)
}

// TestBusReconnectLosesNothing: what is published while a reader is cut off reaches it from
// the stream once it is back, without a resync.
func TestBusReconnectLosesNothing(t *testing.T) {
	// Not parallel: its proxy listens again on the port it had, which another test's listener
	// could take meanwhile.
	rdb, prefix := storetest.Redis(t)
	p := newProxy(t, redisAddr(t))
	h := newHistory()
	a, _ := newBus(t, rdb, rediscache.BusOptions{Prefix: prefix}, nil)
	b, regB := newBus(t, client(t, p.addr), rediscache.BusOptions{Prefix: prefix}, h.resync)
	connected(t, a, b)
	ctx := context.Background()
	onB := b.Subscribe(ctx)
	a.PublishEvents(ctx, h.commit("ap-1", 1, apphub.EventCreated))
	expect(t, onB, "ap-1", 1, apphub.EventCreated)

	p.stop()
	for v := 2; v <= 4; v++ {
		a.PublishEvents(ctx, h.commit("ap-1", v, apphub.EventStateChanged))
	}
	time.Sleep(300 * time.Millisecond)
	p.start()
	for v := 2; v <= 4; v++ {
		expect(t, onB, "ap-1", v, apphub.EventStateChanged)
	}
	// (go-redis may hide a short outage behind its own retries: read errors are not required.)
	if h.resyncCount() != 0 || counter(t, regB, "apphub_event_bus_resyncs_total") != 0 {
		t.Errorf("resyncs %d; want none: the stream kept what was published", h.resyncCount())
	}
}

// TestBusRedisRestart: while Redis is down, a hub's own subscribers still get its events; when
// Redis comes back empty, the readers follow the new stream.
func TestBusRedisRestart(t *testing.T) {
	// Not parallel: it starts Redis again on the port it had, which another test's listener
	// could take meanwhile.
	port := storetest.FreePort(t)
	stop := storetest.StartRedisServer(t, port)
	url := fmt.Sprintf("redis://127.0.0.1:%d", port)
	conn := func() *rediscache.Client {
		rdb, err := rediscache.Connect(url, rediscache.ConnectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	h := newHistory()
	a, regA := newBus(t, conn(), rediscache.BusOptions{Prefix: "hub:"}, nil)
	b, regB := newBus(t, conn(), rediscache.BusOptions{Prefix: "hub:"}, h.resync)
	connected(t, a, b)
	ctx := context.Background()
	onA, onB := a.Subscribe(ctx), b.Subscribe(ctx)
	a.PublishEvents(ctx, h.commit("ap-1", 1, apphub.EventCreated))
	expect(t, onA, "ap-1", 1, apphub.EventCreated)
	expect(t, onB, "ap-1", 1, apphub.EventCreated)

	stop()
	a.PublishEvents(ctx, h.commit("ap-1", 2, apphub.EventStateChanged))
	expect(t, onA, "ap-1", 2, apphub.EventStateChanged)
	if counter(t, regA, "apphub_event_bus_publish_failures_total") != 1 {
		t.Fatalf("failed publishes = %v, want 1", counter(t, regA, "apphub_event_bus_publish_failures_total"))
	}

	eventually(t, "b's reader to notice", func() bool { return counter(t, regB, "apphub_event_bus_read_errors_total") > 0 })
	storetest.StartRedisServer(t, port)
	connected(t, a, b)
	a.PublishEvents(ctx, h.commit("ap-1", 3, apphub.EventStateChanged))
	expect(t, onA, "ap-1", 3, apphub.EventStateChanged)
	// b missed version 2 (published while Redis was down): it reads it through Resync.
	expect(t, onB, "ap-1", 2, apphub.EventStateChanged)
	expect(t, onB, "ap-1", 3, apphub.EventStateChanged)
}

// Availability changes reach the subscribers of every instance, the publisher's at once; a
// calendar change reaches them as "anything may have changed" (no zones); their channels close
// with their context.
func TestBusAvailability(t *testing.T) {
	t.Parallel()
	rdb, prefix := storetest.Redis(t)
	a, _ := newBus(t, rdb, rediscache.BusOptions{Prefix: prefix}, nil)
	b, _ := newBus(t, rdb, rediscache.BusOptions{Prefix: prefix}, nil)
	connected(t, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	onA, onB := a.SubscribeAvailability(ctx), b.SubscribeAvailability(ctx)
	zones := []apphub.ZoneDay{{Zone: "paris-11", Day: day0}, {Zone: "paris-12", Day: day0.Add(24 * time.Hour)}}
	a.PublishAvailabilityChanged(ctx, zones)
	for name, ch := range map[string]<-chan []apphub.ZoneDay{"a": onA, "b": onB} {
		got := next(t, ch)
		if len(got) != 2 || !got[0].Day.Equal(zones[0].Day) || got[1] != (apphub.ZoneDay{Zone: "paris-12", Day: zones[1].Day}) {
			t.Fatalf("%s got %v, want %v", name, got, zones)
		}
	}
	b.PublishCalendarChanged(ctx, "cal-availability")
	for z := next(t, onA); len(z) != 0; z = next(t, onA) { // a's own change comes back from the stream first
	}
	cancel()
	for _, ch := range []<-chan []apphub.ZoneDay{onA, onB} {
		for range ch {
		}
	}
}
