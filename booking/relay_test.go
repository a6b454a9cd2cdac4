package booking_test

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// A writer that stops right after its commit point leaves a revision with no projection and
// no events. Lists of every instance show the change at once; the relay of another instance
// publishes its events (once the writer had time to do it itself), and a change never
// committed is forgotten after the grace.
func TestRelayFinishesAChangeLeftInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	ctx := asAdmin()
	a, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75011", Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}

	// Another instance confirms it and stops dead after the revision insert.
	crashing := e.another(t, booking.Options{AfterCommit: func(context.Context, apphub.Revision) { runtime.Goexit() }})
	var wg sync.WaitGroup
	wg.Go(func() {
		crashing.SetStatus(ctx, booking.StatusChange{ID: a.ID, Status: apphub.StatusConfirmed})
		t.Error("the change went on after its writer stopped")
	})
	wg.Wait()

	pub := &recordingPublisher{}
	other := e.another(t, booking.Options{Publisher: pub})
	list, err := other.FindAppointments(ctx, booking.AppointmentQuery{Statuses: []string{apphub.StatusConfirmed}})
	if err != nil || len(list) != 1 || list[0].ID != a.ID || list[0].Version != 2 {
		t.Fatalf("confirmed appointments: %+v, %v; want %s at version 2", list, err, a.ID)
	}
	all, err := other.Appointments(ctx)
	if err != nil || len(all) != 1 || all[0].Status != apphub.StatusConfirmed {
		t.Fatalf("TMF list: %+v, %v", all, err)
	}

	// A young change may still be its writer's business: the relay leaves it.
	if rep, err := other.Relay(ctx); err != nil || rep.Finished != 0 || len(pub.events) != 0 {
		t.Fatalf("relay of a young change: %+v, %v, events %v", rep, err, pub.events)
	}
	e.clock.Advance(6 * time.Second)
	if rep, err := other.Relay(ctx); err != nil || rep.Finished != 1 {
		t.Fatalf("relay: %+v, %v", rep, err)
	}
	if len(pub.events) != 1 || pub.events[0].AppointmentID != a.ID || pub.events[0].Version != 2 || pub.events[0].Kind != apphub.EventStateChanged {
		t.Fatalf("relayed events %+v, want the state change of version 2", pub.events)
	}
	if rep, err := other.Relay(ctx); err != nil || rep.Finished != 0 {
		t.Fatalf("a second pass relayed again: %+v, %v", rep, err)
	}
	if got, _ := e.db.GetAppointment(ctx, a.ID); got.Version != 2 {
		t.Fatalf("projection at version %d after the relay, want 2", got.Version)
	}

	// A pending record whose revision never came is removed after the grace.
	if err := e.db.InsertPending(ctx, apphub.Pending{AppointmentID: a.ID, Version: 3, Writer: "gone", CreatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	if rep, _ := other.Relay(ctx); rep.Abandoned != 0 {
		t.Fatalf("a record within the grace was removed: %+v", rep)
	}
	e.clock.Advance(time.Minute)
	if rep, _ := other.Relay(ctx); rep.Abandoned != 1 {
		t.Fatalf("a record past the grace was kept: %+v", rep)
	}
	if left, _ := e.db.ListPending(ctx); len(left) != 0 {
		t.Fatalf("pending records left: %+v", left)
	}
	if !slices.ContainsFunc(pub.events, func(ev apphub.Event) bool { return ev.Version == 2 }) {
		t.Fatal("lost the relayed event")
	}
}
