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
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/storetest"
	"github.com/apphub/apphub/testclock"
)

// TestDayAnswersEqualTheWindowsSearch: windows assembled from day answers (every category of
// the demo at its zones and stores, or at one resource, in three time zones; windows of an hour
// to 31 days starting at any quarter hour or second, over the next 45 days, which the test
// clock's instants put across DST changes and year ends) are the engine's answer for the
// window itself, which a service without versions computes: before and after bookings, and
// when another service's day answers come from Redis.
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
	window := booking.NewService(open(), booking.Options{Now: clock})
	ctx := asAdmin()
	data := demo.Data()
	if err := window.SaveCalendar(ctx, data, nil); err != nil {
		t.Fatal(err)
	}

	// An hour of a third of the technicians' days taken, at random, before the first search.
	rng := rand.New(rand.NewPCG(uint64(now.Unix()), 17))
	var claims []apphub.Claim
	for _, r := range data.Resources {
		for d := range 45 {
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
	insertClaims(t, open(), claims)
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
		q.From = now.Truncate(apphub.Quantum).Add(time.Duration(rng.IntN(45*96)) * apphub.Quantum)
		if rng.IntN(4) == 0 {
			q.From = q.From.Add(time.Duration(rng.IntN(900)) * time.Second)
		}
		q.To = q.From.Add(time.Duration(1+rng.IntN(31*24)) * time.Hour)
		return q
	}
	// want is the window's own answer, computed on MongoDB's claims.
	compare := func(round string, q booking.SlotQuery, services ...*booking.Service) *booking.SlotResult {
		t.Helper()
		want, err := window.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got *booking.SlotResult
		for _, svc := range services {
			if got, err = svc.Search(ctx, q); err != nil {
				t.Fatalf("%s: %+v: %v", round, q, err)
			}
			if got.Version == "" || !reflect.DeepEqual(got.Result, want.Result) {
				t.Fatalf("%s: %+v (version %q):\nby day: %+v\nwindow: %+v", round, q, got.Version, got.Result, want.Result)
			}
		}
		return got
	}
	var queries []booking.SlotQuery
	for range 30 {
		queries = append(queries, query())
	}
	booked := 0
	for i, q := range queries {
		res := compare("before bookings, then from Redis", q, byDay, fromRedis)
		// Every third search books its first slot, which changes the days around it.
		if i%3 != 0 || len(res.Days) == 0 {
			continue
		}
		s := res.Days[0].Slots[0]
		if _, err := byDay.Book(ctx, booking.NewAppointment{Category: q.Category, Place: q.Place, Resource: q.Resource, Start: s.Start}); err != nil {
			t.Fatalf("book %v: %v", s.Start, err)
		}
		booked++
	}
	for _, q := range queries {
		compare("after bookings, on both services", q, byDay, fromRedis)
	}
	if booked == 0 {
		t.Fatal("no booking made")
	}
}
