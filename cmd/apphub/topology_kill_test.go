package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// One of three hubs killed (SIGKILL) while all three serve searches and bookings: the other two
// answer every request without an error; the claims of its booking caught between claims and
// commit are reaped after the grace, and the slot is booked again; the notifications it held
// leases on are delivered by the others once the leases ran out; every booking any hub
// acknowledged is kept and notified.
func TestTopologyKill(t *testing.T) {
	t.Parallel()
	// A grace of 12 s: bookings give up after 4 s (a third), the reaper passes every 6 s.
	tp := startTopology(t, 3, storetest.PostgreSQL(t), "127.0.0.1:0", []string{"APPHUB_TEST_FAILPOINT=stall-after-claims"},
		"--notify-allow", "127.0.0.1/32", "--claim-grace", "12s")
	a, b := tp.hubs[0], tp.hubs[1]
	admin := tp.token(t, adminParty, apphub.RoleAdmin)
	instance := regexp.MustCompile(`"instance":"([a-z0-9]+)"`).FindStringSubmatch(a.logs.String())
	if instance == nil {
		t.Fatalf("hub A does not log its instance:\n%s", a.logs.String())
	}
	db, err := mongodb.Open(tp.store.url, "apphub")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())

	// The partner's listener holds every delivery until released, so that every hub holds
	// leases when A dies; a delivery whose hub went away is not counted as received.
	l := &deliveries{got: map[string][]delivery{}}
	holding := make(chan struct{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(holding) }) }
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-holding:
			l.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	defer partner.Close()
	defer release() // before partner.Close, which waits for the requests it holds
	if code, out := tmf(t, admin, "POST", b.url+"/tmf-api/appointment/v4/hub", "application/json", fmt.Sprintf(`{"callback":%q}`, partner.URL+"/kill")); code != 201 {
		t.Fatalf("registration: %d %v", code, out)
	}

	// A booking on A stalls between its claims and its commit: its claims hold the slot.
	from := testclock.Now().Add(48 * time.Hour).Truncate(time.Hour)
	first := gql(t, b.url, admin, killSearch, map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)})
	stalled := killSlot{start: dig(first, "availability", "days", 0, "slots", 0, "start").(string),
		tech: dig(first, "availability", "days", 0, "slots", 0, "resources", 0, "resource", "id").(string)}
	stalledToken := tp.token(t, stalledParty, apphub.RoleCustomer)
	go func() {
		// Answered only by A's death.
		body, _ := json.Marshal(map[string]any{"query": `mutation($s: Time!, $r: ID!) { bookAppointment(input: {category: "repair", place: "75011", resource: $r, start: $s}) { appointment { id } } }`,
			"variables": map[string]any{"s": stalled.start, "r": stalled.tech}})
		killRequest(a.url+"/graphql", stalledToken, body)
	}()
	claimed := stalledClaims(t, db, stalled, 20*time.Second)
	// A crew booking on A stalls too: two technicians' and a splicer's claims, uncommitted.
	crewFirst := gql(t, b.url, admin, strings.Replace(killSearch, `"repair"`, `"buildingFibre"`, 1), map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)})
	crewStart := dig(crewFirst, "availability", "days", 0, "slots", 0, "start").(string)
	go func() {
		body, _ := json.Marshal(map[string]any{"query": `mutation($s: Time!) { bookAppointment(input: {category: "buildingFibre", place: "75011", start: $s}) { appointment { id } } }`,
			"variables": map[string]any{"s": crewStart}})
		killRequest(a.url+"/graphql", stalledToken, body)
	}()
	crewOwner, crewClaims := stalledCrew(t, db, crewStart, 20*time.Second)
	if code, out := tmf(t, admin, "POST", b.url+"/tmf-api/appointment/v4/appointment", "application/json", killBooking(stalled, "before-the-kill")); code != 409 {
		t.Fatalf("booking the slot a stalled booking claimed: %d %v, want 409", code, out)
	}

	// Load on the three: distinct searches (a random three-day window of the next three weeks)
	// and bookings of a slot each found, by two clients per hub.
	var (
		mu     sync.Mutex
		acked  []string // appointments some hub answered 201 for
		failed []string // any other answer than 200, 201 or 409 from B or C
		done   [3]atomic.Int32
	)
	dead := make(chan struct{}) // closed when A is dead: A's clients stop
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, h := range tp.hubs {
		for w := range 2 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				for {
					select {
					case <-stop:
						return
					default:
					}
					id, err := killLoad(h.url, admin, from.Add(time.Duration(rng.IntN(18*24))*time.Hour), rng, fmt.Sprintf("load-%d-%d", i, w))
					mu.Lock()
					switch {
					case err != nil && i == 0 && isClosed(dead):
						mu.Unlock()
						return // A is gone: its clients see its connections refused
					case err != nil:
						failed = append(failed, fmt.Sprintf("hub %d: %v", i, err))
					case id != "":
						acked = append(acked, id)
					}
					mu.Unlock()
					done[i].Add(1)
				}
			})
		}
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// A dies while it holds leases on deliveries (the listener holds them all).
	deadline := time.Now().Add(30 * time.Second)
	for len(leasesOf(t, db, instance[1])) == 0 || done[0].Load() < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("hub A took no notification lease in 30 s (%d requests served)", done[0].Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock() // no answer of A's is counted as acknowledged after this
	a.cmd.Process.Kill()
	<-a.done
	close(dead)
	mu.Unlock()
	held := leasesOf(t, db, instance[1])
	t.Logf("hub A killed after %d requests, holding the leases of %d deliveries", done[0].Load(), len(held))
	if len(held) == 0 {
		t.Fatal("hub A held no lease when it died")
	}
	release()

	// The stalled booking's claims are freed after the grace: then its slot is booked.
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, out := tmf(t, admin, "POST", b.url+"/tmf-api/appointment/v4/appointment", "application/json", killBooking(stalled, "after-the-kill"))
		if code == 201 {
			freed := testclock.Now()
			if freed.Before(claimed.Add(12 * time.Second)) {
				t.Fatalf("the stalled booking's claims (taken at %v) were freed at %v, within the grace", claimed, freed)
			}
			t.Logf("the stalled booking's claims were freed %v after they were taken (grace 12s)", freed.Sub(claimed).Round(100*time.Millisecond))
			mu.Lock()
			acked = append(acked, out["id"].(string))
			mu.Unlock()
			break
		}
		if code != 409 || time.Now().After(deadline) {
			t.Fatalf("booking the slot of the stalled booking after A's death: %d %v", code, out)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Nothing of the stalled crew is left: its claims went together, none stayed behind.
	for deadline := time.Now().Add(30 * time.Second); ; {
		left := 0
		claims, err := db.ClaimsFrom(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range claims {
			if c.Owner == crewOwner {
				left++
			}
		}
		if left == 0 {
			t.Logf("the stalled crew booking's %d claims were all freed", crewClaims)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the stalled crew booking's %d claims are still held 30 s after the others were freed", left, crewClaims)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// B and C went on meanwhile.
	served := [3]int32{done[0].Load(), done[1].Load(), done[2].Load()}
	for done[1].Load() < served[1]+10 || done[2].Load() < served[2]+10 {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("requests served: A %d (before its death), B %d, C %d; %d bookings acknowledged", served[0], done[1].Load(), done[2].Load(), len(acked))
	if len(failed) > 0 {
		t.Fatalf("%d requests to B or C failed, the first: %s", len(failed), failed[0])
	}

	// Every acknowledged booking is kept, and its creation reaches the listener.
	for _, id := range acked {
		if code, out := tmf(t, admin, "GET", b.url+"/tmf-api/appointment/v4/appointment/"+id, "application/json", ""); code != 200 {
			t.Errorf("acknowledged booking %s: %d %v", id, code, out)
		}
	}
	deadline = time.Now().Add(90 * time.Second)
	for {
		received := map[string]bool{}
		for _, d := range l.of("/kill") {
			received[d.appointment] = true
		}
		missing := 0
		for _, id := range acked {
			if !received[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged bookings were not notified", missing, len(acked))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The deliveries A held leases on were made by another hub: those the others had queued
	// once the leases ran out, those only A knew of (a change A committed and did not answer)
	// at the others' next scan of the outbox (every 30 s).
	deadline = time.Now().Add(90 * time.Second)
	for _, d := range held {
		for {
			o, err := db.GetOutcome(context.Background(), d.ID)
			if err == nil && o.Result == apphub.OutcomeDelivered && o.Owner != instance[1] {
				break
			}
			if (err != nil && apphub.ErrorCode(err) != apphub.ENOTFOUND) || err == nil || time.Now().After(deadline) {
				t.Fatalf("delivery %s, leased by A when it died: outcome %+v (%v), want delivered by another hub", d.ID, o, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

const killSearch = `query($from: Time!, $to: Time!) { availability(input: {category: "repair", place: "75011", from: $from, to: $to}) {
	days { slots { start resources { resource { id } } } } } }`

// killSlot is a technician's slot.
type killSlot struct{ start, tech string }

// killBooking is a TMF646 booking of s for customer.
func killBooking(s killSlot, customer string) string {
	start, _ := time.Parse(time.RFC3339, s.start)
	return fmt.Sprintf(`{"category":"repair","validFor":{"startDateTime":%q,"endDateTime":%q},
		"relatedParty":[{"id":%q,"role":"customer","@referredType":"Individual"},{"id":%q,"role":"technician","@referredType":"PartyRole"}],
		"relatedPlace":{"role":"installationAddress","postCode":"75011","@type":"GeographicAddress"}}`,
		s.start, start.Add(time.Hour).Format(time.RFC3339), customer, s.tech)
}

// killRequest posts body to url as token, and returns the status and the body answered.
func killRequest(url, token string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// killLoad searches a three-day window from from and books one of the slots found (for
// customer): it returns the appointment booked, "" when the slot was taken meanwhile (409) or
// none was found, and an error for any other answer.
func killLoad(base, token string, from time.Time, rng *rand.Rand, customer string) (string, error) {
	body, _ := json.Marshal(map[string]any{"query": killSearch, "variables": map[string]any{
		"from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)}})
	code, raw, err := killRequest(base+"/graphql", token, body)
	if err != nil {
		return "", err
	}
	var res struct {
		Errors []any
		Data   struct {
			Availability struct {
				Days []struct {
					Slots []struct {
						Start     string
						Resources []struct{ Resource struct{ ID string } }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &res); err != nil || code != 200 || res.Errors != nil {
		return "", fmt.Errorf("search: %d %.300s", code, raw)
	}
	var found []killSlot
	for _, d := range res.Data.Availability.Days {
		for _, s := range d.Slots {
			for _, r := range s.Resources {
				found = append(found, killSlot{s.Start, r.Resource.ID})
			}
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	code, raw, err = killRequest(base+"/tmf-api/appointment/v4/appointment", token, []byte(killBooking(found[rng.IntN(len(found))], customer)))
	switch {
	case err != nil:
		return "", err
	case code == http.StatusConflict:
		return "", nil
	case code != http.StatusCreated:
		return "", fmt.Errorf("booking: %d %.300s", code, raw)
	}
	var out struct{ ID string }
	if err := json.Unmarshal(raw, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("booking: %d %.300s", code, raw)
	}
	return out.ID, nil
}

// stalledClaims waits until a claim on s is in the store, and returns when it was taken.
func stalledClaims(t *testing.T, db *mongodb.DB, s killSlot, within time.Duration) time.Time {
	t.Helper()
	start, _ := time.Parse(time.RFC3339, s.start)
	deadline := time.Now().Add(within)
	for {
		claims, err := db.ClaimsFrom(context.Background(), start.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range claims {
			if c.Resource == s.tech && c.Start.Equal(start) {
				return c.CreatedAt
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no claim on %s at %s after %v", s.tech, s.start, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leasesOf returns the deliveries in the outbox whose last attempt instance leased.
func leasesOf(t *testing.T, db *mongodb.DB, instance string) []apphub.Delivery {
	t.Helper()
	ctx := context.Background()
	all, err := db.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []apphub.Delivery
	for _, d := range all {
		var last apphub.DeliveryAttempt
		for n := 1; ; n++ {
			at, err := db.GetAttempt(ctx, d.ID, n)
			if apphub.ErrorCode(err) == apphub.ENOTFOUND {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			last = at
		}
		if last.Owner == instance {
			out = append(out, d)
		}
	}
	return out
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stalledCrew waits until a crew booking's claims at start are in the store — a splicer's and
// two technicians', no more coming — and returns their owner and how many there are.
func stalledCrew(t *testing.T, db *mongodb.DB, start string, within time.Duration) (string, int) {
	t.Helper()
	at, _ := time.Parse(time.RFC3339, start)
	prev := 0
	for deadline := time.Now().Add(within); ; time.Sleep(200 * time.Millisecond) {
		claims, err := db.ClaimsFrom(context.Background(), at.Add(-12*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		owner := ""
		for _, c := range claims {
			if strings.HasPrefix(c.Resource, "splicer-") && c.Start.Equal(at) {
				owner = c.Owner
			}
		}
		members, n := map[string]bool{}, 0
		for _, c := range claims {
			if owner != "" && c.Owner == owner {
				members[c.Resource] = true
				n++
			}
		}
		if len(members) == 3 && n == prev {
			return owner, n
		}
		prev = n
		if time.Now().After(deadline) {
			t.Fatalf("no crew's claims at %s after %v", start, within)
		}
	}
}
