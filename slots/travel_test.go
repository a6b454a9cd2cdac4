package slots

import (
	"testing"
	"time"

	"github.com/apphub/apphub"
)

// With travel times, a job claims the travel into its zone before it and nothing after: the
// longest travel into that zone from any zone the technician serves (rounded up to quanta),
// whichever zone the job before it was in — the rule that holds when two bookings race. A
// technician who ends a job at 10:00 in the east is offered in the west (50 minutes from the
// east: an hour) from 11:00, and in the east (40 minutes from the west: 45) from 10:45; a
// start the job's own time would allow but travel does not is refused as TRAVEL_TIME; fixed
// buffers still apply where the matrix does not reach.
func TestTravelTimes(t *testing.T) {
	tech := technician("tech-1", "Europe/Paris", "east", weekdays("08:00", "18:00")...)
	tech.Zones = []string{"east", "west"}
	tech.BufferBefore, tech.BufferAfter = 15*time.Minute, 15*time.Minute
	cat := hourly
	cat.Step, cat.MinNotice, cat.Horizon = 15*time.Minute, 0, 30*24*time.Hour
	cal, err := apphub.NewCalendar(apphub.CalendarData{
		Resources:  []apphub.Resource{tech},
		Categories: []apphub.Category{cat},
		Zones: []apphub.Zone{
			{ID: "east", TimeZone: "Europe/Paris", PostCodes: []string{"75020"}},
			{ID: "west", TimeZone: "Europe/Paris", PostCodes: []string{"75016"}},
			{ID: "far", TimeZone: "Europe/Paris", PostCodes: []string{"77000"}},
		},
		TravelTimes: &apphub.TravelTimes{Zones: []string{"east", "west"}, Minutes: [][]int{{0, 50}, {40, 0}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := at(t, "2026-05-04T07:00+02:00")
	// A job in the east from 09:00 to 10:00: into the east, the longest travel is 40 minutes
	// from the west, so its claims run from 08:15.
	eastJob, err := Bookable(cal, &Busy{}, BookRequest{Category: cat.ID, Place: "75020", Resource: "tech-1", Start: at(t, "2026-05-05T09:00+02:00"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if first, n := eastJob.Cells[0].Start, len(eastJob.Cells); !first.Equal(at(t, "2026-05-05T08:15+02:00")) || n != 7 {
		t.Fatalf("the east job claims %d quanta from %v, want 7 from 08:15 (45 minutes of travel, the hour, nothing after)", n, first)
	}
	busy := &Busy{}
	for _, c := range eastJob.Cells {
		busy.Add(c.ResourceID, c.Start, c.Seat)
	}
	day := func(place string) []string {
		res, err := SearchSlots(cal, busy, Query{Category: cat.ID, Place: place, From: at(t, "2026-05-05T08:00+02:00"), To: at(t, "2026-05-05T13:00+02:00"), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return starts(res, mustLoad(t, "Europe/Paris"))
	}
	// Into the west, the longest travel is 50 minutes (from the east): an hour before.
	if got := day("75016"); got[0] != "2026-05-05T11:00+02:00" {
		t.Errorf("west after the east job: %v, want 11:00 first", got)
	}
	if got := day("75020"); got[0] != "2026-05-05T10:45+02:00" {
		t.Errorf("east after the east job: %v, want 10:45 first", got)
	}
	_, err = Bookable(cal, busy, BookRequest{Category: cat.ID, Place: "75016", Resource: "tech-1", Start: at(t, "2026-05-05T10:00+02:00"), Now: now})
	if refusalReason(err) != apphub.ReasonTravelTime {
		t.Errorf("west at 10:00: %v, want TRAVEL_TIME", err)
	}
	// Outside the matrix: the fixed buffers.
	far := tech
	far.ID, far.Zones = "tech-far", []string{"far"}
	cal2, err := apphub.NewCalendar(apphub.CalendarData{Resources: []apphub.Resource{far}, Categories: []apphub.Category{cat}, Zones: []apphub.Zone{
		{ID: "far", TimeZone: "Europe/Paris", PostCodes: []string{"77000"}}, {ID: "east", TimeZone: "Europe/Paris", PostCodes: []string{"75020"}}},
		TravelTimes: &apphub.TravelTimes{Zones: []string{"east"}, Minutes: [][]int{{0}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Bookable(cal2, &Busy{}, BookRequest{Category: cat.ID, Place: "77000", Start: at(t, "2026-05-05T09:00+02:00"), Now: now})
	if err != nil || len(res.Cells) != 6 || !res.Cells[0].Start.Equal(at(t, "2026-05-05T08:45+02:00")) {
		t.Fatalf("outside the matrix: %+v %v, want the fixed buffers", res, err)
	}
}
