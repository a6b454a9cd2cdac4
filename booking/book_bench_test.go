package booking_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
	"github.com/apphub/apphub/storage/storetest"
)

// benchCalendar has n technicians working around the clock and a 15-minute category, so that
// every quantum of every technician is a distinct slot.
func benchCalendar(n int) apphub.CalendarData {
	var shifts []apphub.Shift
	for d := time.Sunday; d <= time.Saturday; d++ {
		shifts = append(shifts, apphub.Shift{Weekday: d, Start: "00:00", Duration: 24 * time.Hour})
	}
	d := apphub.CalendarData{
		Zones:      []apphub.Zone{{ID: "z", Name: "Z", TimeZone: "UTC", PostCodes: []string{"00000"}}},
		Categories: []apphub.Category{{ID: "quick", Name: "Quick", Duration: 15 * time.Minute, Step: 15 * time.Minute}},
	}
	for i := range n {
		d.Resources = append(d.Resources, apphub.Resource{ID: fmt.Sprintf("t%03d", i), Kind: apphub.KindTechnician,
			Name: "T", TimeZone: "UTC", Zones: []string{"z"}, Shifts: shifts})
	}
	return d
}

func benchService(b *testing.B, resources int) *booking.Service {
	db := storetest.Mongo(b)
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := booking.NewService(db, booking.Options{Now: func() time.Time { return start }})
	if err := svc.SaveCalendar(asAdmin(), benchCalendar(resources), nil); err != nil {
		b.Fatal(err)
	}
	return svc
}

// Booking latency and throughput on distinct slots: each booking takes a quantum no other
// takes (sequential, then from parallel goroutines).
func BenchmarkBookDistinctSlots(b *testing.B) {
	first := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	for _, par := range []int{1, 8} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			svc := benchService(b, 50)
			ctx := asAdmin()
			var next atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := next.Add(1) - 1
					req := booking.NewAppointment{Category: "quick", Resource: fmt.Sprintf("t%03d", n%50),
						Start: first.Add(time.Duration(n/50) * apphub.Quantum)}
					if _, err := svc.Book(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
		})
	}
}

// A 50-way race: 50 goroutines book the same slot; one wins. Time per race.
func BenchmarkBook50WayRace(b *testing.B) {
	svc := benchService(b, 1)
	ctx := asAdmin()
	first := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		start := first.Add(time.Duration(i) * apphub.Quantum)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := svc.Book(ctx, booking.NewAppointment{Category: "quick", Resource: "t000", Start: start}); err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			b.Fatalf("race %d: %d winners", i, wins.Load())
		}
	}
}
