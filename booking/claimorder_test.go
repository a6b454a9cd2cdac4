package booking_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// claimRecorder is the real store, with the claim ids it is asked to insert recorded in call
// order: a decorator of the store, not a stand-in for it.
type claimRecorder struct {
	booking.Store
	mu  sync.Mutex
	ids []string
}

func (r *claimRecorder) InsertClaim(ctx context.Context, c apphub.Claim) error {
	r.mu.Lock()
	r.ids = append(r.ids, c.ID)
	r.mu.Unlock()
	return r.Store.InsertClaim(ctx, c)
}

// take returns the claim ids whose insert was asked for since the last take.
func (r *claimRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids
	r.ids = nil
	return ids
}

// claimOrderCalendar has a technician with travel buffers (a repair of an hour occupies 15 +
// 60 + 30 minutes: 7 quanta) and a store counter of capacity 3, both working 08:00–18:00 every
// day in Paris.
func claimOrderCalendar() apphub.CalendarData {
	var shifts []apphub.Shift
	for d := time.Sunday; d <= time.Saturday; d++ {
		shifts = append(shifts, apphub.Shift{Weekday: d, Start: "08:00", End: "18:00"})
	}
	return apphub.CalendarData{
		Zones:  []apphub.Zone{{ID: "paris-11", Name: "Paris 11", TimeZone: "Europe/Paris", PostCodes: []string{"75011"}}},
		Places: []apphub.Place{{ID: "store", Name: "Store", TimeZone: "Europe/Paris", Zone: "paris-11", PostCode: "75011"}},
		Resources: []apphub.Resource{
			{ID: "tech", Kind: apphub.KindTechnician, Name: "Tech", TimeZone: "Europe/Paris", Zones: []string{"paris-11"},
				Shifts: shifts, BufferBefore: 15 * time.Minute, BufferAfter: 30 * time.Minute},
			{ID: "counter", Kind: apphub.KindCounter, Name: "Counter", TimeZone: "Europe/Paris", PlaceID: "store",
				Capacity: 3, Shifts: shifts},
		},
		Categories: []apphub.Category{
			{ID: "repair", Name: "Repair", Duration: time.Hour, Step: 15 * time.Minute, ResourceKinds: []string{apphub.KindTechnician}},
			{ID: "visit", Name: "Visit", Duration: 30 * time.Minute, Step: 15 * time.Minute, ResourceKinds: []string{apphub.KindCounter}, AtPlace: true},
		},
	}
}

// Every booking operation inserts its new claims in one order shared by all: ascending
// (resource, quantum start, seat). Of two overlapping bookers, the one that inserts the first
// cell both need then meets no claim of the other, so one of them always wins; in any other
// order each could hold a cell the other needs, and both lose, retry and may lose again. The
// retry loop hides a wrong order from every other test, so the store's calls are recorded
// here. Each operation below claims one resource; a crew booking (several resources
// in one booking) joins this table when crews exist, and its claims must then be ordered by
// resource first.
func TestClaimInsertionOrder(t *testing.T) {
	t.Parallel()
	testclock.Report(t)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// Wall-clock times in Paris two days after the test clock's base, whatever day that is.
	base := testclock.Base().In(paris)
	at := func(hour, minute int) time.Time {
		return time.Date(base.Year(), base.Month(), base.Day()+2, hour, minute, 0, 0, paris).UTC()
	}

	tests := []struct {
		name string
		// run books what the operation needs first, then runs it, and returns the claim ids
		// the operation inserted (as recorded) and those it had to insert (from its result).
		run func(e *claimOrderEnv) (inserted, want []string)
	}{
		{"a slot spanning several quanta with its buffers", func(e *claimOrderEnv) ([]string, []string) {
			a := e.book(booking.NewAppointment{Category: "repair", Resource: "tech", Place: "75011", Start: at(10, 0)})
			return e.rec.take(), a.Claims
		}},
		{"a second seat", func(e *claimOrderEnv) ([]string, []string) {
			e.book(booking.NewAppointment{Category: "visit", Resource: "counter", Place: "store", Start: at(10, 0)})
			e.rec.take()
			// 10:15 is on seat 0 of the first visit, so it takes seat 1; 10:30 is free: seat 0.
			a := e.book(booking.NewAppointment{Category: "visit", Resource: "counter", Place: "store", Start: at(10, 15)})
			ids := e.rec.take()
			if !slices.ContainsFunc(ids, func(id string) bool { _, _, seat, _ := apphub.ParseClaimID(id); return seat > 0 }) {
				e.t.Errorf("claims %v: none on a second seat", ids)
			}
			return ids, a.Claims
		}},
		{"a reschedule onto an overlapping time", func(e *claimOrderEnv) ([]string, []string) {
			old := e.book(booking.NewAppointment{Category: "repair", Resource: "tech", Place: "75011", Start: at(10, 0)})
			e.rec.take()
			moved, err := e.svc.Reschedule(asAdmin(), booking.Reschedule{ID: old.ID, Start: at(10, 45)})
			if err != nil {
				e.t.Fatal(err)
			}
			kept := slices.DeleteFunc(slices.Clone(moved.Claims), func(id string) bool { return !slices.Contains(old.Claims, id) })
			fresh := slices.DeleteFunc(slices.Clone(moved.Claims), func(id string) bool { return slices.Contains(old.Claims, id) })
			if len(kept) == 0 || len(fresh) < 2 {
				e.t.Fatalf("kept %v and inserted %v: want some of each", kept, fresh)
			}
			return e.rec.take(), fresh
		}},
		{"a hold, then booking it", func(e *claimOrderEnv) ([]string, []string) {
			h, err := e.svc.Hold(asAdmin(), booking.HoldRequest{Category: "repair", Resource: "tech", Place: "75011", Start: at(14, 0)})
			if err != nil {
				e.t.Fatal(err)
			}
			ids := e.rec.take()
			a := e.book(booking.NewAppointment{HoldToken: h.Token})
			if more := e.rec.take(); len(more) > 0 || !slices.Equal(a.Claims, h.Claims) {
				e.t.Errorf("booking the hold inserted %v and holds %v, want nothing new and the hold's %v", more, a.Claims, h.Claims)
			}
			return ids, h.Claims
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &claimRecorder{Store: storetest.Mongo(t)}
			svc := booking.NewService(rec, booking.Options{Now: testclock.Now})
			if err := svc.SaveCalendar(asAdmin(), claimOrderCalendar(), nil); err != nil {
				t.Fatal(err)
			}
			inserted, want := tt.run(&claimOrderEnv{t: t, svc: svc, rec: rec})
			if len(inserted) < 2 {
				t.Fatalf("inserted %v: want several claims, or the order is not tested", inserted)
			}
			if !sameSet(inserted, want) {
				t.Fatalf("inserted %v, want the claims %v", inserted, want)
			}
			for i := 1; i < len(inserted); i++ {
				if compareClaimIDs(t, inserted[i-1], inserted[i]) >= 0 {
					t.Fatalf("claims inserted in the order %v: %s before %s, want ascending (resource, start, seat)",
						inserted, inserted[i-1], inserted[i])
				}
			}
		})
	}
}

// claimOrderEnv is one case's service on its recorded store.
type claimOrderEnv struct {
	t   *testing.T
	svc *booking.Service
	rec *claimRecorder
}

func (e *claimOrderEnv) book(req booking.NewAppointment) apphub.Appointment {
	e.t.Helper()
	a, err := e.svc.Book(asAdmin(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// compareClaimIDs orders claim ids by (resource, start, seat), as parsed: their text sorts
// otherwise (seat 10 before seat 2).
func compareClaimIDs(t *testing.T, a, b string) int {
	t.Helper()
	ra, sa, na, err := apphub.ParseClaimID(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, sb, nb, err := apphub.ParseClaimID(b)
	if err != nil {
		t.Fatal(err)
	}
	return cmp.Or(strings.Compare(ra, rb), sa.Compare(sb), cmp.Compare(na, nb))
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
