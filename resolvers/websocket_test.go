package resolvers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/resolvers"
)

// A client that breaks the protocol is closed with the code its subprotocol names, and what
// it sent runs nothing; graphql-ws clients get a connection_error first.
func TestWebsocketProtocolViolations(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{InitTimeout: 300 * time.Millisecond})
	url := e.url(customer)
	// A subscription that stays running (the caller's own appointments), so that a second
	// one with its id always finds it.
	sub := func(typ, id string) string {
		b, _ := json.Marshal(map[string]any{"type": typ, "id": id, "payload": map[string]any{
			"query": `subscription($p: String) { appointmentChanged(partyId: $p) { kind } }`, "variables": map[string]any{"p": customer.PartyID}}})
		return string(b)
	}
	const init = `{"type":"connection_init"}`
	for _, tc := range []struct {
		name, protocol string
		send           []string // after the upgrade, in order
		close          coderws.StatusCode
	}{
		{"not JSON", "graphql-transport-ws", []string{init, `{"type":`}, 4400},
		{"no type", "graphql-transport-ws", []string{init, `{"id":"1"}`}, 4400},
		{"an unknown type", "graphql-transport-ws", []string{init, `{"type":"start","id":"1"}`}, 4400},
		{"a server's message", "graphql-transport-ws", []string{init, `{"type":"next","id":"1"}`}, 4400},
		{"subscribe before connection_init", "graphql-transport-ws", []string{sub("subscribe", "1")}, resolvers.CloseUnauthorized},
		{"connection_init twice", "graphql-transport-ws", []string{init, init}, 4429},
		{"a subscribe without id", "graphql-transport-ws", []string{init, sub("subscribe", "")}, 4400},
		{"an id already running", "graphql-transport-ws", []string{init, sub("subscribe", "1"), sub("subscribe", "1")}, 4409},
		{"connection_init's payload not an object", "graphql-transport-ws", []string{`{"type":"connection_init","payload":[1]}`}, 4400},
		{"no connection_init in time", "graphql-transport-ws", nil, 4408},
		{"legacy: not JSON", "graphql-ws", []string{init, `]`}, 4400},
		{"legacy: subscribe is not its word", "graphql-ws", []string{init, sub("subscribe", "1")}, 4400},
		{"legacy: start before connection_init", "graphql-ws", []string{sub("start", "1")}, resolvers.CloseUnauthorized},
		{"legacy: no connection_init in time", "graphql-ws", nil, 4408},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := coderws.Dial(ctx, strings.Replace(url, "http://", "ws://", 1), &coderws.DialOptions{Subprotocols: []string{tc.protocol}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			for _, m := range tc.send {
				if err := c.Write(ctx, coderws.MessageText, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					if code := coderws.CloseStatus(err); code != tc.close {
						t.Fatalf("closed with %d (%v), want %d; messages before: %v", code, err, tc.close, got)
					}
					break
				}
				var m map[string]any
				json.Unmarshal(b, &m)
				got = append(got, m["type"].(string))
			}
			// What may come before the close: the ack of a first connection_init, the
			// legacy keep-alive, and graphql-ws's connection_error, which every refusal
			// there has.
			sawError := false
			for _, typ := range got {
				switch {
				case typ == "connection_error" && tc.protocol == "graphql-ws":
					sawError = true
				case typ == "connection_ack", typ == "ka" && tc.protocol == "graphql-ws":
				case typ == "next" && tc.close == 4409:
					// The first subscription's answer may come before the duplicate.
				default:
					t.Fatalf("got %v before the close", got)
				}
			}
			if tc.protocol == "graphql-ws" && tc.close != 4408 && !sawError {
				t.Fatalf("graphql-ws: no connection_error before the close: %v", got)
			}
		})
	}
}

// graphql-transport-ws: a ping is answered with a pong carrying its payload, and the server
// pings every KeepAlive; graphql-ws: "ka" after the ack and every KeepAlive.
func TestWebsocketKeepAlive(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{KeepAlive: 100 * time.Millisecond})
	url := e.url(customer)
	readType := func(t *testing.T, c *coderws.Conn) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}
	t.Run("graphql-transport-ws", func(t *testing.T) {
		w := dialWS(t, url, "graphql-transport-ws")
		defer w.c.CloseNow()
		w.send(map[string]any{"type": "ping", "payload": map[string]any{"n": 7}})
		pings, pong := 0, false
		for pings < 3 || !pong {
			m := readType(t, w.c)
			switch {
			case m["type"] == "pong" && get(m, "payload.n") == float64(7):
				pong = true
			case m["type"] == "ping":
				pings++
				w.send(map[string]any{"type": "pong"})
			default:
				t.Fatalf("got %v", m)
			}
		}
	})
	t.Run("graphql-ws", func(t *testing.T) {
		w := dialWS(t, url, "graphql-ws")
		defer w.c.CloseNow()
		for range 3 {
			if m := readType(t, w.c); m["type"] != "ka" {
				t.Fatalf("got %v, want ka", m)
			}
		}
	})
}

// Idle subscriptions hold no goroutine: one runs only while a subscription's values are
// taken and written. Not parallel: it counts the transport's goroutines in the process.
func TestIdleSubscriptionsHoldNoGoroutine(t *testing.T) {
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{MaxSubscriptionsPerConnection: 100})
	a := e.bookAhead()
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(protocol, func(t *testing.T) {
			w := dialWS(t, e.url(customer), protocol)
			defer w.c.CloseNow()
			const n = 40
			for i := range n {
				w.subscribe(string(rune('a'+i%26))+strings.Repeat("x", i/26), changeDoc, map[string]any{"id": a.ID})
			}
			w.subscribe("grid", `subscription { availabilityChanged(input: {category: "repair", place: "75011"}) { version } }`, nil)
			for range n + 1 {
				w.next()
			}
			waitForNoOperationGoroutine(t)
			desc := "gate code " + protocol
			if _, err := e.svc.Update(ctxAs(customer), booking.Update{ID: a.ID, Description: &desc}); err != nil {
				t.Fatal(err)
			}
			for range n {
				if d := w.next(); get(d, "appointmentChanged.kind") == "CURRENT" {
					t.Fatalf("after the change: %v", d)
				}
			}
			waitForNoOperationGoroutine(t)
		})
	}
}

// waitForNoOperationGoroutine fails unless, within 5 s, no goroutine runs an operation of the
// websocket transport.
func waitForNoOperationGoroutine(t *testing.T) {
	t.Helper()
	var stacks strings.Builder
	for deadline := time.Now().Add(5 * time.Second); ; {
		stacks.Reset()
		pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		if !strings.Contains(stacks.String(), "resolvers.(*wsOp)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines still run operations:\n%s", stacks.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that stops reading is cut off once a message waits longer than the write timeout:
// its subscriptions end, and the others' updates keep flowing.
func TestWebsocketCutsOffAClientThatStopsReading(t *testing.T) {
	t.Parallel()
	e := newSubEnvWith(t, booking.Options{}, resolvers.Options{WebsocketWriteTimeout: 200 * time.Millisecond})
	// Socket buffers of a few kilobytes on both sides (which also stops the kernel growing
	// them): a grid of 28 days cannot be written until the client reads it.
	small := func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			if err == nil {
				err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)
			}
		})
		return err
	}
	srv := httptest.NewUnstartedServer(resolvers.WithPrincipal(e.h, customer))
	srv.Listener = smallBufferListener{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slow, _, err := coderws.Dial(ctx, strings.Replace(srv.URL, "http://", "ws://", 1), &coderws.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPClient:   &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: small}).DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow()
	slow.SetReadLimit(1 << 24)
	send := func(m map[string]any) {
		b, _ := json.Marshal(m)
		if err := slow.Write(ctx, coderws.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	send(map[string]any{"type": "connection_init"})
	if _, b, err := slow.Read(ctx); err != nil || !strings.Contains(string(b), "connection_ack") {
		t.Fatalf("ack: %s %v", b, err)
	}
	const grid = `subscription($from: Time, $to: Time) { availabilityChanged(input: {category: "repair", place: "75011", from: $from, to: $to}) {
		version timeZone days { date slots { start end capacity resources { capacity resource { id name } } } } } }`
	vars := map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(28 * 24 * time.Hour).Format(time.RFC3339)}
	send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": grid, "variables": vars}})
	// Another client is served meanwhile.
	w := dialWS(t, srv.URL, "graphql-transport-ws")
	defer w.c.CloseNow()
	w.subscribe("1", `subscription { availabilityChanged(input: {category: "repair", place: "75011"}) { version } }`, nil)
	w.next()
	// Well past the write timeout, the grid has not gone out and the server gave up: reading
	// now finds the connection cut before the grid's end.
	time.Sleep(3 * time.Second)
	for {
		_, b, err := slow.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("the connection was not cut")
			}
			return
		}
		t.Fatalf("the client that stopped reading got a whole message of %d bytes: it was not cut off", len(b))
	}
}

// smallBufferListener gives its connections socket buffers of a few kilobytes.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
		tc.SetReadBuffer(4096)
	}
	return c, err
}

// Each response of a subscription reads what it shows afresh: an appointment's history grows
// with each change (the request's loaders cache what they read, and a websocket's request
// lasts as long as the connection).
func TestSubscriptionResponsesReadAfresh(t *testing.T) {
	t.Parallel()
	e := newSubEnv(t)
	a := e.bookAhead()
	w := dialWS(t, e.url(customer), "graphql-transport-ws")
	defer w.c.CloseNow()
	w.subscribe("1", `subscription($id: ID) { appointmentChanged(id: $id) { version appointment { history { version } } } }`, map[string]any{"id": a.ID})
	for version := 1; version <= 3; version++ {
		if version > 1 {
			desc := fmt.Sprint("note ", version)
			if _, err := e.svc.Update(ctxAs(customer), booking.Update{ID: a.ID, Description: &desc}); err != nil {
				t.Fatal(err)
			}
		}
		d := w.next()
		history, _ := get(d, "appointmentChanged.appointment.history").([]any)
		if get(d, "appointmentChanged.version") != float64(version) || len(history) != version {
			t.Fatalf("version %d: %v, want a history of %d revisions", version, d, version)
		}
	}
}
