package booking_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/demo"
	"github.com/apphub/apphub/storage/mongodb"
	"github.com/apphub/apphub/storage/rediscache"
	"github.com/apphub/apphub/storage/storetest"
)

// BenchmarkSearch60x31 is the search of a zone of 60 technicians over 31 days, with about a
// third of their working time booked (about 23,000 claims), on the embedded store and the real
// Redis: cold (nothing in Redis and no answer kept: the calendar is in memory, every
// (resource, day) is read from MongoDB in one scan and written back), warm (the answer kept
// under the version read from Redis), on another instance (the answer another computed, read
// from Redis), and after a booking elsewhere in the zone (one technician-day read again, the
// engine run again).
func BenchmarkSearch60x31(b *testing.B) {
	db := storetest.Mongo(b)
	rdb, prefix := storetest.Redis(b)
	ctx := asAdmin()
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(-24 * time.Hour) }
	if err := booking.NewService(db, booking.Options{Now: now}).SaveCalendar(ctx, zoneOf60(), nil); err != nil {
		b.Fatal(err)
	}
	fillClaims(b, db, start)
	q := booking.SlotQuery{Category: "repair", Place: "75011", From: start, To: start.AddDate(0, 0, 31)}

	service := func(b *testing.B, prefix string) (*booking.Service, *rediscache.Cache) {
		cache := storetest.Cache(b, rdb, prefix)
		svc := booking.NewService(db, booking.Options{Now: now, Cache: cache, Answers: cache})
		if _, err := svc.Calendar(ctx); err != nil {
			b.Fatal(err)
		}
		return svc, cache
	}
	search := func(b *testing.B, svc *booking.Service) {
		if res, err := svc.Search(ctx, q); err != nil || len(res.Days) == 0 || res.Version == "" {
			b.Fatalf("search: %v, %v", res, err)
		}
	}
	b.Run("scanOnly", func(b *testing.B) {
		for b.Loop() {
			if claims, err := db.ScanClaims(ctx, start.Add(-24*time.Hour), start.AddDate(0, 0, 33)); err != nil || len(claims) == 0 {
				b.Fatal(len(claims), err)
			}
		}
	})
	b.Run("cold", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			svc, _ := service(b, fmt.Sprintf("%scold%d:", prefix, i))
			b.StartTimer()
			search(b, svc)
		}
	})
	b.Run("warm", func(b *testing.B) {
		svc, _ := service(b, prefix+"warm:")
		search(b, svc)
		for b.Loop() {
			search(b, svc)
		}
	})
	b.Run("otherInstance", func(b *testing.B) {
		svc, _ := service(b, prefix+"other:")
		search(b, svc)
		for b.Loop() {
			b.StopTimer()
			other, _ := service(b, prefix+"other:")
			b.StartTimer()
			search(b, other)
		}
	})
	b.Run("afterBooking", func(b *testing.B) {
		svc, cache := service(b, prefix+"after:")
		search(b, svc)
		for i := 0; b.Loop(); i++ {
			day := start.AddDate(0, 0, i%31)
			cache.Touch(ctx, []apphub.ResourceDay{{Resource: "tech-000", Day: day}}, []apphub.ZoneDay{{Zone: "paris-11", Day: day}})
			search(b, svc)
		}
	})
}

// zoneOf60 is one Paris zone of 60 technicians working Monday to Saturday 08:00–18:00 with
// 15-minute buffers, and a one-hour repair every 30 minutes.
func zoneOf60() apphub.CalendarData {
	var shifts []apphub.Shift
	for d := time.Monday; d <= time.Saturday; d++ {
		shifts = append(shifts, apphub.Shift{Weekday: d, Start: "08:00", End: "18:00"})
	}
	d := apphub.CalendarData{
		Zones: []apphub.Zone{{ID: "paris-11", Name: "Paris 11", TimeZone: "Europe/Paris", PostCodes: []string{"75011"}}},
		Categories: []apphub.Category{{ID: "repair", Name: "Repair", Duration: time.Hour, Step: 30 * time.Minute,
			ResourceKinds: []string{apphub.KindTechnician}}},
	}
	for i := range 60 {
		d.Resources = append(d.Resources, apphub.Resource{ID: fmt.Sprintf("tech-%03d", i), Kind: apphub.KindTechnician,
			Name: "Tech", TimeZone: "Europe/Paris", Zones: []string{"paris-11"}, Shifts: shifts,
			BufferBefore: 15 * time.Minute, BufferAfter: 15 * time.Minute})
	}
	return d
}

// fillClaims books about a third of every technician's hours for 31 days from start: the
// claims a booking would have made, inserted directly.
func fillClaims(b *testing.B, db *mongodb.DB, start time.Time) {
	rng := rand.New(rand.NewPCG(1, 2))
	var claims []apphub.Claim
	for i := range 60 {
		res := fmt.Sprintf("tech-%03d", i)
		for d := range 31 {
			for h := 8; h < 17; h++ {
				if rng.IntN(3) != 0 {
					continue
				}
				at := start.AddDate(0, 0, d).Add(time.Duration(h-1) * time.Hour) // 08:00 Paris is 07:00 UTC
				for k := range 4 {
					s := at.Add(time.Duration(k) * apphub.Quantum)
					claims = append(claims, apphub.Claim{ID: apphub.ClaimID(res, s, 0), Owner: fmt.Sprintf("a-%s-%d-%d", res, d, h),
						Version: 1, Resource: res, Start: s, CreatedAt: start})
				}
			}
		}
	}
	insertClaims(b, db, claims)
}

// BenchmarkSearchMix draws searches at random from thousands of distinct queries over the demo
// calendar (four categories, every zone and store, windows of 7 or 14 days starting on any of
// 28 days), on the embedded store with a booking a day per technician and the real Redis, as
// a hub serving many channel apps sees them: some answers are kept in memory, some come back
// from Redis, the rest are computed. Besides the time it reports the peak of the heap during
// the run and the heap still live at its end (the answers kept among it), in MiB, and the
// share of the answers from each source.
func BenchmarkSearchMix(b *testing.B) {
	db := storetest.Mongo(b)
	rdb, prefix := storetest.Redis(b)
	ctx := asAdmin()
	start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(-24 * time.Hour) }
	data := demo.Data()
	if err := booking.NewService(db, booking.Options{Now: now}).SaveCalendar(ctx, data, nil); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var claims []apphub.Claim
	var postcodes, stores []string
	for _, z := range data.Zones {
		postcodes = append(postcodes, z.PostCodes...)
	}
	for _, p := range data.Places {
		stores = append(stores, p.ID)
	}
	for _, r := range data.Resources {
		if r.Kind != apphub.KindTechnician {
			continue
		}
		for d := range 45 {
			at := start.AddDate(0, 0, d).Add(time.Duration(rng.IntN(24)) * time.Hour)
			for k := range 4 {
				s := at.Add(time.Duration(k) * apphub.Quantum)
				claims = append(claims, apphub.Claim{ID: apphub.ClaimID(r.ID, s, 0), Owner: fmt.Sprintf("a-%s-%d", r.ID, d),
					Version: 1, Resource: r.ID, Start: s, CreatedAt: start})
			}
		}
	}
	insertClaims(b, db, claims)
	cache := storetest.Cache(b, rdb, prefix)
	var mu sync.Mutex
	sources := map[string]int{}
	svc := booking.NewService(db, booking.Options{Now: now, Cache: cache, Answers: cache, Observe: func(source string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		sources[source]++
	}})
	if _, err := svc.Calendar(ctx); err != nil {
		b.Fatal(err)
	}
	query := func() booking.SlotQuery {
		q := booking.SlotQuery{Category: []string{demo.Repair, demo.Installation, demo.Callback, demo.StoreVisit}[rng.IntN(4)]}
		if q.Category == demo.StoreVisit {
			q.Place = stores[rng.IntN(len(stores))]
		} else {
			q.Place = postcodes[rng.IntN(len(postcodes))]
		}
		q.From = start.AddDate(0, 0, rng.IntN(28))
		q.To = q.From.AddDate(0, 0, 7*(1+rng.IntN(2)))
		return q
	}
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	runtime.GC()
	for b.Loop() {
		if _, err := svc.Search(ctx, query()); err != nil {
			b.Fatal(err)
		}
		metrics.Read(heap)
		peak = max(peak, heap[0].Value.Uint64())
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MiB")
	for _, source := range []string{booking.SourceMemory, booking.SourceRedis, booking.SourceComputed} {
		b.ReportMetric(100*float64(sources[source])/float64(b.N), source+"-%")
	}
	runtime.KeepAlive(svc)
}

// insertClaims inserts claims directly, as bookings would have, from 16 goroutines.
func insertClaims(b testing.TB, db *mongodb.DB, claims []apphub.Claim) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(claims); i += 16 {
				if err := db.InsertClaim(asAdmin(), claims[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}
