package resolvers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
)

// localBus is an in-process event bus for these transport tests: what the booking service
// publishes reaches every subscriber. (The Redis bus between instances has its own tests.)
type localBus struct {
	mu    sync.Mutex
	subs  map[chan apphub.Event]bool
	avail map[chan []apphub.ZoneDay]bool
}

func (b *localBus) PublishEvents(ctx context.Context, evs []apphub.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		for _, e := range evs {
			ch <- e
		}
	}
	return nil
}

func (b *localBus) PublishCalendarChanged(context.Context, string) {}

func (b *localBus) PublishAvailabilityChanged(ctx context.Context, zones []apphub.ZoneDay) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.avail {
		ch <- zones
	}
}

func (b *localBus) Subscribe(ctx context.Context) <-chan apphub.Event {
	return subscribe(ctx, &b.mu, b.subs)
}

func (b *localBus) SubscribeAvailability(ctx context.Context) <-chan []apphub.ZoneDay {
	return subscribe(ctx, &b.mu, b.avail)
}

func subscribe[T any](ctx context.Context, mu *sync.Mutex, subs map[chan T]bool) <-chan T {
	ch := make(chan T, 256)
	mu.Lock()
	subs[ch] = true
	mu.Unlock()
	context.AfterFunc(ctx, func() {
		mu.Lock()
		delete(subs, ch)
		mu.Unlock()
		close(ch)
	})
	return ch
}

type subEnv struct {
	svc *booking.Service
	db  *mongodb.DB
	srv *httptest.Server
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	bus := &localBus{subs: map[chan apphub.Event]bool{}, avail: map[chan []apphub.ZoneDay]bool{}}
	db := storetest.Mongo(t)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return now }, Publisher: bus})
	if err := svc.SaveCalendar(context.Background(), demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	h := resolvers.NewHandler(&resolvers.Resolver{Service: svc, Events: bus}, slog.New(slog.DiscardHandler), resolvers.Options{KeepAlive: time.Second})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &subEnv{svc: svc, db: db, srv: srv}
}

// wsClient speaks one of the two websocket subprotocols.
type wsClient struct {
	t        *testing.T
	c        *coderws.Conn
	protocol string
}

func dialWS(t *testing.T, url, protocol string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := coderws.Dial(ctx, strings.Replace(url, "http://", "ws://", 1), &coderws.DialOptions{Subprotocols: []string{protocol}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != protocol {
		t.Fatalf("negotiated %q, want %q", c.Subprotocol(), protocol)
	}
	w := &wsClient{t: t, c: c, protocol: protocol}
	w.send(map[string]any{"type": "connection_init"})
	if m := w.read(); m["type"] != "connection_ack" {
		t.Fatalf("got %v, want connection_ack", m)
	}
	return w
}

func (w *wsClient) send(m map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	if err := w.c.Write(context.Background(), coderws.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() map[string]any {
	w.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := w.c.Read(ctx)
		cancel()
		if err != nil {
			w.t.Fatalf("read: %v", err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if m["type"] == "ka" || m["type"] == "ping" || m["type"] == "pong" {
			continue // keep-alives
		}
		return m
	}
}

func (w *wsClient) subscribe(id, query string, vars map[string]any) {
	typ := "subscribe"
	if w.protocol == "graphql-ws" {
		typ = "start"
	}
	w.send(map[string]any{"id": id, "type": typ, "payload": map[string]any{"query": query, "variables": vars}})
}

// next returns the data of the next result.
func (w *wsClient) next() map[string]any {
	w.t.Helper()
	m := w.read()
	want := "next"
	if w.protocol == "graphql-ws" {
		want = "data"
	}
	if m["type"] != want {
		w.t.Fatalf("got %v, want a %s message", m, want)
	}
	data, _ := get(m, "payload.data").(map[string]any)
	return data
}

const changeDoc = `subscription($id: ID) { appointmentChanged(id: $id) { kind version fields appointment { id status version } } }`

func TestAppointmentChangedOverBothWebsocketProtocols(t *testing.T) {
	t.Parallel()
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			e := newSubEnv(t)
			ctx := context.Background()
			a, err := e.svc.Book(ctx, booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			w := dialWS(t, e.srv.URL, protocol)
			w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
			if d := w.next(); get(d, "appointmentChanged.kind") != "CURRENT" || get(d, "appointmentChanged.version") != float64(1) {
				t.Fatalf("first: %v", d)
			}
			if _, err := e.svc.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed}); err != nil {
				t.Fatal(err)
			}
			desc := "gate code 1234"
			if _, err := e.svc.Update(ctx, booking.Update{ID: a.ID, Description: &desc}); err != nil {
				t.Fatal(err)
			}
			d := w.next()
			if get(d, "appointmentChanged.kind") != apphub.EventStateChanged || get(d, "appointmentChanged.version") != float64(2) ||
				get(d, "appointmentChanged.appointment.status") != "CONFIRMED" {
				t.Fatalf("second: %v", d)
			}
			d = w.next()
			if get(d, "appointmentChanged.kind") != apphub.EventAttributeChanged || get(d, "appointmentChanged.version") != float64(3) ||
				get(d, "appointmentChanged.fields.0") != "description" {
				t.Fatalf("third: %v", d)
			}
			w.c.Close(coderws.StatusNormalClosure, "")
		})
	}
}

// A subscriber that missed versions gets them from MongoDB, in order, once.
func TestAppointmentChangedFillsGaps(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	ctx := context.Background()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w := dialWS(t, e.srv.URL, "graphql-transport-ws")
	w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
	w.next()
	// Two changes made by a service whose events never reach this hub, then one that does.
	silent := booking.NewService(e.db, booking.Options{Now: func() time.Time { return now }})
	for _, d := range []string{"one", "two"} {
		if _, err := silent.Update(ctx, booking.Update{ID: a.ID, Description: &d}); err != nil {
			t.Fatal(err)
		}
	}
	three := "three"
	if _, err := e.svc.Update(ctx, booking.Update{ID: a.ID, Description: &three}); err != nil {
		t.Fatal(err)
	}
	for v := 2; v <= 4; v++ {
		if d := w.next(); get(d, "appointmentChanged.version") != float64(v) {
			t.Fatalf("got %v, want version %d", d, v)
		}
	}
}

func TestAvailabilityChangedOverSSE(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A window of two hours from the first repair slot a day ahead, wherever the clock is.
	res, err := e.svc.Search(ctx, booking.SlotQuery{Category: "repair", Place: "75011", From: now.Add(24 * time.Hour), To: now.Add(8 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("no repair slot in the week: %v", err)
	}
	from := res.Days[0].Slots[0].Start
	to := from.Add(2 * time.Hour)
	body, _ := json.Marshal(map[string]any{
		"query":     `subscription($in: AvailabilityInput!) { availabilityChanged(input: $in) { days { slots { start capacity resources { resource { id } } } } } }`,
		"variables": map[string]any{"in": map[string]any{"category": "repair", "place": "75011", "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}},
	})
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan map[string]any)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				json.Unmarshal([]byte(data), &m)
				events <- m
			}
		}
		close(events)
	}()
	nextGrid := func() map[string]any {
		select {
		case m := <-events:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
			return nil
		}
	}
	first := nextGrid()
	slot := get(first, "data.availabilityChanged.days.0.slots.0")
	capacity := get(slot, "capacity").(float64)
	start, _ := time.Parse(time.RFC3339, get(slot, "start").(string))
	tech := get(slot, "resources.0.resource.id").(string)
	if _, err := e.svc.Book(context.Background(), booking.NewAppointment{Category: "repair", Place: "75011", Resource: tech, Start: start}); err != nil {
		t.Fatal(err)
	}
	second := nextGrid()
	if offered(second, start, tech) {
		t.Fatalf("after booking %s at %s the grid still offers it: %v (capacity was %v)", tech, start, second, capacity)
	}
	// A hold takes the time too: the grid updates without any appointment event.
	slot = get(second, "data.availabilityChanged.days.0.slots.0")
	start, _ = time.Parse(time.RFC3339, get(slot, "start").(string))
	tech = get(slot, "resources.0.resource.id").(string)
	if _, err := e.svc.Hold(context.Background(), booking.HoldRequest{Category: "repair", Place: "75011", Resource: tech, Start: start}); err != nil {
		t.Fatal(err)
	}
	if third := nextGrid(); offered(third, start, tech) {
		t.Fatalf("after holding %s at %s the grid still offers it: %v", tech, start, third)
	}
}

// offered reports whether a grid offers start on resource.
func offered(grid map[string]any, start time.Time, resource string) bool {
	for _, d := range get(grid, "data.availabilityChanged.days").([]any) {
		for _, s := range get(d, "slots").([]any) {
			for _, r := range get(s, "resources").([]any) {
				if get(s, "start") == start.Format(time.RFC3339) && get(r, "resource.id") == resource {
					return true
				}
			}
		}
	}
	return false
}

// Closing the client ends the subscription and its goroutines.
func TestSubscriptionsEndWhenTheClientLeaves(t *testing.T) {
	// Not parallel: it counts the goroutines of the whole process.
	e := newSubEnv(t)
	ctx := context.Background()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 5 {
		w := dialWS(t, e.srv.URL, "graphql-transport-ws")
		w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
		w.next()
		w.c.Close(coderws.StatusNormalClosure, "bye")
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the subscriptions:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
