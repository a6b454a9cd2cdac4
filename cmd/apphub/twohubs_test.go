package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	coderws "github.com/coder/websocket"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// twoHubs starts hubs A and B on one MongoDB (an embedded FerretDB of the test) and the real
// Redis, with the demo calendar: two instances behind a load balancer.
func twoHubs(t *testing.T) (a, b *testHub) {
	t.Helper()
	env := sharedStores(t)
	a = startHub(t, env, nil)
	b = startHub(t, env, nil)
	if err := loadDemo(context.Background(), a.hub.svc, a.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// sharedStores is the environment of hubs sharing one MongoDB (an embedded FerretDB of the
// test) and the real Redis under the test's own key prefix, and one data directory: with the
// store outside it, it holds only the local key, which instances of one installation share.
func sharedStores(t *testing.T) map[string]string {
	t.Helper()
	uri, database := storetest.MongoURI(t)
	_, prefix := storetest.Redis(t) // the test's own key prefix, cleaned up at the end
	return map[string]string{"MONGODB_URI": uri, "APPHUB_MONGODB_DATABASE": database, "REDIS_URL": storetest.RedisURL(), "APPHUB_REDIS_PREFIX": prefix,
		"APPHUB_DATA_DIR": t.TempDir()}
}

// gql posts a document with the bearer token (a hub's token(…)) and returns the decoded
// answer's data; GraphQL errors fail the test.
func gql(t *testing.T, base, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out["errors"] != nil {
		t.Fatalf("errors: %v", out["errors"])
	}
	return out["data"].(map[string]any)
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

const availabilityDoc = `query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
	days { slots { start capacity resources { resource { id } } } } } }`

// subscribeWS subscribes to query on hub base over graphql-transport-ws with the bearer token,
// sent as a browser's client sends it (in the connection_init payload: a browser cannot set
// headers on a websocket), and returns the connection and a function that reads its next
// message other than a ping or a pong.
func subscribeWS(t *testing.T, base, token, query string) (*coderws.Conn, func() map[string]any) {
	t.Helper()
	ctx := context.Background()
	ws, _, err := coderws.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/graphql", &coderws.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	send := func(m map[string]any) {
		raw, _ := json.Marshal(m)
		if err := ws.Write(ctx, coderws.MessageText, raw); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]any {
		for {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			_, raw, err := ws.Read(rctx)
			cancel()
			if err != nil {
				t.Fatalf("websocket read: %v", err)
			}
			var m map[string]any
			json.Unmarshal(raw, &m)
			if m["type"] != "ping" && m["type"] != "pong" {
				return m
			}
		}
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	if m := read(); m["type"] != "connection_ack" {
		t.Fatalf("%v", m)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}})
	return ws, read
}

// firstSlot returns the first repair slot at 75011 from two days ahead, by hub h, searched by
// a customer.
func firstSlot(t *testing.T, h *testHub) (start, tech string, capacity float64) {
	t.Helper()
	return firstSlotFrom(t, h, testclock.Now().Add(48*time.Hour))
}

// firstSlotFrom returns the first repair slot at 75011 in the week from from, by hub h. The
// same from is the same search (the window is part of it).
func firstSlotFrom(t *testing.T, h *testHub, from time.Time) (start, tech string, capacity float64) {
	t.Helper()
	d := gql(t, h.url, h.token(t, "searcher", apphub.RoleCustomer), availabilityDoc, map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)})
	slot := dig(d, "availability", "days", 0, "slots", 0)
	if slot == nil {
		t.Fatalf("no slot: %v", d)
	}
	return dig(slot, "start").(string), dig(slot, "resources", 0, "resource", "id").(string), dig(slot, "capacity").(float64)
}

func offers(t *testing.T, h *testHub, start, tech string) bool {
	t.Helper()
	s, _ := time.Parse(time.RFC3339, start)
	d := gql(t, h.url, h.token(t, "searcher", apphub.RoleCustomer), availabilityDoc, map[string]any{"from": start, "to": s.Add(time.Minute).Format(time.RFC3339)})
	resources, _ := dig(d, "availability", "days", 0, "slots", 0, "resources").([]any) // none when the slot is gone
	for _, r := range resources {
		if dig(r, "resource", "id") == tech {
			return true
		}
	}
	return false
}

// After a booking answered on hub A, no search on hub B offers that time, though B's searches
// are served from the Redis cache.
func TestTwoHubsBookingOnAHidesTheTimeOnB(t *testing.T) {
	t.Parallel()
	a, b := twoHubs(t)
	start, tech, _ := firstSlot(t, b)
	// The same search twice: the first computes the answer, the second is served warm from
	// the Redis cache; both must offer the slot.
	for _, search := range []string{"first", "second (warm)"} {
		if !offers(t, b, start, tech) {
			t.Fatalf("B does not offer the slot before the booking (%s search)", search)
		}
	}
	d := gql(t, a.url, a.token(t, "web", apphub.RoleCustomer), `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id } error { code message } } }`, map[string]any{"s": start, "r": tech})
	if dig(d, "bookAppointment", "appointment", "id") == nil {
		t.Fatalf("book on A: %v", d)
	}
	if offers(t, b, start, tech) {
		t.Fatal("B still offers the time booked on A")
	}
}

// A websocket subscriber on hub B receives, in order, the changes of an appointment booked and
// confirmed on hub A; an SSE slot grid on B sees the slot go; B's shutdown ends both.
func TestTwoHubsSubscriptionsAcrossInstances(t *testing.T) {
	// Not parallel: it counts the goroutines of the whole process.
	a, b := twoHubs(t)
	start, tech, capacity := firstSlot(t, b)
	before := runtime.NumGoroutine()

	ctx := context.Background()
	customer := a.token(t, "mobile-42", apphub.RoleCustomer) // B accepts it too: A and B share their data directory
	ws, read := subscribeWS(t, b.url, customer, `subscription { appointmentChanged(partyId: "mobile-42") { kind version appointment { id status } } }`)

	s, _ := time.Parse(time.RFC3339, start)
	body, _ := json.Marshal(map[string]any{
		"query": `subscription($in: AvailabilityInput!) { availabilityChanged(input: $in) { days { slots { start capacity } } } }`,
		"variables": map[string]any{"in": map[string]any{"category": "repair", "place": "75011", "from": start,
			"to": s.Add(time.Minute).Format(time.RFC3339)}}})
	req, _ := http.NewRequest("POST", b.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+customer)
	sse, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Body.Close()
	grids := make(chan map[string]any, 8)
	go func() {
		sc := bufio.NewScanner(sse.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				json.Unmarshal([]byte(data), &m)
				grids <- m
			}
		}
		close(grids)
	}()
	nextGrid := func() map[string]any {
		select {
		case g, ok := <-grids:
			if !ok {
				t.Fatal("event stream ended")
			}
			return g
		case <-time.After(10 * time.Second):
			t.Fatal("no grid within 10s")
			return nil
		}
	}
	if c := dig(nextGrid(), "data", "availabilityChanged", "days", 0, "slots", 0, "capacity"); c != capacity {
		t.Fatalf("first grid capacity %v, want %v", c, capacity)
	}

	d := gql(t, a.url, customer, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id } error { code message } } }`, map[string]any{"s": start, "r": tech})
	id, _ := dig(d, "bookAppointment", "appointment", "id").(string)
	if id == "" {
		t.Fatalf("book on A: %v", d)
	}
	// A customer books; an operator confirms (a customer may not).
	gql(t, a.url, a.token(t, adminParty, apphub.RoleAdmin), `mutation($id: ID!) { confirmAppointment(input: {id: $id, expectedVersion: 1}) { appointment { status } } }`, map[string]any{"id": id})

	for _, want := range []struct {
		version float64
		status  string
	}{{1, "INITIALIZED"}, {2, "CONFIRMED"}} {
		m := read()
		if m["type"] != "next" || dig(m, "payload", "data", "appointmentChanged", "version") != want.version ||
			dig(m, "payload", "data", "appointmentChanged", "appointment", "status") != want.status {
			t.Fatalf("got %v, want version %v %s", m, want.version, want.status)
		}
	}
	grid := nextGrid()
	if c := dig(grid, "data", "availabilityChanged", "days", 0, "slots", 0, "capacity"); c == capacity {
		t.Fatalf("the grid on B still shows capacity %v after the booking on A: %v", c, grid)
	}

	// B shuts down: both subscriptions end, and the hub's goroutines are gone.
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := ws.Read(rctx); err == nil {
		t.Fatal("the websocket is still open after B's shutdown")
	}
	for range grids {
	}
	io.Copy(io.Discard, sse.Body)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after B's shutdown, %d before the subscriptions:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of a counter line of h's /metrics, 0 when absent.
func metric(t *testing.T, h *testHub, name string) float64 {
	t.Helper()
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// Redis dies mid-run and comes back: searches keep answering (from MongoDB), bookings keep
// succeeding, and the cache serves again afterwards.
func TestRedisKilledAndRestarted(t *testing.T) {
	// Not parallel: it starts Redis again on the port it had, which another test's listener
	// could take meanwhile.
	port := storetest.FreePort(t)
	stop := storetest.StartRedisServer(t, port)
	h := startHub(t, map[string]string{"REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d", port)}, nil, "--data-dir", t.TempDir())
	if err := loadDemo(context.Background(), h.hub.svc, h.hub.logger, nil); err != nil {
		t.Fatal(err)
	}
	// The warm search is the first one again: the same window, not one a second later.
	from := testclock.Now().Add(48 * time.Hour)
	start, tech, _ := firstSlotFrom(t, h, from)
	warm(t, h, func() { firstSlotFrom(t, h, from) })

	stop()
	waitReady(t, h.url, 200, "degraded", 30*time.Second)
	if !offers(t, h, start, tech) {
		t.Fatal("search without Redis does not offer the free slot")
	}
	d := gql(t, h.url, h.token(t, "web", apphub.RoleCustomer), `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) {
		appointment { id } error { code message } } }`, map[string]any{"s": start, "r": tech})
	if dig(d, "bookAppointment", "appointment", "id") == nil {
		t.Fatalf("booking without Redis: %v", d)
	}
	if offers(t, h, start, tech) {
		t.Fatal("search without Redis offers the time just booked")
	}
	if metric(t, h, "apphub_busy_cache_fallbacks_total") == 0 {
		t.Fatal("no fallback counted while Redis was down")
	}

	storetest.StartRedisServer(t, port) // an empty Redis on the same port
	waitReady(t, h.url, 200, "ready", 30*time.Second)
	if offers(t, h, start, tech) {
		t.Fatal("after Redis came back the booked time is offered")
	}
	warm(t, h, func() { offers(t, h, start, tech) })
}

// warm runs a search that ran before and checks that it was answered from the cache: under a
// version read from Redis, without reading any busy time. Right after an empty Redis came back
// the version may still move: connections opened at once each find the server unstamped and
// may each replace the epoch (rediscache.RollbackGuard). So the search gets three tries; one
// must be warm.
func warm(t *testing.T, h *testHub, search func()) {
	t.Helper()
	for range 3 {
		versions, misses := metric(t, h, "apphub_busy_cache_versions_total"), metric(t, h, "apphub_busy_cache_misses_total")
		hits := metric(t, h, "apphub_busy_cache_hits_total")
		search()
		if metric(t, h, "apphub_busy_cache_versions_total") > versions && metric(t, h, "apphub_busy_cache_misses_total") == misses &&
			metric(t, h, "apphub_busy_cache_hits_total") == hits {
			return
		}
	}
	t.Fatal("a warm search was not answered under a version from Redis without reading busy time, three times")
}
