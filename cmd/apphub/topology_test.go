package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// topology is the production topology of docs/deploy.md on one machine: hub processes (this
// test binary as `apphub serve`) over one `apphub store` process on a PostgreSQL database of
// their own and a Redis Cluster of three masters and three replicas.
type topology struct {
	store *process
	hubs  []*process
	dir   string // the hubs' data directory: it holds only the local key they share
}

func startTopology(t *testing.T, hubs int) *topology {
	t.Helper()
	pg := storetest.PostgreSQL(t)
	store := startProcess(t, "store", "--listen", "127.0.0.1:0", "--postgresql-url", pg)
	if store.url == "" {
		t.Fatalf("the store did not start:\n%s", store.logs.String())
	}
	cluster := storetest.StartRedisCluster(t, 3, 1, "--cluster-node-timeout", "1000")
	tp := &topology{store: store, dir: t.TempDir()}
	for i := range hubs {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", tp.dir, "--mongodb-uri", store.url,
			"--redis-url", cluster.URL(), "--rate-write", "off", "--rate-search", "off"}
		if i == 0 {
			args = append(args, "--demo") // the calendar, loaded before the first hub serves
		}
		h := startProcess(t, args...)
		if h.url == "" {
			t.Fatalf("hub %d did not start:\n%s", i, h.logs.String())
		}
		tp.hubs = append(tp.hubs, h)
	}
	return tp
}

func (tp *topology) token(t *testing.T, party, role string) string {
	return mintToken(t, tp.dir, party, role)
}

// Over the topology: 60 bookings of one slot at once, spread over three hubs, give exactly its
// capacity of 201s, the others 409; and a subscription on the third hub receives the changes
// made on the other two, each once and in order.
func TestTopologyThreeHubs(t *testing.T) {
	t.Parallel()
	tp := startTopology(t, 3)
	a, b, c := tp.hubs[0], tp.hubs[1], tp.hubs[2]
	admin := tp.token(t, adminParty, apphub.RoleAdmin)
	// Every hub logs where its stores are.
	for i, h := range tp.hubs {
		if logs := h.logs.String(); !strings.Contains(logs, `"mongodb":"external `+tp.store.url) || !strings.Contains(logs, `"redis":"external redis://`) {
			t.Errorf("hub %d does not log its stores:\n%s", i, logs)
		}
	}

	// The races: a technician's slot (one seat), and a store's counter (several).
	from := testclock.Now().Add(48 * time.Hour)
	window := map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
	d := gql(t, a.url, admin, `query($from: Time!, $to: Time!) {
		repair: availability(input: {category: "repair", place: "75011", from: $from, to: $to}) { days { slots { start end resources { resource { id } } } } }
		store: availability(input: {category: "storeVisit", place: "store-paris-bastille", from: $from, to: $to}) { days { slots { start end capacity } } } }`, window)
	repair, store := dig(d, "repair", "days", 0, "slots", 0), dig(d, "store", "days", 0, "slots", 0)
	if repair == nil || store == nil {
		t.Fatalf("no slot to race for: %v", d)
	}
	for _, race := range []struct {
		what     string
		capacity int
		body     string
	}{
		{"a technician's slot", 1, fmt.Sprintf(`{"category":"repair","validFor":{"startDateTime":%q,"endDateTime":%q},
			"relatedParty":[{"id":"walk-in","role":"customer","@referredType":"Individual"},{"id":%q,"role":"technician","@referredType":"PartyRole"}],
			"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}}`,
			dig(repair, "start"), dig(repair, "end"), dig(repair, "resources", 0, "resource", "id"))},
		{"a store's counter", int(dig(store, "capacity").(float64)), fmt.Sprintf(`{"category":"storeVisit","validFor":{"startDateTime":%q,"endDateTime":%q},
			"relatedParty":[{"id":"walk-in","role":"customer","@referredType":"Individual"}],
			"relatedPlace":{"id":"store-paris-bastille","role":"store"}}`, dig(store, "start"), dig(store, "end"))},
	} {
		codes := raceOverHubs(t, tp.hubs, admin, 60, race.body)
		t.Logf("60 bookings of %s (capacity %d) over three hubs: %v", race.what, race.capacity, codes)
		if race.capacity < 1 || codes[http.StatusCreated] != race.capacity || codes[http.StatusConflict] != 60-race.capacity {
			t.Errorf("60 bookings of %s (capacity %d) over three hubs: %v, want %d 201s and the rest 409", race.what, race.capacity, codes, race.capacity)
		}
	}

	// Changes on A and B reach C's subscriber once each, in order.
	customer := tp.token(t, "topo-1", apphub.RoleCustomer)
	_, read := subscribeWS(t, c.url, customer, `subscription { appointmentChanged(partyId: "topo-1") { version appointment { id status } } }`)
	start, _ := time.Parse(time.RFC3339, dig(repair, "start").(string))
	var id string
	for day := 2; id == "" && day < 20; day++ {
		// A free slot of its own: the races took the first ones.
		s := start.Add(time.Duration(day) * 24 * time.Hour)
		r := gqlRaw(t, a.url, customer, `mutation($s: Time!) { bookAppointment(input: {category: "repair", place: "75011", start: $s}) { appointment { id } error { code } } }`,
			map[string]any{"s": s.Format(time.RFC3339)})
		id, _ = dig(r, "data", "bookAppointment", "appointment", "id").(string)
	}
	if id == "" {
		t.Fatal("no booking on A")
	}
	gql(t, b.url, admin, `mutation($id: ID!) { confirmAppointment(input: {id: $id, expectedVersion: 1}) { appointment { status } } }`, map[string]any{"id": id})
	gql(t, a.url, customer, `mutation($id: ID!) { cancelAppointment(input: {id: $id, expectedVersion: 2, reason: "moved away"}) { appointment { status } } }`, map[string]any{"id": id})
	for _, want := range []struct {
		version float64
		status  string
	}{{1, "INITIALIZED"}, {2, "CONFIRMED"}, {3, "CANCELLED"}} {
		m := read()
		if m["type"] != "next" || dig(m, "payload", "data", "appointmentChanged", "version") != want.version ||
			dig(m, "payload", "data", "appointmentChanged", "appointment", "status") != want.status {
			t.Fatalf("C's subscriber got %v, want version %v %s", m, want.version, want.status)
		}
	}
}

// raceOverHubs posts body as a TMF646 appointment n times at once, round robin over hubs, and
// counts the answers by status.
func raceOverHubs(t *testing.T, hubs []*process, token string, n int, body string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, hubs[i%len(hubs)].url+"/tmf-api/appointment/v4/appointment", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			<-gate
			resp, err := http.DefaultClient.Do(req)
			code := -1
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return codes
}
