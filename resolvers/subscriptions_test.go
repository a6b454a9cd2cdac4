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
	t   *testing.T
	svc *booking.Service
	db  *mongodb.DB
	bus *localBus
	h   http.Handler // the GraphQL handler, before a principal is set
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	return newSubEnvWith(t, booking.Options{}, resolvers.Options{})
}

// newSubEnvWith is a hub on its own stores and bus, with the demo calendar and the clock
// stopped at now; bopts and ropts add to the defaults.
func newSubEnvWith(t *testing.T, bopts booking.Options, ropts resolvers.Options) *subEnv {
	t.Helper()
	bus := &localBus{subs: map[chan apphub.Event]bool{}, avail: map[chan []apphub.ZoneDay]bool{}}
	db := storetest.Mongo(t)
	bopts.Now, bopts.Publisher = func() time.Time { return now }, bus
	svc := booking.NewService(db, bopts)
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	if ropts.KeepAlive == 0 {
		ropts.KeepAlive = time.Second
	}
	h := resolvers.NewHandler(&resolvers.Resolver{Service: svc, Events: bus}, slog.New(slog.DiscardHandler), ropts)
	return &subEnv{t: t, svc: svc, db: db, bus: bus, h: h}
}

// bookAhead books the customer an appointment two days from now.
func (e *subEnv) bookAhead() apphub.Appointment {
	e.t.Helper()
	a, err := e.svc.Book(ctxAs(customer), booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// url starts a server of the hub whose requests call as p (an upgrade request's principal is
// the websocket's unless its connection_init names another) and returns its URL.
func (e *subEnv) url(p apphub.Principal) string {
	srv := httptest.NewServer(resolvers.WithPrincipal(e.h, p))
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// wsClient speaks one of the two websocket subprotocols.
type wsClient struct {
	t        *testing.T
	c        *coderws.Conn
	protocol string
}

func dialWS(t *testing.T, url, protocol string) *wsClient {
	t.Helper()
	w := openWS(t, url, protocol, nil)
	if m := w.read(); m["type"] != "connection_ack" {
		t.Fatalf("got %v, want connection_ack", m)
	}
	return w
}

// openWS opens a websocket and sends connection_init with payload (none when nil), without
// waiting for the answer.
func openWS(t *testing.T, url, protocol string, payload map[string]any) *wsClient {
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
	init := map[string]any{"type": "connection_init"}
	if payload != nil {
		init["payload"] = payload
	}
	w.send(init)
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
			ctx := ctxAs(customer)
			a, err := e.svc.Book(ctx, booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			w := dialWS(t, e.url(customer), protocol)
			w.subscribe("1", changeDoc, map[string]any{"id": a.ID})
			if d := w.next(); get(d, "appointmentChanged.kind") != "CURRENT" || get(d, "appointmentChanged.version") != float64(1) {
				t.Fatalf("first: %v", d)
			}
			if _, err := e.svc.SetStatus(ctxAs(admin), booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed}); err != nil {
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
	ctx := ctxAs(customer)
	a, err := e.svc.Book(ctx, booking.NewAppointment{Start: now.Add(48 * time.Hour), End: now.Add(49 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	w := dialWS(t, e.url(customer), "graphql-transport-ws")
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
	ctx, cancel := context.WithCancel(ctxAs(customer))
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
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url(customer), strings.NewReader(string(body)))
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
	// Another customer books: the grid of everyone changes.
	if _, err := e.svc.Book(ctxAs(other), booking.NewAppointment{Category: "repair", Place: "75011", Resource: tech, Start: start}); err != nil {
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
	if _, err := e.svc.Hold(ctxAs(other), booking.HoldRequest{Category: "repair", Place: "75011", Resource: tech, Start: start}); err != nil {
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
	a := e.bookAhead()
	url := e.url(customer)
	before := runtime.NumGoroutine()
	for range 5 {
		w := dialWS(t, url, "graphql-transport-ws")
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
