package booking_test

import (
	"sync"
	"testing"

	"github.com/apphub/apphub"
	"github.com/apphub/apphub/booking"
)

// Two bookings of one technician made at once, 09:00 at 75001 and 10:00 at 75020, which is 45
// minutes away: their claims overlap (each job claims the longest travel into its zone before
// it), so exactly one of each pair succeeds, on any instance, and the claims never overlap.
func TestTravelTimeUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, booking.Options{})
	other := e.another(t, booking.Options{})
	cal := testCalendar()
	cal.Zones = append(cal.Zones,
		apphub.Zone{ID: "paris-1", Name: "Paris 1", TimeZone: "Europe/Paris", PostCodes: []string{"75001"}},
		apphub.Zone{ID: "paris-20", Name: "Paris 20", TimeZone: "Europe/Paris", PostCodes: []string{"75020"}})
	cal.Resources[0].Zones = []string{"paris-1", "paris-11", "paris-20"}
	cal.TravelTimes = &apphub.TravelTimes{Zones: []string{"paris-1", "paris-11", "paris-20"},
		Minutes: [][]int{{0, 20, 45}, {20, 0, 25}, {45, 25, 0}}}
	if err := e.svc.SaveCalendar(asAdmin(), cal, nil); err != nil {
		t.Fatal(err)
	}

	const days = 8
	var wg sync.WaitGroup
	results := make([][2]error, days)
	for d := range days {
		for i, req := range []struct {
			svc   *booking.Service
			place string
			at    string
		}{{e.svc, "75001", "09:00"}, {other, "75020", "10:00"}} {
			wg.Go(func() {
				_, err := req.svc.Book(asAdmin(), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: req.place,
					Start: at(req.at).AddDate(0, 0, d+1)})
				results[d][i] = err
			})
		}
	}
	wg.Wait()
	for d, r := range results {
		if (r[0] == nil) == (r[1] == nil) {
			t.Errorf("day %d: 09:00 at 75001 %v, 10:00 at 75020 %v: want exactly one booked", d+1, r[0], r[1])
		}
		for _, err := range r {
			if err != nil && apphub.ErrorCode(err) != apphub.ECONFLICT {
				t.Errorf("day %d: %v, want a conflict", d+1, err)
			}
		}
	}
	// What the claims say: no quantum twice, and every job's claims begin 45 minutes (the
	// longest travel into 75020, and into 75001) before it.
	claims, err := e.db.ClaimsFrom(asAdmin(), at("00:00"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, c := range claims {
		if owner, dup := seen[c.ID]; dup && owner != c.Owner {
			t.Fatalf("claim %s held by %s and %s", c.ID, owner, c.Owner)
		}
		seen[c.ID] = c.Owner
	}
	if len(claims) != days*7 { // 45 minutes of travel and the hour: 7 quanta a booking
		t.Errorf("%d claims, want %d", len(claims), days*7)
	}

	// Sequentially: after the 09:00 job at 75001, 75020 is offered from 10:45 (45 minutes of
	// travel into it); 10:00 is refused as TRAVEL_TIME.
	day := at("00:00").AddDate(0, 0, days+2)
	if _, err := e.svc.Book(asAdmin(), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75001", Start: onDay(day, "09:00")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Book(asAdmin(), booking.NewAppointment{Category: "repair", Resource: "tech-1", Place: "75020", Start: onDay(day, "10:00")})
	if e, ok := err.(*apphub.Error); !ok || e.Reason != apphub.ReasonTravelTime {
		t.Errorf("10:00 at 75020 after 09:00 at 75001: %v, want TRAVEL_TIME", err)
	}
	res, err := e.svc.Search(asAdmin(), booking.SlotQuery{Category: "repair", Place: "75020", From: onDay(day, "09:00"), To: onDay(day, "13:00")})
	if err != nil || len(res.Days) == 0 || !res.Days[0].Slots[0].Start.Equal(onDay(day, "11:00")) {
		t.Errorf("75020 after the 09:00 job at 75001: %+v %v, want 11:00 first (10:45 is not a start of a 30-minute step)", res, err)
	}
}
