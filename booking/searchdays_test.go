package booking_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/slots"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// TestDayAnswersEqualTheWindowsSearch: windows assembled from day answers (every category of
// the demo at its zones and stores, or at one resource, in three time zones; windows of an hour
// to 31 days starting at any quarter hour or second, over the next 28 days (and their windows up to 59), which the test
// clock's instants put across DST changes and year ends) are the engine's answer for the
// window itself on all the claims in MongoDB: before and after bookings, and when another
// service's day answers come from Redis. A window without a slot is the window's own search,
// its reasons and next dates included.
func TestDayAnswersEqualTheWindowsSearch(t *testing.T) {
	t.Parallel()
	uri, name := storetest.MongoURI(t)
	open := func() *mongodb.DB {
		db, err := mongodb.Open(uri, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close(asAdmin()) })
		return db
	}
	testclock.Report(t)
	now := testclock.Base().Truncate(time.Second)
	clock := func() time.Time { return now }
	rdb, prefix := storetest.Redis(t)
	ca, cb := storetest.Cache(t, rdb, prefix), storetest.Cache(t, rdb, prefix)
	byDay := booking.NewService(open(), booking.Options{Now: clock, Cache: ca, Answers: ca})
	fromRedis := booking.NewService(open(), booking.Options{Now: clock, Cache: cb, Answers: cb})
	ctx := asAdmin()
	data := demo.Data()
	if err := byDay.SaveCalendar(ctx, data, nil); err != nil {
		t.Fatal(err)
	}
	cal, err := byDay.Calendar(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// An hour of a third of the technicians' days taken, at random, before the first search.
	rng := rand.New(rand.NewPCG(uint64(now.Unix()), 17))
	var claims []apphub.Claim
	for _, r := range data.Resources {
		for d := range 30 {
			if r.Kind != apphub.KindTechnician || rng.IntN(3) != 0 {
				continue
			}
			at := now.Truncate(time.Hour).Add(time.Duration(d*24+rng.IntN(24)) * time.Hour)
			for k := range 4 {
				s := at.Add(time.Duration(k) * apphub.Quantum)
				claims = append(claims, apphub.Claim{ID: apphub.ClaimID(r.ID, s, 0), Owner: fmt.Sprintf("a-%s-%d", r.ID, d),
					Version: 1, Resource: r.ID, Start: s, CreatedAt: now})
			}
		}
	}
	db := open()
	insertClaims(t, db, claims)
	var postcodes, stores, technicians []string
	for _, z := range data.Zones {
		postcodes = append(postcodes, z.PostCodes...)
	}
	for _, p := range data.Places {
		stores = append(stores, p.ID)
	}
	for _, r := range data.Resources {
		if r.Kind == apphub.KindTechnician {
			technicians = append(technicians, r.ID)
		}
	}
	query := func() booking.SlotQuery {
		q := booking.SlotQuery{Category: []string{demo.Repair, demo.Installation, demo.Callback, demo.StoreVisit}[rng.IntN(4)]}
		switch {
		case q.Category == demo.StoreVisit:
			q.Place = stores[rng.IntN(len(stores))]
		case rng.IntN(5) == 0:
			q.Resource = technicians[rng.IntN(len(technicians))]
		default:
			q.Place = postcodes[rng.IntN(len(postcodes))]
		}
		q.From = now.Truncate(apphub.Quantum).Add(time.Duration(rng.IntN(28*96)) * apphub.Quantum)
		if rng.IntN(4) == 0 {
			q.From = q.From.Add(time.Duration(rng.IntN(900)) * time.Second)
		}
		q.To = q.From.Add(time.Duration(1+rng.IntN(31*24)) * time.Hour)
		return q
	}
	// busy is every claim in MongoDB, and then those of each booking made.
	busy := &slots.Busy{}
	all, err := db.ScanClaims(ctx, now.AddDate(0, 0, -2), now.AddDate(0, 0, 62))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		busy.Add(c.Resource, c.Start, c.Seat)
	}
	compare := func(round string, q booking.SlotQuery, services ...*booking.Service) *booking.SlotResult {
		t.Helper()
		var got *booking.SlotResult
		for _, svc := range services {
			var err error
			if got, err = svc.Search(ctx, q); err != nil {
				t.Fatalf("%s: %+v: %v", round, q, err)
			}
			if len(got.Days) == 0 {
				continue // the window's own search
			}
			want, err := slots.SearchSlots(cal, busy, slots.Query{Category: q.Category, Place: q.Place, Resource: q.Resource, From: q.From, To: q.To, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if got.Version == "" || !reflect.DeepEqual(got.Result, *want) {
				t.Fatalf("%s: %+v (version %q):\n%s", round, q, got.Version, firstDifference(got.Result, *want))
			}
		}
		return got
	}
	var queries []booking.SlotQuery
	for range 30 {
		queries = append(queries, query())
	}
	booked, windows := 0, 0
	for i, q := range queries {
		res := compare("before bookings, then from Redis", q, byDay, fromRedis)
		// Every third search books its first slot, which changes the days around it.
		if i%3 != 0 || len(res.Days) == 0 {
			continue
		}
		s := res.Days[0].Slots[0]
		a, err := byDay.Book(ctx, booking.NewAppointment{Category: q.Category, Place: q.Place, Resource: q.Resource, Start: s.Start})
		if err != nil {
			t.Fatalf("book %v: %v", s.Start, err)
		}
		for _, id := range a.Claims {
			resource, start, seat, err := apphub.ParseClaimID(id)
			if err != nil {
				t.Fatal(err)
			}
			busy.Add(resource, start, seat)
		}
		booked++
	}
	for _, q := range queries {
		if res := compare("after bookings, on both services", q, byDay, fromRedis); len(res.Days) > 0 {
			windows++
		}
	}
	if booked == 0 || windows < len(queries)/3 {
		t.Fatalf("%d bookings made, %d of %d windows with slots: the test compares too little", booked, windows, len(queries))
	}
}

// firstDifference names the first slot or day where two answers differ.
func firstDifference(got, want slots.Result) string {
	for i := range min(len(got.Days), len(want.Days)) {
		g, w := got.Days[i], want.Days[i]
		for k := range min(len(g.Slots), len(w.Slots)) {
			if !reflect.DeepEqual(g.Slots[k], w.Slots[k]) {
				return fmt.Sprintf("%s slot %d:\nby day: %+v\nwindow: %+v", g.Date, k, g.Slots[k], w.Slots[k])
			}
		}
		if g.Date != w.Date || len(g.Slots) != len(w.Slots) {
			return fmt.Sprintf("day %d: by day %s with %d slots, window %s with %d", i, g.Date, len(g.Slots), w.Date, len(w.Slots))
		}
	}
	return fmt.Sprintf("by day: %+v\nwindow: %+v", got, want)
}
