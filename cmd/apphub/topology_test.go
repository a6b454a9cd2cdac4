package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
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
	store     *process
	storeArgs []string // to start it again where the hubs know it
	cluster   *storetest.RedisCluster
	hubs      []*process
	dir       string // the hubs' data directory: it holds only the local key they share
}

// startTopology starts the store on the PostgreSQL database at pgURL (listening on storeAddr,
// "127.0.0.1:0" for any port), the cluster and the hubs (with the variables env and more flags,
// if any).
func startTopology(t *testing.T, hubs int, pgURL, storeAddr string, env []string, flags ...string) *topology {
	t.Helper()
	// The topology tests run side by side on one PostgreSQL (100 connections by default):
	// each store gets 20 of them rather than FerretDB's default of 50.
	u, err := url.Parse(pgURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "20")
	u.RawQuery = q.Encode()
	tp := &topology{storeArgs: []string{"store", "--listen", storeAddr, "--postgresql-url", u.String()}, dir: t.TempDir()}
	tp.startStore(t)
	tp.cluster = storetest.StartRedisCluster(t, 3, 1, "--cluster-node-timeout", "1000")
	for i := range hubs {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", tp.dir, "--mongodb-uri", tp.store.url,
			"--redis-url", tp.cluster.URL(), "--rate-write", "off", "--rate-search", "off"}
		args = append(args, flags...)
		if i == 0 {
			args = append(args, "--demo") // the calendar, loaded before the first hub serves
		}
		h := startProcessEnv(t, env, args...)
		if h.url == "" {
			t.Fatalf("hub %d did not start:\n%s", i, h.logs.String())
		}
		tp.hubs = append(tp.hubs, h)
	}
	return tp
}

func (tp *topology) startStore(t *testing.T) {
	t.Helper()
	tp.store = startProcess(t, tp.storeArgs...)
	if tp.store.url == "" {
		t.Fatalf("the store did not start:\n%s", tp.store.logs.String())
	}
}

func (tp *topology) token(t *testing.T, party, role string) string {
	return mintToken(t, tp.dir, party, role)
}

// Over the topology: 60 bookings of one slot at once, spread over three hubs, give exactly its
// capacity of 201s, the others 409; and a subscription on the third hub receives the changes
// made on the other two, each once and in order.
func TestTopologyThreeHubs(t *testing.T) {
	t.Parallel()
	tp := startTopology(t, 3, storetest.PostgreSQL(t), "127.0.0.1:0", nil)
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
			t.Errorf("60 bookings of %s (capacity %d) over three hubs: %v, want %d 201s and the rest 409; the store's log ends:\n%s",
				race.what, race.capacity, codes, race.capacity, tail(tp.store.logs.String(), 3000))
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
	codes, logged := map[int]int{}, map[int]bool{}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, hubs[i%len(hubs)].url+"/tmf-api/appointment/v4/appointment", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			<-gate
			resp, err := http.DefaultClient.Do(req)
			code, answer := -1, fmt.Sprint(err)
			if err == nil {
				code = resp.StatusCode
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				answer = string(raw)
			}
			mu.Lock()
			codes[code]++
			if code != http.StatusCreated && code != http.StatusConflict && !logged[code] {
				logged[code] = true
				t.Logf("an answer %d: %.300s", code, answer)
			}
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return codes
}

// Outages of the shared engines, no hub restarted: a Redis master killed (its replica takes
// over): searches go on, never offering a booked slot; PostgreSQL stopped, then the store
// process killed: readiness 503, bookings UNAVAILABLE with nothing half-written; each back: the
// hubs recover by themselves.
func TestTopologyOutages(t *testing.T) {
	t.Parallel()
	pg := storetest.StartPostgreSQLServer(t)
	pg.CreateDatabase("apphub")
	tp := startTopology(t, 2, pg.URL("apphub"), fmt.Sprintf("127.0.0.1:%d", storetest.FreePort(t)), nil)
	a, b := tp.hubs[0], tp.hubs[1]
	admin := tp.token(t, adminParty, apphub.RoleAdmin)
	from := testclock.Now().Add(48 * time.Hour)
	const search = `query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
		days { slots { start resources { resource { id } } } } } }`
	slots := func(base string) (map[string]bool, error) {
		d := gqlRaw(t, base, admin, search, map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)})
		if d["errors"] != nil {
			return nil, fmt.Errorf("%v", d["errors"])
		}
		offered := map[string]bool{}
		for _, day := range dig(d, "data", "availability", "days").([]any) {
			for _, s := range dig(day, "slots").([]any) {
				for _, r := range dig(s, "resources").([]any) {
					offered[dig(r, "resource", "id").(string)+"@"+dig(s, "start").(string)] = true
				}
			}
		}
		return offered, nil
	}
	book := func(base string, at, tech string) (string, string) {
		d := gqlRaw(t, base, admin, `mutation($s: Time!, $r: ID!) { bookAppointment(input: {customer: "outage-1", category: "repair", place: "75011", resource: $r, start: $s}) {
			appointment { id } error { code } } }`, map[string]any{"s": at, "r": tech})
		id, _ := dig(d, "data", "bookAppointment", "appointment", "id").(string)
		code, _ := dig(d, "errors", 0, "extensions", "code").(string)
		if code == "" {
			code, _ = dig(d, "data", "bookAppointment", "error", "code").(string)
		}
		return id, code
	}
	first := func() (at, tech string) { // the first free slot and its first technician
		d := gql(t, a.url, admin, search, map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)})
		slot := dig(d, "availability", "days", 0, "slots", 0)
		if slot == nil {
			t.Fatalf("no free slot: %v", d)
		}
		return dig(slot, "start").(string), dig(slot, "resources", 0, "resource", "id").(string)
	}

	// A Redis master dies: its replica takes over; meanwhile and after, B's searches answer and
	// never offer the slot A booked.
	at, tech := first()
	if id, code := book(a.url, at, tech); id == "" {
		t.Fatalf("booking before the failover: %s", code)
	}
	tp.cluster.Nodes[0].Kill()
	deadline := time.Now().Add(8 * time.Second)
	for n := 0; time.Now().Before(deadline); n++ {
		offered, err := slots(b.url)
		if err != nil {
			t.Fatalf("search %d during the failover: %v", n, err)
		}
		if offered[tech+"@"+at] {
			t.Fatalf("search %d during the failover offers the booked slot %s@%s", n, tech, at)
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitReady(t, b.url, http.StatusOK, "ready", 30*time.Second)
	at, tech = first()
	if id, code := book(b.url, at, tech); id == "" {
		t.Fatalf("booking after the failover: %s", code)
	}
	if offered, err := slots(a.url); err != nil || offered[tech+"@"+at] {
		t.Fatalf("after the failover A offers the slot B booked (%v)", err)
	}

	// PostgreSQL stops, then the store process dies: each time the hubs say they are not ready
	// and refuse bookings as UNAVAILABLE, writing nothing; once it is back they serve again.
	for _, outage := range []struct {
		what       string
		stop, back func()
	}{
		{"PostgreSQL stopped", pg.Stop, pg.Start},
		{"the store process killed", func() { tp.store.cmd.Process.Kill(); <-tp.store.done }, func() { tp.startStore(t) }},
	} {
		at, tech = first()
		outage.stop()
		waitReady(t, a.url, http.StatusServiceUnavailable, "unavailable", 30*time.Second)
		if id, code := book(b.url, at, tech); id != "" || code != "UNAVAILABLE" {
			t.Fatalf("%s: a booking answered %q %q, want UNAVAILABLE", outage.what, id, code)
		}
		outage.back()
		for _, h := range tp.hubs {
			waitReady(t, h.url, http.StatusOK, "ready", 60*time.Second)
		}
		// Nothing of the refused booking was kept: the slot is offered, and booked now.
		if offered, err := slots(a.url); err != nil || !offered[tech+"@"+at] {
			t.Fatalf("%s, then back: the slot refused during the outage is not offered (%v)", outage.what, err)
		}
		if id, code := book(b.url, at, tech); id == "" {
			t.Fatalf("%s, then back: booking: %s", outage.what, code)
		}
	}
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string { return s[max(0, len(s)-n):] }

// deliveries records what a partner's listeners receive: every delivery, duplicates included.
type deliveries struct {
	mu  sync.Mutex
	got map[string][]delivery // listener → deliveries in arrival order
}

type delivery struct{ eventID, appointment, status string }

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var env struct {
		EventID string
		Event   struct{ Appointment struct{ ID, Status string } }
	}
	json.NewDecoder(r.Body).Decode(&env)
	// TMF646 posts to the callback's /listener/<eventType>.
	listener, _, _ := strings.Cut(r.URL.Path, "/listener/")
	d.mu.Lock()
	d.got[listener] = append(d.got[listener], delivery{env.EventID, env.Event.Appointment.ID, env.Event.Appointment.Status})
	d.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func (d *deliveries) of(listener string) []delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got[listener])
}

// Three hubs deliver TMF646 notifications together: each registration receives each event of
// appointments changed through all three exactly once, and an appointment's in the order they
// happened.
func TestTopologyNotifications(t *testing.T) {
	t.Parallel()
	tp := startTopology(t, 3, storetest.PostgreSQL(t), "127.0.0.1:0", nil, "--notify-allow", "127.0.0.1/32")
	admin := tp.token(t, adminParty, apphub.RoleAdmin)
	l := &deliveries{got: map[string][]delivery{}}
	partner := httptest.NewServer(l)
	defer partner.Close()
	api := func(i int) string { return tp.hubs[i%len(tp.hubs)].url + "/tmf-api/appointment/v4/" }
	listeners := []string{"/one", "/two"}
	for i, name := range listeners {
		if code, out := tmf(t, admin, "POST", api(i)+"hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL+name)); code != 201 {
			t.Fatalf("registration %s: %d %v", name, code, out)
		}
	}

	// Six appointments, each booked, confirmed and cancelled through three different hubs.
	var ids []string
	for i := range 6 {
		start := testclock.Now().Add(time.Duration(48+24*i) * time.Hour).UTC().Truncate(time.Hour)
		code, out := tmf(t, admin, "POST", api(i)+"appointment", "application/json", fmt.Sprintf(`{"validFor":{"startDateTime":%q,"endDateTime":%q},"description":"notified"}`,
			start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339)))
		if code != 201 {
			t.Fatalf("booking: %d %v", code, out)
		}
		ids = append(ids, out["id"].(string))
	}
	merge := "application/merge-patch+json"
	for step, status := range []string{"confirmed", "cancelled"} {
		for i, id := range ids {
			if code, out := tmf(t, admin, "PATCH", api(i+1+step)+"appointment/"+id, merge, fmt.Sprintf(`{"status":%q}`, status)); code != 200 {
				t.Fatalf("%s: %d %v", status, code, out)
			}
		}
	}

	want := 3 * len(ids) // created, confirmed, cancelled
	deadline := time.Now().Add(60 * time.Second)
	for (len(l.of("/one")) < want || len(l.of("/two")) < want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would come now
	for _, name := range listeners {
		seen := map[string]bool{}
		order := map[string][]string{}
		for _, e := range l.of(name) {
			if seen[e.eventID] {
				t.Errorf("%s received event %s (%s of %s) twice", name, e.eventID, e.status, e.appointment)
			}
			seen[e.eventID] = true
			order[e.appointment] = append(order[e.appointment], e.status)
		}
		if len(seen) != want {
			t.Errorf("%s received %d events, want %d", name, len(seen), want)
		}
		for _, id := range ids {
			if fmt.Sprint(order[id]) != "[initialized confirmed cancelled]" {
				t.Errorf("%s received %s's events as %v, want initialized, confirmed, cancelled in that order", name, id, order[id])
			}
		}
	}
}
