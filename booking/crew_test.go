package booking_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/storetest"
)

// The crew tests do not run in parallel with the others: their races (up to 30 bookings
// scanning the claims on two instances) are heavy enough under -race to starve the 100-way
// races of the other tests of MongoDB connections.

// crewCalendar is the test calendar with three fiber technicians (tech-1 and two more) and
// one splicer in Paris 11, and "building": two technicians and the splicer for two hours, on
// the hour.
func crewCalendar() apphub.CalendarData {
	cal := testCalendar()
	tech := cal.Resources[0]
	for _, id := range []string{"tech-2", "tech-3"} {
		r := tech
		r.ID, r.Name = id, id
		cal.Resources = append(cal.Resources, r)
	}
	splicer := tech
	splicer.ID, splicer.Name, splicer.Kind, splicer.Skills = "splicer-1", "Splicer", apphub.KindEquipment, []string{"splicer"}
	cal.Resources = append(cal.Resources, splicer)
	cal.Categories = append(cal.Categories, apphub.Category{ID: "building", Name: "Building fibre", Duration: 2 * time.Hour, Step: time.Hour,
		Requirements: []apphub.Requirement{
			{Kind: apphub.KindTechnician, Skills: []string{"fiber"}, Count: 2},
			{Kind: apphub.KindEquipment, Skills: []string{"splicer"}, Count: 1},
		}})
	return cal
}

func newCrewEnv(t *testing.T, opts booking.Options) *env {
	t.Helper()
	e := newEnv(t, opts)
	if err := e.svc.SaveCalendar(asAdmin(), crewCalendar(), nil); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkClaims verifies what the store holds against the appointments: every claim belongs to
// one of them, each appointment holds every quantum of its time for every member of its crew
// (never part of a crew), and no resource is in two appointments at once.
func checkCrewClaims(t *testing.T, e *env, booked []apphub.Appointment) {
	t.Helper()
	claims, err := e.db.ClaimsFrom(asAdmin(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	byOwner := map[string][]apphub.Claim{}
	for _, c := range claims {
		byOwner[c.Owner] = append(byOwner[c.Owner], c)
	}
	held := map[string]string{} // resource|quantum → appointment
	for _, a := range booked {
		got := byOwner[a.ID]
		delete(byOwner, a.ID)
		if len(a.Crew) != 3 || a.Resource != a.Crew[0] || a.Crew[2] != "splicer-1" || a.Crew[0] == a.Crew[1] {
			t.Errorf("%s: crew %v (lead %s), want two technicians and the splicer", a.ID, a.Crew, a.Resource)
		}
		quanta := int(a.End.Sub(a.Start) / apphub.Quantum)
		if len(got) != len(a.Crew)*quanta || len(a.Claims) != len(got) {
			t.Errorf("%s: %d claims in the store, %d listed, want %d (%d members × %d quanta)", a.ID, len(got), len(a.Claims), len(a.Crew)*quanta, len(a.Crew), quanta)
		}
		for _, c := range got {
			if !slices.Contains(a.Crew, c.Resource) || c.Start.Before(a.Start) || !c.Start.Before(a.End) {
				t.Errorf("%s holds %s, outside its crew %v and time", a.ID, c.ID, a.Crew)
			}
			key := fmt.Sprintf("%s|%d", c.Resource, c.Start.Unix())
			if other, dup := held[key]; dup {
				t.Errorf("%s is in %s and %s at once", key, other, a.ID)
			}
			held[key] = a.ID
		}
	}
	for owner, cs := range byOwner {
		t.Errorf("%d claims of %s, which is not booked (first %s): a partial crew", len(cs), owner, cs[0].ID)
	}
}

// Two bookings needing the one splicer at the same time, on two instances: exactly one.
func TestCrewsRaceForTheSplicer(t *testing.T) {
	e := newCrewEnv(t, booking.Options{})
	other := e.another(t, booking.Options{})
	var booked []apphub.Appointment
	var mu sync.Mutex
	for d := range 6 {
		start := onDay(day.AddDate(0, 0, d), "09:00")
		// One names tech-1, the other tech-3: their crews may share only the splicer.
		wins, errs := race(2, func(i int) error {
			svc, tech := e.svc, "tech-1"
			if i == 1 {
				svc, tech = other, "tech-3"
			}
			a, err := svc.Book(asAdmin(), booking.NewAppointment{Category: "building", Place: "75011", Resource: tech, Start: start})
			if err == nil {
				mu.Lock()
				booked = append(booked, a)
				mu.Unlock()
			}
			return err
		})
		if wins != 1 {
			t.Errorf("day %d: %d crews booked the one splicer, want 1 (%v)", d, wins, errs)
		}
		onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
	}
	checkCrewClaims(t, e, booked)
}

// Thirty crew bookings at once over three technicians and one splicer, at random starts of
// one day, on two instances: never a resource twice at one time, never part of a crew.
func TestThirtyConcurrentCrewBookings(t *testing.T) {
	e := newCrewEnv(t, booking.Options{})
	other := e.another(t, booking.Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	starts := make([]time.Time, 30)
	for i := range starts {
		starts[i] = onDay(day, fmt.Sprintf("%02d:00", 8+rng.IntN(9)))
	}
	var booked []apphub.Appointment
	var mu sync.Mutex
	wins, errs := race(len(starts), func(i int) error {
		svc := e.svc
		if i%2 == 1 {
			svc = other
		}
		a, err := svc.Book(asAdmin(), booking.NewAppointment{Category: "building", Place: "75011", Start: starts[i]})
		if err == nil {
			mu.Lock()
			booked = append(booked, a)
			mu.Unlock()
		}
		return err
	})
	onlyRefusals(t, errs, apphub.ReasonFullyBooked, apphub.ReasonSlotTaken)
	// One splicer, 08:00–18:00, two-hour jobs: at most five; at least one gets through.
	if wins < 1 || wins > 5 {
		t.Errorf("%d crews booked, want 1 to 5", wins)
	}
	checkCrewClaims(t, e, booked)
	t.Logf("%d of %d crew bookings won", wins, len(starts))
}

// A held crew is booked as it was held; a reschedule keeps its members where they are free,
// and with them the claims the new time shares with the old; a member busy at the new time is
// replaced, alone.
func TestCrewHoldAndReschedule(t *testing.T) {
	e := newCrewEnv(t, booking.Options{})
	ctx := asAdmin()
	h, err := e.svc.Hold(ctx, booking.HoldRequest{Category: "building", Place: "75011", Start: at("09:00")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.svc.Book(ctx, booking.NewAppointment{HoldToken: h.Token})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Crew, h.Crew) || !slices.Equal(a.Crew, []string{"tech-1", "tech-2", "splicer-1"}) {
		t.Fatalf("booked crew %v from hold crew %v, want tech-1, tech-2 and the splicer", a.Crew, h.Crew)
	}
	// An hour later, the same crew, although tech-3 is as free: 10:00–11:00 is shared.
	moved, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, ExpectedVersion: a.Version, Start: at("10:00")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved.Crew, a.Crew) {
		t.Errorf("rescheduled crew %v, want the same %v", moved.Crew, a.Crew)
	}
	var kept int
	for _, id := range moved.Claims {
		if slices.Contains(a.Claims, id) {
			kept++
		}
	}
	if kept != 3*4 { // three members × 10:00–11:00
		t.Errorf("%d claims kept across the reschedule, want 12", kept)
	}
	checkCrewClaims(t, e, []apphub.Appointment{moved})

	// tech-2 gets another job at 14:00; moving the crew to 13:00 replaces tech-2 by tech-3.
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-2", Place: "75011", Start: at("14:00")}); err != nil {
		t.Fatal(err)
	}
	moved2, err := e.svc.Reschedule(ctx, booking.Reschedule{ID: a.ID, ExpectedVersion: moved.Version, Start: at("13:00")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(moved2.Crew, []string{"tech-1", "tech-3", "splicer-1"}) {
		t.Errorf("crew at 13:00 %v, want tech-1, tech-3 and the splicer", moved2.Crew)
	}
	// A technician serving the crew sees its appointment in its own list.
	list, err := e.svc.FindAppointments(ctx, booking.AppointmentQuery{Resource: "tech-3"})
	if err != nil || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("tech-3's appointments: %v %v, want the crew job", list, err)
	}
}

// A booking that dies between its claims and its commit — here, all three members' claims
// taken and the process paused past the grace; or only the first member's claims inserted, as
// a process killed mid-way leaves them — keeps no claim once the reaper has run: the time is
// whole again for the next crew.
func TestInterruptedCrewBookingIsReaped(t *testing.T) {
	paused := make(chan struct{})
	resume := make(chan struct{})
	var once sync.Once
	e := newCrewEnv(t, booking.Options{Grace: 30 * time.Second, AfterClaims: func(ctx context.Context, id string) {
		once.Do(func() {
			close(paused)
			<-resume
		})
	}})
	ctx := asAdmin()
	result := make(chan error, 1)
	go func() {
		_, err := e.svc.Book(ctx, booking.NewAppointment{Category: "building", Place: "75011", Start: at("09:00")})
		result <- err
	}()
	<-paused
	// A killed writer's partial crew: tech-3's claims at 14:00–16:00 and nothing else.
	for q := at("14:00"); q.Before(at("16:00")); q = q.Add(apphub.Quantum) {
		c := apphub.Claim{ID: apphub.ClaimID("tech-3", q, 0), Owner: "killed-writer", Version: 1, Resource: "tech-3", Start: q, CreatedAt: e.clock.Now()}
		if err := e.db.InsertClaim(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(31 * time.Second)
	other := e.another(t, booking.Options{Grace: 30 * time.Second})
	rep, err := other.Reap(ctx)
	if err != nil || rep.ClaimsFreed != 3*8+8 {
		t.Fatalf("reap past grace: %+v, %v; want the paused crew's 24 claims and the killed writer's 8 freed", rep, err)
	}
	close(resume)
	wantReason(t, <-result, apphub.ReasonCommitTooLate)
	checkCrewClaims(t, e, nil)
	// Both times are whole again.
	var booked []apphub.Appointment
	for _, start := range []string{"09:00", "14:00"} {
		a, err := other.Book(ctx, booking.NewAppointment{Category: "building", Place: "75011", Resource: "tech-3", Start: at(start)})
		if err != nil {
			t.Fatalf("booking %s after the reaper: %v", start, err)
		}
		booked = append(booked, a)
	}
	checkCrewClaims(t, e, booked)
}

// A crew search's answer depends on every resource that may be in a crew, even when it names
// one member: a booking of another member, for another category, changes the answers kept
// in Redis at once.
func TestCrewSearchSeesEveryMembersBookings(t *testing.T) {
	rdb, prefix := storetest.Redis(t)
	cache := storetest.Cache(t, rdb, prefix)
	e := newCrewEnv(t, booking.Options{Cache: cache, Answers: cache})
	ctx := asAdmin()
	crewAt := func(resource, hhmm string) []string {
		t.Helper()
		res, err := e.svc.Search(ctx, booking.SlotQuery{Category: "building", Place: "75011", Resource: resource, From: at("08:00"), To: at("18:00")})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Days {
			for _, s := range d.Slots {
				if s.Start.Equal(at(hhmm)) {
					return s.Crew
				}
			}
		}
		return nil
	}
	for _, resource := range []string{"", "tech-1"} {
		if got := crewAt(resource, "09:00"); !slices.Equal(got, []string{"tech-1", "tech-2", "splicer-1"}) {
			t.Fatalf("crew at 09:00 (resource %q): %v", resource, got)
		}
	}
	if _, err := e.svc.Book(ctx, booking.NewAppointment{Category: "repair", Resource: "tech-2", Place: "75011", Start: at("10:00")}); err != nil {
		t.Fatal(err)
	}
	for _, resource := range []string{"", "tech-1"} {
		if got := crewAt(resource, "09:00"); !slices.Equal(got, []string{"tech-1", "tech-3", "splicer-1"}) {
			t.Errorf("crew at 09:00 (resource %q) after tech-2 got a repair at 10:00: %v, want tech-3 instead", resource, got)
		}
	}
}
