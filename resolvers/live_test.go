package resolvers_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/graph/model"
	"github.com/apphub/apphub/resolvers"
	"github.com/apphub/apphub/storage/storetest"
)

// searchCounter counts the searches the resolvers run.
type searchCounter struct {
	resolvers.Service
	searches atomic.Int64
}

func (c *searchCounter) Search(ctx context.Context, q booking.SlotQuery) (*booking.SlotResult, error) {
	c.searches.Add(1)
	return c.Service.Search(ctx, q)
}

// liveEnv is a hub on its own stores (the real Redis for the cache) and an in-process bus,
// whose subscription resolvers the tests call directly: many subscribers, no sockets.
type liveEnv struct {
	t   *testing.T
	svc *booking.Service
	cs  *searchCounter
	r   *resolvers.Resolver
}

func newLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	bus := &localBus{subs: map[chan apphub.Event]bool{}, avail: map[chan []apphub.ZoneDay]bool{}}
	rdb, prefix := storetest.Redis(t)
	svc := booking.NewService(storetest.Mongo(t), booking.Options{Now: func() time.Time { return now }, Publisher: bus,
		Cache: storetest.Cache(t, rdb, prefix)})
	if err := svc.SaveCalendar(ctxAs(admin), demo.Data(), nil); err != nil {
		t.Fatal(err)
	}
	cs := &searchCounter{Service: svc}
	return &liveEnv{t: t, svc: svc, cs: cs, r: &resolvers.Resolver{Service: cs, Events: bus, Logger: slog.New(slog.DiscardHandler)}}
}

// grid subscribes to the grid of in as p until the test ends or cancel is called.
func (e *liveEnv) grid(p apphub.Principal, in model.AvailabilityInput) (<-chan *model.Availability, context.CancelFunc) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(ctxAs(p))
	e.t.Cleanup(cancel)
	ch, err := e.r.Subscription().AvailabilityChanged(ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch, cancel
}

// status subscribes to appointmentChanged(partyId | resource) as p.
func (e *liveEnv) status(p apphub.Principal, partyID, resource string) <-chan *model.AppointmentChange {
	e.t.Helper()
	ctx, cancel := context.WithCancel(ctxAs(p))
	e.t.Cleanup(cancel)
	var party, res *string
	if partyID != "" {
		party = &partyID
	}
	if resource != "" {
		res = &resource
	}
	ch, err := e.r.Subscription().AppointmentChanged(ctx, nil, party, res)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch
}

// recv returns the next value of ch, failing when none comes (the bound only keeps a broken
// test from hanging).
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("the subscription ended")
		}
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing within 10s")
	}
	panic("unreachable")
}

// repairGrid asks for the repair slots at place over days days from a day ahead.
func repairGrid(place string, days int) model.AvailabilityInput {
	from := now.Add(24 * time.Hour)
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	return model.AvailabilityInput{Category: "repair", Place: &place, From: &from, To: &to}
}

// bookFirst books, as other, the first slot of g on its first resource.
func (e *liveEnv) bookFirst(g *model.Availability) {
	e.t.Helper()
	s := g.Days[0].Slots[0]
	if _, err := e.svc.Book(ctxAs(other), booking.NewAppointment{Category: "repair", Place: "75011", Resource: s.Resources[0].Resource.ID, Start: s.Start}); err != nil {
		e.t.Fatal(err)
	}
}

// Many subscribers of one grid: one search per change, and the same grid to each.
func TestGridSubscribersShareOneRecompute(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	const n = 200
	chans := make([]<-chan *model.Availability, n)
	var first *model.Availability
	for i := range chans {
		chans[i], _ = e.grid(customer, repairGrid("75011", 14))
		g := recv(t, chans[i])
		if first == nil {
			first = g
		}
		if g != first {
			t.Fatalf("subscriber %d got a grid of its own", i)
		}
	}
	if got := resolvers.GridWatchers(e.r); got != 1 {
		t.Fatalf("%d watchers, want 1", got)
	}
	for booking := range 2 {
		before := e.cs.searches.Load()
		e.bookFirst(first)
		var next *model.Availability
		for i, ch := range chans {
			g := recv(t, ch)
			if next == nil {
				next = g
			}
			if g != next || g == first {
				t.Fatalf("booking %d: subscriber %d got %p, want the new grid %p", booking, i, g, next)
			}
		}
		if searches := e.cs.searches.Load() - before; searches != 1 {
			t.Fatalf("booking %d: %d searches for %d subscribers, want 1", booking, searches, n)
		}
		first = next
	}
}

// Grids of one zone with different windows each get theirs; postcodes of one zone share one.
func TestGridSubscribersOfOneZone(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	cal, err := e.svc.Calendar(ctxAs(admin))
	if err != nil {
		t.Fatal(err)
	}
	zone, _ := cal.ZoneOfPostCode("75011")
	neighbour := ""
	for _, pc := range zone.PostCodes {
		if pc != "75011" {
			neighbour = pc
			break
		}
	}
	if neighbour == "" {
		t.Fatal("the zone of 75011 has no other postcode")
	}
	inputs := []model.AvailabilityInput{repairGrid("75011", 3), repairGrid("75011", 7), repairGrid("75011", 14), repairGrid(neighbour, 14)}
	chans := make([]<-chan *model.Availability, len(inputs))
	grids := make([]*model.Availability, len(inputs))
	for i, in := range inputs {
		chans[i], _ = e.grid(customer, in)
		grids[i] = recv(t, chans[i])
	}
	if got := resolvers.GridWatchers(e.r); got != 3 {
		t.Fatalf("%d watchers, want 3 (one per window)", got)
	}
	if grids[3] != grids[2] {
		t.Fatal("two postcodes of one zone got grids of their own")
	}
	e.bookFirst(grids[0]) // the first slot is in every window
	for i, ch := range chans {
		g := recv(t, ch)
		last := g.Days[len(g.Days)-1].Date
		if want := grids[i].Days[len(grids[i].Days)-1].Date; last != want {
			t.Fatalf("grid %d ends on %s, want %s", i, last, want)
		}
		if g.Days[0].Slots[0].Start == grids[i].Days[0].Slots[0].Start && len(g.Days[0].Slots[0].Resources) == len(grids[i].Days[0].Slots[0].Resources) {
			t.Fatalf("grid %d still offers the booked slot as before", i)
		}
	}
}

// A subscriber that does not read blocks no one and, when it reads, gets the latest grid only.
func TestSlowGridSubscriberGetsTheLatest(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	slow, _ := e.grid(customer, repairGrid("75011", 14))
	fast, _ := e.grid(customer, repairGrid("75011", 14))
	recv(t, slow)
	g := recv(t, fast)
	for range 3 {
		e.bookFirst(g)
		g = recv(t, fast)
	}
	if got := recv(t, slow); got != g {
		t.Fatalf("the slow subscriber got %p, want the latest grid %p", got, g)
	}
	select {
	case old := <-slow:
		t.Fatalf("the slow subscriber got another grid after the latest: %p", old)
	default:
	}
}

// The watcher stops when its last subscriber leaves, and a new subscriber starts another.
func TestGridWatcherStopsWithItsLastSubscriber(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	var cancels []context.CancelFunc
	var chans []<-chan *model.Availability
	for range 3 {
		ch, cancel := e.grid(customer, repairGrid("75011", 14))
		recv(t, ch)
		chans, cancels = append(chans, ch), append(cancels, cancel)
	}
	waitWatchers := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); resolvers.GridWatchers(e.r) != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d watchers, want %d", resolvers.GridWatchers(e.r), want)
			}
		}
	}
	cancels[0]()
	cancels[1]()
	for _, ch := range chans[:2] {
		for range ch { // closed when the subscriber has left
		}
	}
	waitWatchers(1)
	cancels[2]()
	for range chans[2] {
	}
	waitWatchers(0)
	ch, _ := e.grid(customer, repairGrid("75011", 14))
	g := recv(t, ch)
	e.bookFirst(g)
	if next := recv(t, ch); next == g {
		t.Fatal("the new watcher sent the same grid again")
	}
}

// Anonymous callers may not subscribe on a hub without public availability, even to a grid
// others watch.
func TestGridSubscriptionChecksEachCaller(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	ch, _ := e.grid(customer, repairGrid("75011", 14))
	recv(t, ch)
	_, err := e.r.Subscription().AvailabilityChanged(context.Background(), repairGrid("75011", 14))
	if apphub.ErrorCode(err) != apphub.EUNAUTHENTICATED {
		t.Fatalf("anonymous: got %v, want UNAUTHENTICATED", err)
	}
}

// Status subscribers of distinct parties each get their own events, in order.
func TestStatusSubscribersGetTheirOwnEvents(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	const n = 50
	parties := make([]apphub.Principal, n)
	chans := make([]<-chan *model.AppointmentChange, n)
	for i := range parties {
		parties[i] = apphub.Principal{PartyID: fmt.Sprintf("party-%d", i), Roles: []string{apphub.RoleCustomer}}
		chans[i] = e.status(parties[i], parties[i].PartyID, "")
	}
	// Every booking before every confirmation: another party's event would come before the
	// subscriber's own confirmation.
	ids := make([]string, n)
	for i, p := range parties {
		start := now.Add(48*time.Hour + time.Duration(i)*time.Hour)
		a, err := e.svc.Book(ctxAs(p), booking.NewAppointment{Start: start, End: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = a.ID
	}
	for _, id := range ids {
		if _, err := e.svc.SetStatus(ctxAs(admin), booking.StatusChange{ID: id, Status: apphub.StatusConfirmed}); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range chans {
		for v, kind := range []string{apphub.EventCreated, apphub.EventStateChanged} {
			c := recv(t, ch)
			if c.Appointment.ID != ids[i] || c.Version != v+1 || c.Kind != kind {
				t.Fatalf("party %d, message %d: %s v%d of %s (party %s), want %s v%d of %s", i, v, c.Kind, c.Version, c.Appointment.ID,
					c.Appointment.PartyID, kind, v+1, ids[i])
			}
		}
		select {
		case c := <-ch:
			t.Fatalf("party %d got another event: %s v%d of %s", i, c.Kind, c.Version, c.Appointment.ID)
		default:
		}
	}
}

// A subscriber gets only the events of appointments it may read.
func TestStatusSubscriptionChecksMayRead(t *testing.T) {
	t.Parallel()
	e := newLiveEnv(t)
	res, err := e.svc.Search(ctxAs(customer), booking.SlotQuery{Category: "repair", Place: "75011", From: now.Add(24 * time.Hour), To: now.Add(8 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("no repair slot in the week: %v", err)
	}
	slot := res.Days[0].Slots[0]
	tech := slot.Resources[0].ResourceID
	// other watches the technician's appointments: customer's are not its own.
	snoop := e.status(other, "", tech)
	if _, err := e.svc.Book(ctxAs(customer), booking.NewAppointment{Category: "repair", Place: "75011", Resource: tech, Start: slot.Start}); err != nil {
		t.Fatal(err)
	}
	res, err = e.svc.Search(ctxAs(other), booking.SlotQuery{Category: "repair", Place: "75011", Resource: tech, From: now.Add(24 * time.Hour), To: now.Add(8 * 24 * time.Hour)})
	if err != nil || len(res.Days) == 0 {
		t.Fatalf("no other slot of %s in the week: %v", tech, err)
	}
	mine, err := e.svc.Book(ctxAs(other), booking.NewAppointment{Category: "repair", Place: "75011", Resource: tech, Start: res.Days[0].Slots[0].Start})
	if err != nil {
		t.Fatal(err)
	}
	if c := recv(t, snoop); c.Appointment.ID != mine.ID || c.Appointment.PartyID != other.PartyID {
		t.Fatalf("got %s of %s (party %s), want the creation of its own %s", c.Kind, c.Appointment.ID, c.Appointment.PartyID, mine.ID)
	}
}
