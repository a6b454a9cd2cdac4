package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/storetest"
)

// gridEnv is a hub served over HTTP (the real Redis for the cache, an in-process bus) whose
// callers are all customer, with room for many websockets and subscriptions.
type gridEnv struct {
	tb  testing.TB
	svc *booking.Service
	r   *resolvers.Resolver
	url string
}

func newGridEnv(tb testing.TB) *gridEnv {
	tb.Helper()
	bus := &localBus{subs: map[chan apphub.Event]bool{}, avail: map[chan []apphub.ZoneDay]bool{}}
	rdb, prefix := storetest.Redis(tb)
	svc := booking.NewService(storetest.Mongo(tb), booking.Options{Now: func() time.Time { return now }, Publisher: bus,
		Cache: storetest.Cache(tb, rdb, prefix)})
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	r := &resolvers.Resolver{Service: svc, Events: bus, Logger: logger}
	h := resolvers.NewHandler(r, logger, resolvers.Options{KeepAlive: time.Minute,
		MaxConnectionsPerPrincipal: 1000, MaxSubscriptionsPerConnection: 100})
	srv := httptest.NewServer(resolvers.WithPrincipal(h, customer))
	tb.Cleanup(srv.Close)
	return &gridEnv{tb: tb, svc: svc, r: r, url: srv.URL}
}

// gridSelection is a client's grid: every slot with its resources, 14 days of it about 28 KB.
const gridSelection = `version days { date slots { start end capacity resources { resource { id } capacity } } }`

func gridSubscription(selection string) string {
	return `subscription($in: AvailabilityInput!) { availabilityChanged(input: $in) { ` + selection + ` } }`
}

// gridInput is the repair grid at 75011 over days days from a day ahead, as variables.
func gridInput(days int) map[string]any {
	from := now.Add(24 * time.Hour)
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	return map[string]any{"in": map[string]any{"category": "repair", "place": "75011",
		"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}}
}

// bookFirstOffered books, as other, the first slot a grid response offers on its first
// resource.
func (e *gridEnv) bookFirstOffered(payload json.RawMessage) {
	e.tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		e.tb.Fatal(err)
	}
	slot := get(m, "data.availabilityChanged.days.0.slots.0")
	start, _ := time.Parse(time.RFC3339, get(slot, "start").(string))
	tech := get(slot, "resources.0.resource.id").(string)
	if _, err := e.svc.Book(ctxAs(other), booking.NewAppointment{Category: "repair", Place: "75011", Resource: tech, Start: start}); err != nil {
		e.tb.Fatal(err)
	}
}

// gridConn is a graphql-transport-ws client that keeps the payloads as sent.
type gridConn struct {
	tb testing.TB
	c  *coderws.Conn
}

func dialGrid(tb testing.TB, url string) *gridConn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := coderws.Dial(ctx, strings.Replace(url, "http://", "ws://", 1), &coderws.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadLimit(1 << 22)
	tb.Cleanup(func() { c.CloseNow() })
	g := &gridConn{tb: tb, c: c}
	g.send(map[string]any{"type": "connection_init"})
	if typ, _, _ := g.read(); typ != "connection_ack" {
		tb.Fatalf("got %s, want connection_ack", typ)
	}
	return g
}

func (g *gridConn) send(m map[string]any) {
	g.tb.Helper()
	b, _ := json.Marshal(m)
	if err := g.c.Write(context.Background(), coderws.MessageText, b); err != nil {
		g.tb.Fatal(err)
	}
}

func (g *gridConn) subscribe(id, doc string, vars map[string]any) {
	g.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": doc, "variables": vars}})
}

// read returns the next message other than a keep-alive (the bound only keeps a broken test
// from hanging).
func (g *gridConn) read() (typ, id string, payload json.RawMessage) {
	g.tb.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, b, err := g.c.Read(ctx)
		cancel()
		if err != nil {
			g.tb.Fatalf("read: %v", err)
		}
		var m struct {
			Type    string          `json:"type"`
			ID      string          `json:"id"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			g.tb.Fatal(err)
		}
		if m.Type != "ping" && m.Type != "pong" {
			return m.Type, m.ID, m.Payload
		}
	}
}

// nextOfEach returns the next result of each of the subscriptions ids, by id.
func (g *gridConn) nextOfEach(ids []string) map[string]json.RawMessage {
	g.tb.Helper()
	got := make(map[string]json.RawMessage, len(ids))
	for len(got) < len(ids) {
		typ, id, payload := g.read()
		if typ != "next" {
			g.tb.Fatalf("got %s for %s: %s", typ, id, payload)
		}
		if _, dup := got[id]; dup {
			g.tb.Fatalf("subscription %s got two results", id)
		}
		got[id] = payload
	}
	return got
}

// Many subscribers of one grid with the same document get the same bytes, built once.
func TestGridSubscribersShareOneResponse(t *testing.T) {
	t.Parallel()
	e := newGridEnv(t)
	const conns, perConn = 10, 20
	doc, vars := gridSubscription(gridSelection), gridInput(14)
	ids := make([]string, perConn)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	cs := make([]*gridConn, conns)
	for i := range cs {
		cs[i] = dialGrid(t, e.url)
		for _, id := range ids {
			cs[i].subscribe(id, doc, vars)
		}
	}
	receive := func() json.RawMessage {
		t.Helper()
		var first json.RawMessage
		for i, c := range cs {
			for id, payload := range c.nextOfEach(ids) {
				if first == nil {
					first = payload
				}
				if !bytes.Equal(payload, first) {
					t.Fatalf("connection %d, subscription %s: a response of its own:\n%s\nwant\n%s", i, id, payload, first)
				}
			}
		}
		return first
	}
	grid := receive()
	if n := resolvers.GridWatchers(e.r); n != 1 {
		t.Fatalf("%d watchers, want 1", n)
	}
	for booking := range 2 {
		before := resolvers.GridEncodings(e.r)
		e.bookFirstOffered(grid)
		next := receive()
		if bytes.Equal(next, grid) {
			t.Fatalf("booking %d: the same grid again", booking)
		}
		if n := resolvers.GridEncodings(e.r) - before; n != 1 {
			t.Fatalf("booking %d: the grid was marshalled %d times for %d subscribers, want once", booking, n, conns*perConn)
		}
		grid = next
	}
}

// Subscribers of one grid that select differently each get the response to their document:
// the one a query of the same selection answers.
func TestGridSubscribersWithOtherSelections(t *testing.T) {
	t.Parallel()
	e := newGridEnv(t)
	selections := []string{gridSelection, `days { date slots { start } }`, `nextDates version days { slots { capacity } }`}
	vars := gridInput(14)
	const perDoc = 5
	c := dialGrid(t, e.url)
	var ids []string
	for i, sel := range selections {
		for j := range perDoc {
			id := fmt.Sprintf("%d.%d", i, j)
			ids = append(ids, id)
			c.subscribe(id, gridSubscription(sel), vars)
		}
	}
	c.nextOfEach(ids)
	if n := resolvers.GridWatchers(e.r); n != 1 {
		t.Fatalf("%d watchers, want 1", n)
	}
	// The grid of the first selection, from a subscriber of its own.
	d := dialGrid(t, e.url)
	d.subscribe("1", gridSubscription(gridSelection), vars)
	_, _, grid := d.read()
	before := resolvers.GridEncodings(e.r)
	e.bookFirstOffered(grid)
	got := c.nextOfEach(ids)
	if n := resolvers.GridEncodings(e.r) - before; n != int64(len(selections)) {
		t.Fatalf("%d responses built for %d documents, want one each", n, len(selections))
	}
	for i, sel := range selections {
		want := e.query(`query($in: AvailabilityInput!) { availabilityChanged: availability(input: $in) { `+sel+` } }`, vars)
		for j := range perDoc {
			var m map[string]any
			if err := json.Unmarshal(got[fmt.Sprintf("%d.%d", i, j)], &m); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("selection %d, subscriber %d got\n%v\nwant\n%v", i, j, m, want)
			}
		}
	}
}

// query posts a query and returns its response, decoded.
func (e *gridEnv) query(doc string, vars map[string]any) map[string]any {
	e.tb.Helper()
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	resp, err := http.Post(e.url, "application/json", bytes.NewReader(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.tb.Fatal(err)
	}
	if m["errors"] != nil {
		e.tb.Fatalf("query: %v", m["errors"])
	}
	return m
}
